// The endpoint host's one object (private to serving/): the router (router.cpp) and the
// supervisor of the deployments' instances (host.cpp), sharing the deployments under one lock.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "amlemu/workspace.hpp"
#include "common/launcher.hpp"
#include "serving/endpoint_store.hpp"
#include "serving/instance_client.hpp"

namespace amlemu::serving {

class Host {
 public:
  // Set by the host's signal handlers: SIGHUP asks for a reload, SIGTERM and SIGINT for the end.
  static inline std::atomic<bool> reload_requested{true};
  static inline std::atomic<bool> stop_requested{false};

  Host(std::filesystem::path state_dir, std::string endpoint)
      : state_dir_(std::move(state_dir)),
        endpoint_(std::move(endpoint)),
        ws_(Workspace::open_state_dir(state_dir_)),
        launcher_(make_local_launcher()) {}

  int run();

 private:
  struct Instance {
    std::unique_ptr<Process> process;
    std::string socket;
    std::filesystem::path log;
    bool ready = false;
    int inflight = 0;
    int failures = 0;        // consecutive starts that never became ready
    int live_failures = 0;   // consecutive failed liveness probes
    std::chrono::steady_clock::time_point started, not_before, next_probe;
  };
  struct Deployment {
    DeploymentRecord rec;
    std::vector<Instance> instances;
    std::string state;
    size_t next = 0;
  };

  // ---- The router. ----

  void accept_loop(boost::asio::ip::tcp::acceptor& acceptor);
  void serve_connection(boost::asio::ip::tcp::socket& sock);
  bool authorized(const Request& req);
  Response handle(Request req);

  // Sends the request to a ready instance of `deployment` (the least busy), trying the next one
  // when an instance cannot be reached; an instance that fails after taking the request gives
  // 502, one that takes longer than the timeout 408 (the request is not sent twice).
  Response forward(const std::string& deployment, const Request& req, int timeout_ms);
  // The instance of `deployment` listening on `socket`, if it is still there; under mu_.
  Instance* instance_at(const std::string& deployment, const std::string& socket);

  // ---- The supervisor. ----

  void supervise();
  void reload();
  std::string socket_path(const std::string& deployment, size_t i) const;

  // Starts, probes and restarts the instances; records each deployment's state.
  void tend();

  static constexpr int kStartAttempts = 4;

  std::string failure_reason(const Instance& inst) const;
  void log_line(const std::filesystem::path& log, const std::string& line);
  void start(Deployment& d, Instance& inst, size_t index);
  void stop(Instance& inst);
  void stop_all();
  std::filesystem::path state_dir_;
  std::string endpoint_;
  Workspace ws_;
  std::unique_ptr<Launcher> launcher_;
  std::mutex mu_;
  std::map<std::string, Deployment> deployments_;
  std::map<std::string, int> traffic_, mirror_;
  std::string auth_mode_, primary_key_, secondary_key_;
  std::mt19937 rng_{std::random_device{}()};
};

}  // namespace amlemu::serving
