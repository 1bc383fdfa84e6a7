#include "serving/host.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "amlemu/errors.hpp"
#include "common/clock.hpp"
#include "common/fs.hpp"
#include "common/hash.hpp"
#include "common/launcher.hpp"
#include "common/paths.hpp"
#include "common/text.hpp"
#include "serving/endpoint_store.hpp"

namespace amlemu::serving {

namespace stdfs = std::filesystem;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using local = net::local::stream_protocol;
using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

stdfs::path endpoint_dir(const stdfs::path& state_dir, const std::string& endpoint) {
  return state_dir / "endpoints" / endpoint;
}

stdfs::path deployment_dir(const stdfs::path& state_dir, const std::string& endpoint,
                           const std::string& deployment) {
  return endpoint_dir(state_dir, endpoint) / "deployments" / deployment;
}

std::string instance_socket(const stdfs::path& state_dir, const std::string& endpoint,
                            const std::string& deployment, size_t i) {
  const auto dir = stdfs::temp_directory_path() / ("amlemu-" + std::to_string(::getuid()));
  std::error_code ec;
  stdfs::create_directories(dir, ec);
  ::chmod(dir.c_str(), 0700);
  const auto id = sha1_hex((state_dir / endpoint / deployment).string()).substr(0, 16);
  // The server binds "<socket>:<port>": its port (5001) becomes the file name's suffix.
  return (dir / (id + "-" + std::to_string(i) + ".sock")).string() + ":5001";
}

std::string endpoint_token(const std::string& key, long long expiry) {
  return std::to_string(expiry) + "." + sha1_hex(key + "/" + std::to_string(expiry));
}

bool token_valid(const std::string& key, const std::string& token, long long now) {
  const auto dot = token.find('.');
  if (dot == std::string::npos || dot == 0) return false;
  long long expiry = 0;
  try {
    expiry = std::stoll(token.substr(0, dot));
  } catch (const std::exception&) {
    return false;
  }
  return expiry > now && token == endpoint_token(key, expiry);
}

namespace {

std::atomic<bool> g_reload{true};
std::atomic<bool> g_stop{false};

void on_signal(int sig) {
  if (sig == SIGHUP) g_reload = true;
  if (sig == SIGTERM || sig == SIGINT) g_stop = true;
}

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Closes a socket when a deadline passes, so a blocking read or write on it returns.
class Deadline {
 public:
  Deadline(int fd, std::chrono::milliseconds after) : fd_(fd) {
    thread_ = std::thread([this, after] {
      std::unique_lock lock(mu_);
      if (!cv_.wait_for(lock, after, [this] { return done_; })) {
        fired_ = true;
        ::shutdown(fd_, SHUT_RDWR);
      }
    });
  }
  ~Deadline() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool fired() {
    std::lock_guard lock(mu_);
    return fired_;
  }

 private:
  int fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;
};

// One request to an instance over its Unix socket. nullopt: it could not be reached before the
// request was sent (another instance may take it). `sent` says whether it was.
struct Exchange {
  std::optional<Response> response;
  bool sent = false;
  bool timed_out = false;
  std::string error;
};

Exchange exchange(const std::string& socket_path, const Request& req, std::chrono::milliseconds timeout) {
  Exchange x;
  net::io_context ioc;
  local::socket sock(ioc);
  beast::error_code ec;
  sock.connect(local::endpoint(socket_path), ec);
  if (ec) {
    x.error = ec.message();
    return x;
  }
  Deadline deadline(sock.native_handle(), timeout);
  http::write(sock, req, ec);
  x.sent = true;
  if (!ec) {
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256u << 20);
    http::read(sock, buffer, parser, ec);
    if (!ec) x.response = parser.release();
  }
  if (ec) x.error = ec.message();
  x.timed_out = deadline.fired();
  return x;
}

// GET / on an instance: true when it answers 200.
bool probe(const std::string& socket_path, std::chrono::milliseconds timeout) {
  Request req{http::verb::get, "/", 11};
  req.set(http::field::host, "localhost");
  req.prepare_payload();
  const auto x = exchange(socket_path, req, timeout);
  return x.response && x.response->result_int() == 200;
}

Response json_response(unsigned status, const std::string& message, unsigned version, bool keep_alive) {
  Response res{static_cast<http::status>(status), version};
  res.set(http::field::content_type, "application/json");
  res.body() = nlohmann::json({{"message", message}}).dump();
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

class Host {
 public:
  Host(stdfs::path state_dir, std::string endpoint)
      : state_dir_(std::move(state_dir)),
        endpoint_(std::move(endpoint)),
        ws_(Workspace::open_state_dir(state_dir_)),
        launcher_(make_local_launcher()) {}

  int run() {
    auto record = EndpointStore(ws_).find(endpoint_);
    if (!record) {
      std::cerr << "endpoint " << endpoint_ << " is not in the workspace\n";
      return 1;
    }
    net::io_context ioc;
    tcp::acceptor acceptor(ioc);
    beast::error_code ec;
    const tcp::endpoint where(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(record->endpoint.port));
    acceptor.open(where.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(where, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      std::cerr << "port " << record->endpoint.port << " of endpoint " << endpoint_
                << " cannot be used: " << ec.message() << "\n";
      return 1;
    }
    EndpointStore(ws_).set_host_pid(endpoint_, static_cast<int>(::getpid()));
    std::cerr << "endpoint " << endpoint_ << ": listening on 127.0.0.1:" << record->endpoint.port << std::endl;
    std::thread accepting([this, &acceptor] { accept_loop(acceptor); });
    supervise();
    // No new connection; the instances stop (a request they held gets its 502).
    ::shutdown(acceptor.native_handle(), SHUT_RDWR);
    accepting.join();
    stop_all();
    return 0;
  }

 private:
  struct Instance {
    std::unique_ptr<Process> process;
    std::string socket;
    stdfs::path log;
    bool ready = false;
    int inflight = 0;
    int failures = 0;        // consecutive starts that never became ready
    int live_failures = 0;   // consecutive failed liveness probes
    SteadyClock::time_point started, not_before, next_probe;
  };
  struct Deployment {
    DeploymentRecord rec;
    std::vector<Instance> instances;
    std::string state;
    size_t next = 0;
  };

  // ---- The router. ----

  void accept_loop(tcp::acceptor& acceptor) {
    for (;;) {
      auto sock = std::make_shared<tcp::socket>(acceptor.get_executor());
      beast::error_code ec;
      acceptor.accept(*sock, ec);
      if (g_stop) return;
      if (ec) {
        std::this_thread::sleep_for(10ms);
        continue;
      }
      std::thread([this, sock] { serve_connection(*sock); }).detach();
    }
  }

  void serve_connection(tcp::socket& sock) {
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

  bool authorized(const Request& req) {
    const auto header = std::string(req[http::field::authorization]);
    if (header.rfind("Bearer ", 0) != 0) return false;
    const auto given = header.substr(7);
    std::lock_guard lock(mu_);
    if (auth_mode_ == "aml_token") return token_valid(primary_key_, given, epoch_seconds(std::chrono::system_clock::now()));
    return (!primary_key_.empty() && given == primary_key_) || (!secondary_key_.empty() && given == secondary_key_);
  }

  Response handle(Request req) {
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

  // Sends the request to a ready instance of `deployment` (the least busy), trying the next one
  // when an instance cannot be reached; an instance that fails after taking the request gives
  // 502, one that takes longer than the timeout 408 (the request is not sent twice).
  Response forward(const std::string& deployment, const Request& req, int timeout_ms) {
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
        for (auto& [name, d] : deployments_) {
          for (auto& inst : d.instances) {
            if (inst.socket == socket && inst.inflight > 0) --inst.inflight;
          }
        }
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
      mark_unreachable(socket);
    }
    return json_response(503, "No instance of deployment " + deployment + " is ready", version, true);
  }

  void mark_unreachable(const std::string& socket) {
    std::lock_guard lock(mu_);
    for (auto& [name, d] : deployments_) {
      for (auto& inst : d.instances) {
        if (inst.socket == socket) inst.ready = false;
      }
    }
  }

  // ---- The supervisor. ----

  void supervise() {
    auto next_look = SteadyClock::now();
    while (!g_stop) {
      if (g_reload.exchange(false)) reload();
      tend();
      if (SteadyClock::now() >= next_look) {
        // A workspace folder removed under it (a test's temporary home, say) ends the endpoint.
        std::error_code ec;
        if (!stdfs::exists(state_dir_, ec)) g_stop = true;
        next_look = SteadyClock::now() + 1s;
      }
      std::this_thread::sleep_for(50ms);
    }
  }

  void reload() {
    EndpointStore store(ws_);
    const auto generation = store.generations(endpoint_).first;  // read before what it covers
    const auto record = store.find(endpoint_);
    if (!record) {
      g_stop = true;
      return;
    }
    const auto records = store.list_deployments(endpoint_);
    std::vector<Instance> stopping;
    {
      std::lock_guard lock(mu_);
      auth_mode_ = record->endpoint.auth_mode;
      primary_key_ = record->primary_key;
      secondary_key_ = record->secondary_key;
      traffic_ = record->endpoint.traffic;
      mirror_ = record->endpoint.mirror_traffic;
      for (auto it = deployments_.begin(); it != deployments_.end();) {
        // A deployment deleted, or deleted and made again, loses its instances.
        const bool kept = std::any_of(records.begin(), records.end(), [&](const auto& r) {
          return r.deployment.name == it->first && r.deployment.created_time == it->second.rec.deployment.created_time;
        });
        if (kept) {
          ++it;
          continue;
        }
        for (auto& inst : it->second.instances) stopping.push_back(std::move(inst));
        it = deployments_.erase(it);
      }
      for (const auto& r : records) {
        if (deployments_.count(r.deployment.name)) continue;
        Deployment d;
        d.rec = r;
        d.state = r.deployment.provisioning_state;
        d.instances.resize(static_cast<size_t>(std::max(1, r.deployment.instance_count)));
        for (size_t i = 0; i < d.instances.size(); ++i) {
          auto& inst = d.instances[i];
          inst.socket = socket_path(r.deployment.name, i);
          inst.log = deployment_dir(state_dir_, endpoint_, r.deployment.name) / "logs" /
                     ("instance-" + std::to_string(i) + ".log");
        }
        deployments_.emplace(r.deployment.name, std::move(d));
      }
    }
    for (auto& inst : stopping) stop(inst);
    store.set_applied(endpoint_, generation);
  }

  std::string socket_path(const std::string& deployment, size_t i) const {
    return instance_socket(state_dir_, endpoint_, deployment, i);
  }

  // Starts, probes and restarts the instances; records each deployment's state.
  void tend() {
    const auto now = SteadyClock::now();
    std::vector<std::tuple<std::string, std::string, std::string>> states;  // name, state, error
    std::lock_guard lock(mu_);
    for (auto& [name, d] : deployments_) {
      bool all_ready = true;
      for (size_t i = 0; i < d.instances.size(); ++i) {
        auto& inst = d.instances[i];
        if (inst.process) {
          if (auto code = inst.process->poll()) {
            inst.process->signal_group(SIGKILL);  // its workers, should the server have left any
            log_line(inst.log, "amlemu: the instance ended with exit code " + std::to_string(*code) +
                                   (inst.ready ? "; starting another" : ""));
            inst.process.reset();
            if (!inst.ready) ++inst.failures;
            inst.ready = false;
            inst.live_failures = 0;
            // Back-off: 0.5 s, 1 s, 2 s, ... 8 s between starts that fail.
            inst.not_before = now + std::chrono::milliseconds(500 << std::min(inst.failures, 4));
          }
        }
        if (!inst.process) {
          if (inst.failures >= kStartAttempts) {
            all_ready = false;
            if (d.state != "Failed") {
              d.state = "Failed";
              states.emplace_back(name, "Failed", failure_reason(inst));
            }
            continue;
          }
          if (now >= inst.not_before && d.state != "Failed") start(d, inst, i);
          all_ready = false;
          continue;
        }
        if (!inst.ready) {
          all_ready = false;
          if (now >= inst.next_probe) {
            inst.next_probe = now + 100ms;
            if (probe(inst.socket, 1000ms)) {
              inst.ready = true;
              inst.failures = 0;
              inst.next_probe = now + std::chrono::seconds(std::max(1, d.rec.deployment.liveness.initial_delay));
              log_line(inst.log, "amlemu: the instance is ready");
            }
          }
          continue;
        }
        if (now >= inst.next_probe) {
          const auto& lp = d.rec.deployment.liveness;
          inst.next_probe = now + std::chrono::seconds(std::max(1, lp.period));
          if (probe(inst.socket, std::chrono::seconds(std::max(1, lp.timeout)))) {
            inst.live_failures = 0;
          } else if (++inst.live_failures >= std::max(1, lp.failure_threshold)) {
            log_line(inst.log, "amlemu: the liveness probe failed " + std::to_string(inst.live_failures) +
                                   " times; restarting the instance");
            inst.ready = false;
            inst.process->signal_group(SIGKILL);
          }
        }
      }
      if (all_ready && d.state != "Succeeded" && d.state != "Failed") {
        d.state = "Succeeded";
        states.emplace_back(name, "Succeeded", "");
      }
    }
    if (!states.empty()) {
      EndpointStore store(ws_);
      for (const auto& [name, state, error] : states) store.set_state(endpoint_, name, state, error);
    }
  }

  static constexpr int kStartAttempts = 4;

  std::string failure_reason(const Instance& inst) const {
    return "The deployment's instance could not start " + std::to_string(kStartAttempts) +
           " times (its scoring script's init() may have raised); the end of its log:\n" +
           fs::tail_lines(inst.log, 25);
  }

  void log_line(const stdfs::path& log, const std::string& line) {
    std::ofstream(log, std::ios::app) << line << "\n";
  }

  void start(Deployment& d, Instance& inst, size_t index) {
    const auto& dep = d.rec.deployment;
    const auto dir = deployment_dir(state_dir_, endpoint_, dep.name);
    std::error_code ec;
    stdfs::create_directories(inst.log.parent_path(), ec);
    stdfs::remove(inst.socket, ec);
    ProcessSpec spec;
    spec.program = d.rec.python;
    const auto model_dir = dir / "azureml-models";
    std::string model_root = (dir / "model").string();
    for (const auto& e : stdfs::directory_iterator(model_dir, ec)) {
      // azureml-models/<name>/<version>
      for (const auto& v : stdfs::directory_iterator(e.path(), ec)) model_root = v.path().string();
    }
    spec.args = {"-m", "amlemu_scoring", inst.socket, (dir / "code" / dep.scoring_script).string(),
                 model_root, std::to_string(std::max(1, dep.max_concurrent_requests_per_instance))};
    spec.cwd = dir / "code";
    spec.output_file = inst.log;
    std::map<std::string, std::string> env;
    for (const auto& [k, v] : current_environment()) {
      if (k.rfind("AZUREML_", 0) == 0 || k.rfind("MLFLOW_", 0) == 0 || k == "PYTHONPATH") continue;
      env[k] = v;
    }
    env["PYTHONPATH"] = (share_dir() / "python").string();
    env["PYTHONUNBUFFERED"] = "1";
    env["AZUREML_MODEL_DIR"] = model_root;
    env["AML_APP_ROOT"] = (dir / "code").string();
    env["SCORING_TIMEOUT_MS"] = std::to_string(dep.request_timeout_ms);
    env["AZUREML_DEPLOYMENT_NAME"] = dep.name;
    env["AZUREML_ENDPOINT_NAME"] = endpoint_;
    env["HTTP_PROXY"] = kNoRouteProxy;
    env["HTTPS_PROXY"] = kNoRouteProxy;
    env["NO_PROXY"] = "localhost,127.0.0.1,::1";
    for (const auto& [k, v] : dep.environment_variables) env[k] = v;
    spec.env = env;
    log_line(inst.log, "amlemu: starting instance " + std::to_string(index) + " of deployment " + dep.name);
    try {
      inst.process = launcher_->start(spec);
    } catch (const std::exception& e) {
      log_line(inst.log, std::string("amlemu: cannot start the instance: ") + e.what());
      ++inst.failures;
      inst.not_before = SteadyClock::now() + 1s;
      return;
    }
    inst.started = SteadyClock::now();
    inst.next_probe = inst.started + 200ms;
    inst.ready = false;
  }

  void stop(Instance& inst) {
    if (!inst.process) return;
    inst.process->signal_group(SIGTERM);
    const auto until = SteadyClock::now() + 5s;
    while (!inst.process->poll() && SteadyClock::now() < until) std::this_thread::sleep_for(20ms);
    // The server's workers share its process group: whatever of it is left goes now, even when
    // the server itself has already ended.
    inst.process->signal_group(SIGKILL);
    while (!inst.process->poll()) std::this_thread::sleep_for(10ms);
    std::error_code ec;
    stdfs::remove(inst.socket, ec);
    inst.process.reset();
  }

  void stop_all() {
    std::vector<Instance> all;
    {
      std::lock_guard lock(mu_);
      for (auto& [name, d] : deployments_) {
        for (auto& inst : d.instances) all.push_back(std::move(inst));
      }
      deployments_.clear();
    }
    for (auto& inst : all) stop(inst);
  }

  stdfs::path state_dir_;
  std::string endpoint_;
  Workspace ws_;
  std::unique_ptr<Launcher> launcher_;
  std::mutex mu_;
  std::map<std::string, Deployment> deployments_;
  std::map<std::string, int> traffic_, mirror_;
  std::string auth_mode_, primary_key_, secondary_key_;
  std::mt19937 rng_{std::random_device{}()};
};

}  // namespace

int run_endpoint_host(const stdfs::path& state_dir, const std::string& endpoint) {
  // A starter that blocks signals in its threads (the service plane's server does) hands its
  // mask down through fork and exec: unblock them, or SIGTERM and SIGHUP would never arrive.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGHUP, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  int code = 1;
  try {
    // Never destroyed: connection threads may still use it when the process ends below.
    code = (new Host(state_dir, endpoint))->run();
  } catch (const std::exception& e) {
    std::cerr << "endpoint " << endpoint << ": " << e.what() << "\n";
  }
  // Connection threads may still be blocked on their clients: end the process here, as a
  // whole, rather than run destructors under them.
  std::cerr << std::flush;
  std::cout << std::flush;
  ::_exit(code);
}

}  // namespace amlemu::serving
