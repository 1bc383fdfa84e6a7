#include "serving/host.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
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
#include "serving/host_process.hpp"

namespace amlemu::serving {

namespace stdfs = std::filesystem;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
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

void on_signal(int sig) {
  if (sig == SIGHUP) Host::reload_requested = true;
  if (sig == SIGTERM || sig == SIGINT) Host::stop_requested = true;
}

}  // namespace

int Host::run() {
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

void Host::supervise() {
  auto next_look = SteadyClock::now();
  while (!Host::stop_requested) {
    if (Host::reload_requested.exchange(false)) reload();
    tend();
    if (SteadyClock::now() >= next_look) {
      // A workspace folder removed under it (a test's temporary home, say) ends the endpoint.
      std::error_code ec;
      if (!stdfs::exists(state_dir_, ec)) Host::stop_requested = true;
      next_look = SteadyClock::now() + 1s;
    }
    std::this_thread::sleep_for(50ms);
  }
}

void Host::reload() {
  EndpointStore store(ws_);
  const auto generation = store.generations(endpoint_).first;  // read before what it covers
  const auto record = store.find(endpoint_);
  if (!record) {
    Host::stop_requested = true;
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

std::string Host::socket_path(const std::string& deployment, size_t i) const {
  return instance_socket(state_dir_, endpoint_, deployment, i);
}

void Host::tend() {
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

std::string Host::failure_reason(const Instance& inst) const {
  return "The deployment's instance could not start " + std::to_string(kStartAttempts) +
         " times (its scoring script's init() may have raised); the end of its log:\n" +
         fs::tail_lines(inst.log, 25);
}

void Host::log_line(const stdfs::path& log, const std::string& line) {
  std::ofstream(log, std::ios::app) << line << "\n";
}

void Host::start(Deployment& d, Instance& inst, size_t index) {
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

void Host::stop(Instance& inst) {
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

void Host::stop_all() {
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
