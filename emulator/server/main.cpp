// amlemu-server: the service plane. `amlemu serve` runs it in the foreground:
//
//   amlemu-server [--port N]
//
// Serves every workspace under $AMLEMU_HOME over HTTPS on 127.0.0.1, mints its certificate
// authority on first start, prints one access-log line per request, and stops cleanly on SIGINT
// or SIGTERM. Exit codes: 0 after a clean stop, 1 when it cannot start, 2 for bad usage.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <string>
#include <thread>

#include "amlemu/blob.hpp"
#include "amlemu/service.hpp"
#include "server/listener.hpp"
#include "server/service.hpp"
#include "server/state.hpp"
#include "server/tls.hpp"

int main(int argc, char** argv) {
  using namespace amlemu;
  int port = kDefaultServicePort;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--port" && i + 1 < argc) {
      try {
        port = std::stoi(argv[++i]);
      } catch (const std::exception&) {
        port = -1;
      }
      if (port < 0 || port > 65535) {
        std::cerr << "error: --port: '" << argv[i] << "' is not a port number (0-65535)\n";
        return 2;
      }
    } else {
      std::cerr << "usage: amlemu-server [--port N]\n";
      return 2;
    }
  }
  // Signals are taken by one thread with sigwait; every other thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  try {
    const auto dir = service_dir();
    server::ensure_certificates(dir);
    auto tls = server::server_context(dir);
    const auto creds = service_credentials();
    for (const auto& w : list_workspaces()) {
      recover_blob_writes(Workspace::get(w.workspace_name, w.subscription_id, w.resource_group));
    }
    std::unique_ptr<server::ServerState> state;
    std::unique_ptr<server::Service> service;
    server::Endpoint ep;
    ep.proxy_password = creds.proxy_password;
    ep.handle = [&](server::Request& req, const std::string& host) { return service->handle(req, host); };
    ep.body_limit = [&](const server::http::request_header<>& h, const std::string& host) {
      return service->body_limit(h, host);
    };
    ep.serves_host = [&](const std::string& host) { return service->serves_host(host); };
    ep.refuse_early = [&](const server::Request& head, const std::string& host) {
      return service->refuse_early(head, host);
    };
    ep.error = [&](const server::Request& req, int status, const std::string& code,
                   const std::string& message, const std::string& host) {
      return service->error(req, status, code, message, host);
    };
    server::Listener listener(port, tls, ep);
    state = std::make_unique<server::ServerState>(listener.port(), creds);
    service = std::make_unique<server::Service>(*state);
    record_service_process(listener.port(), static_cast<int>(::getpid()));

    std::thread signals([&] {
      int sig = 0;
      sigwait(&stop_signals, &sig);
      listener.stop();
    });
    std::cout << "amlemu serve: listening on https://127.0.0.1:" << listener.port() << " for "
              << amlemu_home().string() << "\n"
              << "  point clients at it with: eval \"$(amlemu env"
              << (listener.port() == kDefaultServicePort ? "" : " --port " + std::to_string(listener.port()))
              << ")\"\n"
              << std::flush;
    listener.run();
    record_service_process(listener.port(), 0);
    std::cout << "amlemu serve: stopped\n" << std::flush;
    // The signal thread returned from sigwait (a signal) or is still waiting (a listener error).
    if (signals.joinable()) {
      pthread_kill(signals.native_handle(), SIGTERM);
      signals.join();
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << std::endl;
    return 1;
  }
}
