#include "server/router.hpp"

#include <algorithm>

#include "server/errors.hpp"
#include "server/state.hpp"

namespace amlemu::server {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

void authenticate(Call& call, Access access) {
  const auto& auth = call.server.authority();
  if (access == Access::open) {
    call.caller.kind = "none";
    return;
  }
  if (access == Access::msi_secret) {
    std::string secret(call.req["secret"]);
    if (secret.empty()) secret = std::string(call.req["X-IDENTITY-HEADER"]);
    if (secret.empty() || !equal_secret(secret, auth.credentials().msi_secret)) {
      throw HttpError(401, "AuthenticationFailed",
                      "The managed identity secret is missing or wrong: use MSI_SECRET from "
                      "'amlemu env'");
    }
    call.caller.kind = "secret";
    return;
  }
  const std::string header(call.req[http::field::authorization]);
  if (header.empty()) {
    throw HttpError(401, "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is missing: get a token "
                    "from the server's managed identity endpoint (MSI_ENDPOINT of 'amlemu env')");
  }
  const std::string_view h(header.data(), header.size());
  if (h.size() < 7 || lower(std::string(h.substr(0, 7))) != "bearer ") {
    throw HttpError(401, "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is not a bearer token");
  }
  std::string why;
  if (!auth.verify_token(h.substr(7), ServerState::now_s(), &why)) {
    throw HttpError(401, "InvalidAuthenticationToken", "The access token is invalid: " + why);
  }
  call.caller.kind = "token";
}

}  // namespace

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = path.empty() || path[0] != '/' ? 0 : 1;
  while (true) {
    const auto slash = path.find('/', start);
    parts.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return parts;
}

void Router::add(http::verb method, const std::string& pattern, Handler handler, Access access) {
  Route r{method, {}, std::move(handler), access, false};
  for (auto& s : split_path(pattern)) {
    r.segments.push_back(s.size() > 1 && s.front() == '{' ? s : lower(s));
  }
  const auto has = [&](const char* n) {
    return std::find(r.segments.begin(), r.segments.end(), n) != r.segments.end();
  };
  r.scoped = has("{subscriptionId}") && has("{resourceGroupName}") && has("{workspaceName}");
  routes_.push_back(std::move(r));
}

bool Router::match(const Route& r, const std::vector<std::string>& parts, Call& call) {
  std::map<std::string, std::string> captures;
  for (size_t i = 0; i < r.segments.size(); ++i) {
    const auto& seg = r.segments[i];
    if (seg.rfind("{*", 0) == 0) {
      std::string rest;
      for (size_t j = i; j < parts.size(); ++j) rest += (j > i ? "/" : "") + parts[j];
      captures[seg.substr(2, seg.size() - 3)] = rest;
      call.params = std::move(captures);
      return true;
    }
    if (i >= parts.size()) return false;
    if (seg.front() == '{') {
      if (parts[i].empty()) return false;
      captures[seg.substr(1, seg.size() - 2)] = parts[i];
    } else if (lower(parts[i]) != seg) {
      return false;
    }
  }
  if (parts.size() != r.segments.size()) return false;
  call.params = std::move(captures);
  return true;
}

Response Router::dispatch(Call& call) const {
  const auto parts = split_path(call.path);
  const Route* found = nullptr;
  bool path_known = false;
  for (const auto& r : routes_) {
    if (!match(r, parts, call)) continue;
    path_known = true;
    if (r.method == call.req.method()) {
      found = &r;
      break;
    }
  }
  try {
    if (!found) {
      if (path_known) {
        throw HttpError(405, "MethodNotAllowed",
                        "amlemu does not support " + std::string(call.req.method_string()) +
                            " on " + call.path);
      }
      throw HttpError(501, "NotImplemented",
                      "amlemu does not implement " + std::string(call.req.method_string()) + " " +
                          call.path + " (the operations it serves are listed in docs/service.md)");
    }
    match(*found, parts, call);  // its captures, not the last route tried
    authenticate(call, found->access);
    if (found->scoped) {
      call.ws = call.server.workspace(call.param("subscriptionId"),
                                      call.param("resourceGroupName"),
                                      call.param("workspaceName"));
    }
    return found->handler(call);
  } catch (const std::exception& e) {
    auto res = error_for(call.req, e, /*storage=*/false);
    if (res.result_int() == 401) res.set(http::field::www_authenticate, "Bearer error=\"invalid_token\"");
    return res;
  }
}

}  // namespace amlemu::server
