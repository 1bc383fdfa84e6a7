#include "server/http.hpp"

#include <cctype>

#include "server/state.hpp"

namespace amlemu::server {

const std::string& Call::param(const std::string& name) const {
  static const std::string empty;
  const auto it = params.find(name);
  return it == params.end() ? empty : it->second;
}

std::string Call::query_value(const std::string& name, const std::string& fallback) const {
  const auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

nlohmann::json Call::json_body() const {
  if (req.body().empty()) throw HttpError(400, "UserError", "The request body is empty; JSON was expected");
  // No Azure ML body nests deeper than a few levels; a deeper one is refused while it is parsed
  // (writing it out again recurses once per level).
  constexpr int kMaxDepth = 64;
  const nlohmann::json::parser_callback_t shallow = [](int depth, nlohmann::json::parse_event_t,
                                                       nlohmann::json&) {
    if (depth > kMaxDepth) {
      throw HttpError(400, "UserError", "The request body nests JSON deeper than 64 levels");
    }
    return true;
  };
  try {
    return nlohmann::json::parse(req.body(), shallow);
  } catch (const nlohmann::json::parse_error& e) {
    throw HttpError(400, "UserError",
                    "The request body is not valid JSON (at byte " + std::to_string(e.byte) + ")");
  }
}

std::string string_field(const nlohmann::json& obj, const char* key, const std::string& fallback,
                         const std::string& path) {
  if (!obj.is_object() || !obj.contains(key) || obj[key].is_null()) return fallback;
  if (!obj[key].is_string()) throw HttpError(400, "UserError", path + ": must be a string");
  return obj[key].get<std::string>();
}

bool bool_field(const nlohmann::json& obj, const char* key, bool fallback, const std::string& path) {
  if (!obj.is_object() || !obj.contains(key) || obj[key].is_null()) return fallback;
  if (!obj[key].is_boolean()) throw HttpError(400, "UserError", path + ": must be true or false");
  return obj[key].get<bool>();
}

const Workspace& Call::workspace() const {
  if (!ws) throw HttpError(500, "InternalError", "route has no workspace");
  return *ws;
}

Response json_response(const Call& call, int status, const nlohmann::json& body) {
  Response res{static_cast<http::status>(status), call.req.version()};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  res.body() = body.dump();
  return res;
}

std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
        return std::nullopt;
      }
      out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string percent_encode(std::string_view in, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

}  // namespace amlemu::server
