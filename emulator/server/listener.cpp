#include "server/listener.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <cstring>
#include <limits>
#include <iostream>
#include <stdexcept>
#include <system_error>

#include "server/auth.hpp"

namespace amlemu::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kIdle = std::chrono::seconds(60);      // between requests on a kept-alive connection
constexpr auto kRequest = std::chrono::seconds(300);  // to read one request and write its answer
constexpr std::size_t kHeaderLimit = 64 * 1024;
constexpr int kMaxConnections = 512;
constexpr std::uint64_t kEarlyCheck = 64 * 1024;  // larger bodies: credential checked first
constexpr auto kRelayIdle = std::chrono::minutes(10);  // a relayed tunnel with no traffic ends
constexpr timeval kRelaySendTimeout = {60, 0};        // a peer that stops reading ends it too

// A socket whose sends (and, on Linux, connect) give up after kRelaySendTimeout.
void bound_sends(int fd) {
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &kRelaySendTimeout, sizeof kRelaySendTimeout);
}

// Relays bytes both ways between two sockets until either side closes, the server stops, no byte
// has passed for kRelayIdle, or a send has waited kRelaySendTimeout.
void relay(int a, int b, const std::atomic<bool>& stopping) {
  char buf[16384];
  bound_sends(a);
  bound_sends(b);
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  auto last = std::chrono::steady_clock::now();
  while (!stopping) {
    const int n = ::poll(fds, 2, 1000);
    if (n < 0 && errno != EINTR) return;
    if (n <= 0) {
      if (std::chrono::steady_clock::now() - last > kRelayIdle) return;
      continue;
    }
    last = std::chrono::steady_clock::now();
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t r = ::recv(fds[i].fd, buf, sizeof buf, 0);
      if (r <= 0) return;
      for (ssize_t off = 0; off < r;) {
        const ssize_t w = ::send(fds[1 - i].fd, buf + off, static_cast<size_t>(r - off), MSG_NOSIGNAL);
        if (w <= 0) return;
        off += w;
      }
    }
  }
}

int connect_to(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) return -1;
  int fd = -1;
  for (auto* p = res; p; p = p->ai_next) {
    fd = ::socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol);
    if (fd < 0) continue;
    bound_sends(fd);  // bounds the connect as well
    if (::connect(fd, p->ai_addr, p->ai_addrlen) == 0) break;
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(res);
  return fd;
}

}  // namespace

Listener::Listener(int port, asio::ssl::context& tls, Endpoint endpoint)
    : tls_(tls), endpoint_(std::move(endpoint)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error(std::string("cannot open a socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // loopback only, always
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const std::string why = std::strerror(errno);
    ::close(listen_fd_);
    throw std::runtime_error("cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + why +
                             (errno == EADDRINUSE ? " (is another amlemu serve running? pick "
                                                    "another port with --port)"
                                                  : ""));
  }
  if (::listen(listen_fd_, 256) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error(std::string("cannot listen: ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
}

Listener::~Listener() {
  stop();
  if (reaper_.joinable()) reaper_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void Listener::stop() {
  if (stopping_.exchange(true)) return;
  ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [id, c] : conns_) ::shutdown(c.fd, SHUT_RDWR);
  changed_.notify_all();
}

void Listener::arm(std::uint64_t id, std::chrono::seconds timeout) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = conns_.find(id);
  if (it != conns_.end()) it->second.deadline = std::chrono::steady_clock::now() + timeout;
}

void Listener::reap() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    changed_.wait_for(lock, std::chrono::seconds(1));
    const auto now = std::chrono::steady_clock::now();
    for (auto& [id, c] : conns_) {
      if (c.deadline < now) ::shutdown(c.fd, SHUT_RDWR);  // its thread's read fails and it ends
    }
  }
}

void Listener::run() {
  reaper_ = std::thread([this] { reap(); });
  while (!stopping_) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) break;
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM ||
          errno == EPERM) {
        // Out of something for now (descriptors, memory) or refused by a filter: try again.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      std::cerr << "amlemu serve: cannot accept connections: " << std::strerror(errno) << std::endl;
      break;
    }
    join_ended();
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // The thread is made and recorded under the lock, which it needs to end: it cannot be
    // listed as ended before it is recorded.
    std::lock_guard<std::mutex> lock(mutex_);
    if (static_cast<int>(conns_.size()) >= kMaxConnections || stopping_) {
      ::close(fd);
      continue;
    }
    const std::uint64_t id = next_id_++;
    conns_[id] = Conn{fd, std::chrono::steady_clock::now() + kIdle};
    try {
      threads_[id] = std::thread([this, fd, id] {
        try {
          serve(fd, id);
        } catch (const std::exception& e) {
          // A connection that fails in an unforeseen way ends; the server goes on.
          std::cerr << "amlemu serve: a connection ended on an error: " << e.what() << std::endl;
        }
        std::lock_guard<std::mutex> lock(mutex_);
        conns_.erase(id);
        ended_.push_back(id);
        ::close(fd);
        changed_.notify_all();
      });
    } catch (const std::system_error& e) {
      // No thread to be had (a process or memory limit): this connection is dropped, the
      // server goes on.
      std::cerr << "amlemu serve: cannot start a thread for a connection: " << e.what() << std::endl;
      threads_.erase(id);
      conns_.erase(id);
      ::close(fd);
      changed_.notify_all();
    }
  }
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return conns_.empty(); });
  }
  join_ended();
}

void Listener::join_ended() {
  std::vector<std::thread> done;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto id : ended_) {
      const auto it = threads_.find(id);
      if (it == threads_.end()) continue;
      done.push_back(std::move(it->second));
      threads_.erase(it);
    }
    ended_.clear();
  }
  for (auto& t : done) t.join();  // each has left serve(); this waits for its very end
}

namespace {

template <class Stream>
void serve_http(Stream& stream, beast::flat_buffer& buf, const Endpoint& ep,
                const std::string& tunnel_host, const std::function<void(bool)>& arm) {
  for (;;) {
    arm(false);
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    // Decided once the header is read. (Not boost::none: Boost 1.74 compares lengths with the
    // optional itself, and every length is above "none".)
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    beast::error_code ec;
    http::read_header(stream, buf, parser, ec);
    if (ec) {
      if (ec == http::error::header_limit) {
        Request bare;
        auto res = ep.error(bare, 431, "RequestHeaderFieldsTooLarge",
                            "The request's headers are larger than 64 KiB", tunnel_host);
        res.keep_alive(false);
        res.prepare_payload();
        http::write(stream, res, ec);
      }
      return;
    }
    arm(true);
    const auto limit = ep.body_limit(parser.get(), tunnel_host);
    auto too_large = [&] {
      Request head;
      head.base() = parser.get().base();
      auto res = ep.error(head, 413, "RequestBodyTooLarge",
                          "The request body is larger than the " + std::to_string(limit >> 20) +
                              " MiB this operation accepts",
                          tunnel_host);
      res.keep_alive(false);  // the rest of the body is never read
      res.prepare_payload();
      http::write(stream, res, ec);
    };
    if (parser.content_length() && *parser.content_length() > limit) return too_large();
    if (ep.refuse_early && (parser.chunked() || parser.content_length().value_or(0) > kEarlyCheck)) {
      Request head;
      head.base() = parser.get().base();
      if (auto res = ep.refuse_early(head, tunnel_host)) {
        res->keep_alive(false);  // the body is never read
        res->prepare_payload();
        http::write(stream, *res, ec);
        return;
      }
    }
    parser.body_limit(limit);
    http::read(stream, buf, parser, ec);
    if (ec == http::error::body_limit) return too_large();
    if (ec) return;
    Request req = parser.release();
    Response res = ep.handle(req, tunnel_host);
    const bool keep = req.keep_alive() && res.keep_alive();
    res.keep_alive(keep);
    http::write(stream, res, ec);
    if (ec || !keep) return;
  }
}

}  // namespace

void Listener::serve(int fd, std::uint64_t id) {
  asio::io_context ioc;
  tcp::socket sock(ioc);
  sock.assign(tcp::v4(), fd);
  struct Release {  // the thread closes fd itself; the socket must not
    tcp::socket& s;
    ~Release() { s.release(); }
  } release{sock};
  auto arm = [this, id](bool in_request) { this->arm(id, in_request ? kRequest : kIdle); };

  beast::flat_buffer buf;
  beast::error_code ec;
  const bool tls = beast::detect_ssl(sock, buf, ec);
  if (ec) return;
  if (tls) {
    asio::ssl::stream<tcp::socket&> stream(sock, tls_);
    // The bytes read to detect TLS are the start of the handshake: hand them over.
    stream.handshake(asio::ssl::stream_base::server, buf.data(), ec);
    if (ec) return;
    buf.consume(buf.size());
    serve_http(stream, buf, endpoint_, "", arm);
    stream.shutdown(ec);
    return;
  }

  // Plain HTTP: only CONNECT, the storage proxy of `amlemu env`'s HTTPS_PROXY.
  http::request_parser<http::empty_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(0);
  http::read(sock, buf, parser, ec);
  if (ec) return;
  const auto& req = parser.get();
  auto answer = [&](http::status status, const std::string& text,
                    const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    http::response<http::string_body> res{status, req.version()};
    for (const auto& [k, v] : headers) res.set(k, v);
    res.set(http::field::content_type, "text/plain");
    res.body() = text + "\n";
    res.keep_alive(false);
    res.prepare_payload();
    http::write(sock, res, ec);
  };
  if (req.method() != http::verb::connect) {
    return answer(http::status::bad_request,
                  "amlemu serves HTTPS on this port (plain HTTP only for CONNECT, its storage "
                  "proxy): use https://127.0.0.1:" + std::to_string(port_));
  }
  const std::string auth(req[http::field::proxy_authorization]);
  const auto decoded = auth.rfind("Basic ", 0) == 0 ? base64_decode(auth.substr(6)) : std::nullopt;
  if (!decoded || !equal_secret(*decoded, "amlemu:" + endpoint_.proxy_password)) {
    return answer(http::status::proxy_authentication_required,
                  "The proxy needs the credentials of 'amlemu env' (HTTPS_PROXY)",
                  {{"Proxy-Authenticate", "Basic realm=\"amlemu\""}});
  }
  const std::string target(req.target());
  const auto colon = target.rfind(':');
  const std::string host = colon == std::string::npos ? target : target.substr(0, colon);
  const std::string port = colon == std::string::npos ? "443" : target.substr(colon + 1);
  if (endpoint_.serves_host(host)) {
    const std::string ok = "HTTP/1.1 200 Connection Established\r\n\r\n";
    asio::write(sock, asio::buffer(ok), ec);
    if (ec) return;
    asio::ssl::stream<tcp::socket&> stream(sock, tls_);
    // The bytes read to detect TLS are the start of the handshake: hand them over.
    stream.handshake(asio::ssl::stream_base::server, buf.data(), ec);
    if (ec) return;
    buf.consume(buf.size());
    serve_http(stream, buf, endpoint_, host, arm);
    stream.shutdown(ec);
    return;
  }
  // Any other host: an ordinary tunnel, so the rest of the shell's HTTPS traffic still works
  // with HTTPS_PROXY set.
  const int upstream = connect_to(host, port);
  if (upstream < 0) return answer(http::status::bad_gateway, "cannot reach " + target);
  const std::string ok = "HTTP/1.1 200 Connection Established\r\n\r\n";
  asio::write(sock, asio::buffer(ok), ec);
  if (!ec && buf.size() > 0) {
    const auto data = buf.data();
    ::send(upstream, data.data(), data.size(), MSG_NOSIGNAL);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    conns_[id].deadline = std::chrono::steady_clock::time_point::max();  // tunnels live long
  }
  if (!ec) relay(fd, upstream, stopping_);
  ::close(upstream);
}

}  // namespace amlemu::server
