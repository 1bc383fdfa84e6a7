// The server's sockets: one listening socket on 127.0.0.1, one thread per connection. A
// connection is HTTPS (TLS detected from its first bytes), or a plain-HTTP CONNECT to the storage
// proxy, after which TLS runs inside the tunnel with the certificate of the storage name asked
// for. A reaper thread closes connections idle past their deadline; stop() closes them all and
// waits for their threads.
#pragma once

#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <optional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/http.hpp"

namespace amlemu::server {

/// What the listener asks of the rest of the server.
struct Endpoint {
  /// Answers one request. `tunnel_host` is the host of the CONNECT the connection came through
  /// ("" for a direct connection).
  std::function<Response(Request& req, const std::string& tunnel_host)> handle;
  /// The largest body a request with these headers may carry (413 above it).
  std::function<std::size_t(const http::request_header<>& header, const std::string& tunnel_host)>
      body_limit;
  /// Whether a CONNECT to `host` is answered by this server (else it is relayed as a tunnel).
  std::function<bool(const std::string& host)> serves_host;
  /// The password of the proxy's user "amlemu".
  std::string proxy_password;
  /// Before a large body is read: the answer refusing a request whose credential is missing or
  /// not the server's (from its headers alone), or nothing to read the body and go on. Bodies are
  /// thus only buffered for callers the server issued a credential to.
  std::function<std::optional<Response>(const Request& head, const std::string& tunnel_host)>
      refuse_early;
  /// Shapes an error for requests that never reached `handle` (413, 400, 431).
  std::function<Response(const Request& req, int status, const std::string& code,
                         const std::string& message, const std::string& tunnel_host)>
      error;
};

class Listener {
 public:
  /// Binds 127.0.0.1:`port` (0: any free port). Throws std::runtime_error when it cannot.
  Listener(int port, boost::asio::ssl::context& tls, Endpoint endpoint);
  ~Listener();

  int port() const { return port_; }
  /// Accepts connections until stop(); returns once every connection thread has ended.
  void run();
  /// Thread-safe; may be called from a signal-handling thread.
  void stop();

 private:
  struct Conn {
    int fd;
    std::chrono::steady_clock::time_point deadline;
  };
  void serve(int fd, std::uint64_t id);
  void arm(std::uint64_t id, std::chrono::seconds timeout);
  void reap();

  int listen_fd_ = -1;
  int port_ = 0;
  boost::asio::ssl::context& tls_;
  Endpoint endpoint_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::uint64_t, Conn> conns_;
  // Every connection's thread, joined once it has ended (none is detached: when run() returns,
  // no connection thread is still winding down, its TLS state included).
  std::map<std::uint64_t, std::thread> threads_;
  std::vector<std::uint64_t> ended_;  // connections whose thread is ending, to be joined
  void join_ended();
  std::uint64_t next_id_ = 0;
  std::thread reaper_;
};

}  // namespace amlemu::server
