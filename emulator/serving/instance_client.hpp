// Talking to one scoring instance over its Unix socket: one HTTP exchange with a deadline, and
// the readiness probe.
#pragma once

#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>
#include <string>

namespace amlemu::serving {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// One request to an instance over its Unix socket. nullopt: it could not be reached before the
// request was sent (another instance may take it). `sent` says whether it was.
struct Exchange {
  std::optional<Response> response;
  bool sent = false;
  bool timed_out = false;
  std::string error;
};

/// Sends `req` and reads the answer, giving up (and closing the socket) after `timeout`.
Exchange exchange(const std::string& socket_path, const Request& req, std::chrono::milliseconds timeout);

/// GET / on an instance: true when it answers 200.
bool probe(const std::string& socket_path, std::chrono::milliseconds timeout);

}  // namespace amlemu::serving
