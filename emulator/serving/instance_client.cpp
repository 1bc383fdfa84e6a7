#include "serving/instance_client.hpp"

#include <sys/socket.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace amlemu::serving {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = net::local::stream_protocol;

namespace {

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

}  // namespace

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

bool probe(const std::string& socket_path, std::chrono::milliseconds timeout) {
  Request req{http::verb::get, "/", 11};
  req.set(http::field::host, "localhost");
  req.prepare_payload();
  const auto x = exchange(socket_path, req, timeout);
  return x.response && x.response->result_int() == 200;
}

}  // namespace amlemu::serving
