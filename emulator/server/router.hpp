// The routing table of the service plane, in one place: each operation is a method, a path
// pattern and a handler. Dispatch authenticates the request first (a bearer token the server
// issued, the managed-identity secret for the token endpoint, nothing for the public cloud
// metadata), then resolves the workspace a scoped route names, then calls the handler; every
// error becomes Azure's envelope (errors.hpp).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "server/http.hpp"

namespace amlemu::server {

using Handler = std::function<Response(Call&)>;

/// What a route asks of the caller before its handler runs.
enum class Access {
  token,       // Authorization: Bearer <a token from the server's token endpoint>
  msi_secret,  // the managed-identity secret (header `secret` or `X-IDENTITY-HEADER`)
  open,        // nothing: cloud metadata and discovery, public on Azure too
};

/// The management prefix of a workspace's resources, as a route pattern.
inline constexpr const char* kWorkspacePattern =
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
    "Microsoft.MachineLearningServices/workspaces/{workspaceName}";

class Router {
 public:
  /// `pattern` is a path whose segments are literals (matched case-insensitively, as ARM does),
  /// `{name}` captures of one segment, or a last `{*name}` capturing the rest (possibly empty).
  /// A pattern with {subscriptionId}, {resourceGroupName} and {workspaceName} is workspace-scoped.
  void add(http::verb method, const std::string& pattern, Handler handler,
           Access access = Access::token);

  /// Answers one request: 501 for a path no route knows, 405 for a known path with another
  /// method, 401 when the credential is missing or not the server's.
  Response dispatch(Call& call) const;

 private:
  struct Route {
    http::verb method;
    std::vector<std::string> segments;  // literals lower-cased; "{x}" captures; "{*x}" the rest
    Handler handler;
    Access access;
    bool scoped;
  };
  static bool match(const Route& r, const std::vector<std::string>& parts, Call& call);
  std::vector<Route> routes_;
};

/// Splits a decoded path into its segments ("/a/b/" gives {"a", "b", ""}).
std::vector<std::string> split_path(const std::string& path);

}  // namespace amlemu::server
