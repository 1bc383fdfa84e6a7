#include "server/service.hpp"

#include <chrono>
#include <iostream>
#include <mutex>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "server/errors.hpp"

namespace amlemu::server {

namespace {

constexpr std::size_t kJsonLimit = 16u << 20;
constexpr std::size_t kBlobLimit = 256u << 20;

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "a=1&b=%20" into lower-cased keys and decoded values; nullopt on a malformed escape.
std::optional<std::map<std::string, std::string>> parse_query(const std::string& q) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= q.size() && !q.empty()) {
    const auto amp = q.find('&', start);
    const auto part = q.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    if (!part.empty()) {
      const auto eq = part.find('=');
      const auto k = percent_decode(part.substr(0, eq), true);
      const auto v = percent_decode(eq == std::string::npos ? "" : part.substr(eq + 1), true);
      if (!k || !v) return std::nullopt;
      out[lower(*k)] = *v;
    }
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return out;
}

std::mutex g_log_mutex;

}  // namespace

Service::Service(ServerState& state) : state_(state) {
  add_metadata_routes(router_);
  add_compute_routes(router_);
  add_datastore_routes(router_);
  add_asset_routes(router_);
  add_model_routes(router_);
  add_endpoint_routes(router_);
  add_job_routes(router_);
  add_history_routes(router_);
  add_mlflow_routes(router_);
}

bool Service::serves_host(const std::string& host) const {
  const std::string h = lower(host);
  const std::string suffix = kServiceStorageSuffix;
  return h == "127.0.0.1" || h == "localhost" || h == suffix || ends_with(h, "." + suffix);
}

std::string Service::storage_account_of(const std::string& path, const std::string& tunnel_host,
                                        std::string* rest) const {
  const std::string blob_suffix = std::string(".blob.") + kServiceStorageSuffix;
  if (!tunnel_host.empty() && ends_with(lower(tunnel_host), blob_suffix)) {
    *rest = path;
    return lower(tunnel_host.substr(0, tunnel_host.size() - blob_suffix.size()));
  }
  // Path-style, as Azurite: /<account>/<container>/<blob>.
  if (path.empty() || path[0] != '/') return "";
  const auto second = path.find('/', 1);
  const auto first = path.substr(1, second == std::string::npos ? std::string::npos : second - 1);
  if (first.rfind("amlemu", 0) == 0 && state_.workspace_of_account(first)) {
    *rest = second == std::string::npos ? "/" : path.substr(second);
    return first;
  }
  return "";
}

std::size_t Service::body_limit(const http::request_header<>& header,
                                const std::string& tunnel_host) const {
  const std::string target(header.target());
  std::string rest;
  return storage_account_of(target.substr(0, target.find('?')), tunnel_host, &rest).empty()
             ? kJsonLimit
             : kBlobLimit;
}

Response Service::error(const Request& req, int status, const std::string& code,
                        const std::string& message, const std::string& tunnel_host) const {
  const std::string target(req.target());
  std::string rest;
  const bool storage =
      !storage_account_of(target.substr(0, target.find('?')), tunnel_host, &rest).empty();
  return storage ? storage_error(req, status, code, message) : arm_error(req, status, code, message);
}

namespace {
// A request target: the path as sent, then decoded, and the query; nullopt for a malformed
// %-escape.
struct Target {
  std::string raw_path;
  std::optional<std::string> path;
  std::optional<std::map<std::string, std::string>> query;
};

Target parse_target(const Request& req) {
  const std::string target(req.target());
  const auto qmark = target.find('?');
  Target t;
  t.raw_path = target.substr(0, qmark);
  t.path = percent_decode(t.raw_path, false);
  t.query = parse_query(qmark == std::string::npos ? "" : target.substr(qmark + 1));
  return t;
}
}  // namespace

std::optional<Response> Service::refuse_early(const Request& head, const std::string& tunnel_host) {
  const auto t = parse_target(head);
  if (!t.path || !t.query) return std::nullopt;  // refused with its reason once read
  std::string rest;
  const auto account = storage_account_of(*t.path, tunnel_host, &rest);
  try {
    if (!account.empty()) {
      Call call{head, state_, *t.path, *t.query, {}, std::nullopt, {}};
      try {
        check_blob_credential(call, account, rest);
        return std::nullopt;
      } catch (const HttpError& e) {
        if (e.status() != 403) throw;
        return storage_error(head, e.status(), e.code(), e.what());
      }
    }
    // Every route that takes a body this large wants a bearer token.
    const std::string auth(head[http::field::authorization]);
    std::string why = "The 'Authorization' header is missing or not a bearer token";
    if (auth.rfind("Bearer ", 0) == 0 &&
        state_.authority().verify_token(auth.substr(7), ServerState::now_s(), &why)) {
      return std::nullopt;
    }
    auto res = arm_error(head, 401, "AuthenticationFailed", "Authentication failed: " + why);
    res.set(http::field::www_authenticate, "Bearer error=\"invalid_token\"");
    return res;
  } catch (const std::exception&) {
    return std::nullopt;  // the full request gets its answer
  }
}

Response Service::handle(Request& req, const std::string& tunnel_host) {
  const auto start = std::chrono::steady_clock::now();
  const auto t = parse_target(req);
  const auto& raw_path = t.raw_path;
  const auto& path = t.path;
  const auto& query = t.query;
  Call call{req, state_, path.value_or(raw_path), query.value_or(std::map<std::string, std::string>{}),
            {}, std::nullopt, {}};
  std::string rest;
  const auto account = path ? storage_account_of(*path, tunnel_host, &rest) : "";
  Response res;
  if (!path || !query) {
    res = error(req, 400, "InvalidUri", "The request URI has a malformed %-escape", tunnel_host);
  } else if (!account.empty()) {
    res = handle_blob(call, account, rest);
  } else {
    res = router_.dispatch(call);
  }
  const auto request_id = new_guid();
  res.set("x-ms-request-id", request_id);
  res.set(http::field::server, "amlemu/" AMLEMU_VERSION);
  if (req.method() != http::verb::head) {
    res.prepare_payload();
  } else if (!res.body().empty()) {
    // A HEAD answer carries the length of the body a GET would get, and no body: written, the
    // bytes would be read as the start of the next response on a kept-alive connection.
    res.content_length(res.body().size());
    res.body().clear();
  }
  const auto ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  {
    // One line per request; the query is left out (it may hold a signature).
    std::lock_guard<std::mutex> lock(g_log_mutex);
    std::cout << now_iso() << " " << res.result_int() << " " << req.method_string() << " "
              << (tunnel_host.empty() ? "" : "https://" + tunnel_host) << raw_path << " "
              << std::fixed << std::setprecision(1) << ms << " ms\n"
              << std::flush;
  }
  return res;
}

}  // namespace amlemu::server
