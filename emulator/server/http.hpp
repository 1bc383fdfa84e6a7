// What a handler of the service plane sees: one parsed request (path, query, route captures,
// the workspace it names) and the response types. Handlers turn a Call into one library call and
// its answer into the service's JSON; errors are thrown as HttpError (or the library's typed
// exceptions) and shaped in one place (errors.hpp).
#pragma once

#include <boost/beast/http.hpp>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "amlemu/workspace.hpp"

namespace amlemu::server {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

class ServerState;

/// An error with the HTTP status and Azure error code to answer with.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  int status() const { return status_; }
  const std::string& code() const { return code_; }

 private:
  int status_;
  std::string code_;
};

/// Who made the request, once authenticated.
struct Caller {
  std::string kind;     // "token", "sas", "secret" (token endpoint) or "none" (public route)
  std::string account;  // for a SAS: the storage account it was signed for
};

/// One request, as the router hands it to a handler.
struct Call {
  const Request& req;
  ServerState& server;
  std::string path;                          // percent-decoded, without the query
  std::map<std::string, std::string> query;  // decoded; keys lower-cased
  std::map<std::string, std::string> params; // route captures by name
  std::optional<Workspace> ws;               // the workspace a scoped route names
  Caller caller;

  /// A route capture; "" when the route has none of that name.
  const std::string& param(const std::string& name) const;
  /// A query value (name lower-case), or `fallback`.
  std::string query_value(const std::string& name, const std::string& fallback = "") const;
  /// The body as JSON; HttpError 400 naming the problem when it is not.
  nlohmann::json json_body() const;
  /// The workspace of a scoped route (always set there).
  const Workspace& workspace() const;
};

/// `obj[key]` as a string or a bool: `fallback` when absent or null; HttpError 400 naming
/// `path` (e.g. "properties.vmSize") when it has another type.
std::string string_field(const nlohmann::json& obj, const char* key, const std::string& fallback,
                         const std::string& path);
bool bool_field(const nlohmann::json& obj, const char* key, bool fallback, const std::string& path);

/// A JSON response with the given status.
Response json_response(const Call& call, int status, const nlohmann::json& body);

/// Decodes %XX escapes (and, for query strings, '+' as a space). Returns nullopt on a malformed
/// escape.
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space);
/// Encodes what is not unreserved (RFC 3986); '/' is kept when keep_slash.
std::string percent_encode(std::string_view in, bool keep_slash);

}  // namespace amlemu::server
