// The endpoint's router: checks the key or token, picks a deployment (traffic draw or the
// azureml-model-deployment header), mirrors a share, and forwards to the least busy instance.
#include <sys/socket.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <iostream>
#include <thread>

#include "common/clock.hpp"
#include "common/text.hpp"
#include "serving/host.hpp"
#include "serving/host_process.hpp"

namespace amlemu::serving {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

Response json_response(unsigned status, const std::string& message, unsigned version, bool keep_alive) {
  Response res{static_cast<http::status>(status), version};
  res.set(http::field::content_type, "application/json");
  res.body() = nlohmann::json({{"message", message}}).dump();
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

}  // namespace

void Host::accept_loop(tcp::acceptor& acceptor) {
  for (;;) {
    auto sock = std::make_shared<tcp::socket>(acceptor.get_executor());
    beast::error_code ec;
    acceptor.accept(*sock, ec);
    if (stop_requested) return;
    if (ec) {
      std::this_thread::sleep_for(10ms);
      continue;
    }
    std::thread([this, sock] { serve_connection(*sock); }).detach();
  }
}

void Host::serve_connection(tcp::socket& sock) {
  beast::flat_buffer buffer;
  for (;;) {
    beast::error_code ec;
    http::request_parser<http::string_body> parser;
    parser.body_limit(256u << 20);
    http::read(sock, buffer, parser, ec);
    if (ec) return;
    auto req = parser.release();
    const bool keep_alive = req.keep_alive();
    auto res = handle(std::move(req));
    res.keep_alive(keep_alive);
    http::write(sock, res, ec);
    if (ec || !keep_alive) break;
  }
  beast::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_send, ignored);
}

bool Host::authorized(const Request& req) {
  const auto header = std::string(req[http::field::authorization]);
  if (header.rfind("Bearer ", 0) != 0) return false;
  const auto given = header.substr(7);
  std::lock_guard lock(mu_);
  if (auth_mode_ == "aml_token") return token_valid(primary_key_, given, epoch_seconds(std::chrono::system_clock::now()));
  return (!primary_key_.empty() && given == primary_key_) || (!secondary_key_.empty() && given == secondary_key_);
}

Response Host::handle(Request req) {
  const unsigned version = req.version();
  std::string target(req.target());
  const auto path = target.substr(0, target.find('?'));
  if (path != "/score" && path != "/swagger.json" && path != "/") {
    return json_response(404, "No route for " + path + " (the scoring URI is /score)", version, true);
  }
  if (!authorized(req)) {
    auto res = json_response(401, "Unauthorized: give the endpoint's key (or token) as 'Authorization: Bearer <key>'", version, true);
    res.set(http::field::www_authenticate, "Bearer");
    return res;
  }
  const auto named = std::string(req["azureml-model-deployment"]);
  std::string chosen;
  std::vector<std::string> mirrors;
  int timeout_ms = 5000;
  {
    std::lock_guard lock(mu_);
    if (!named.empty()) {
      if (!deployments_.count(named)) {
        return json_response(404, "deployment '" + named + "' not found in endpoint " + endpoint_, version, true);
      }
      chosen = named;
    } else {
      int total = 0;
      for (const auto& [d, share] : traffic_) total += deployments_.count(d) ? share : 0;
      if (total <= 0) {
        return json_response(404, "No valid deployments to route to: give a deployment traffic, or name one in the "
                                  "azureml-model-deployment header", version, true);
      }
      int pick = std::uniform_int_distribution<int>(0, total - 1)(rng_);
      for (const auto& [d, share] : traffic_) {
        if (!deployments_.count(d)) continue;
        if (pick < share) {
          chosen = d;
          break;
        }
        pick -= share;
      }
      for (const auto& [d, share] : mirror_) {
        if (d != chosen && deployments_.count(d) &&
            std::uniform_int_distribution<int>(0, 99)(rng_) < share) {
          mirrors.push_back(d);
        }
      }
    }
    timeout_ms = deployments_.at(chosen).rec.deployment.request_timeout_ms;
  }
  req.erase(http::field::authorization);
  req.set(http::field::host, "localhost");
  req.prepare_payload();
  for (const auto& m : mirrors) {
    // A copy of the request; its answer is dropped.
    std::thread([this, m, copy = req] { forward(m, copy, 60000); }).detach();
  }
  auto res = forward(chosen, req, timeout_ms);
  res.version(version);
  res.set("azureml-model-deployment", chosen);
  res.prepare_payload();
  return res;
}

Response Host::forward(const std::string& deployment, const Request& req, int timeout_ms) {
  const unsigned version = req.version();
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::string socket;
    Instance* taken = nullptr;
    {
      std::lock_guard lock(mu_);
      auto it = deployments_.find(deployment);
      if (it == deployments_.end()) break;
      auto& d = it->second;
      const size_t n = d.instances.size();
      for (size_t k = 0; k < n; ++k) {
        auto& inst = d.instances[(d.next + k) % n];
        if (!inst.ready) continue;
        if (!taken || inst.inflight < taken->inflight) taken = &inst;
      }
      if (taken) {
        d.next = (d.next + 1) % std::max<size_t>(n, 1);
        ++taken->inflight;
        socket = taken->socket;
      }
    }
    if (socket.empty()) {
      // None ready yet (starting or restarting): wait a little for one.
      std::this_thread::sleep_for(200ms);
      continue;
    }
    const auto x = exchange(socket, req, std::chrono::milliseconds(timeout_ms));
    {
      std::lock_guard lock(mu_);
      if (auto* inst = instance_at(deployment, socket); inst && inst->inflight > 0) --inst->inflight;
    }
    if (x.response) return *x.response;
    if (x.timed_out) {
      return json_response(408, "Request timed out after " + std::to_string(timeout_ms) +
                                    " ms (request_settings.request_timeout_ms of deployment " + deployment + ")",
                           version, true);
    }
    if (x.sent) {
      return json_response(502, "The instance of deployment " + deployment + " that took the request ended "
                                "before it answered (" + x.error + ")", version, true);
    }
    {
      std::lock_guard lock(mu_);
      if (auto* inst = instance_at(deployment, socket)) inst->ready = false;  // the supervisor probes it again
    }
  }
  return json_response(503, "No instance of deployment " + deployment + " is ready", version, true);
}

Host::Instance* Host::instance_at(const std::string& deployment, const std::string& socket) {
  const auto it = deployments_.find(deployment);
  if (it == deployments_.end()) return nullptr;  // reloaded away meanwhile
  for (auto& inst : it->second.instances) {
    if (inst.socket == socket) return &inst;
  }
  return nullptr;
}

}  // namespace amlemu::serving
