// The service plane put together: the routing table of the management and data planes, the
// blob service, and what the listener asks of them (body limits, which proxied host names are
// answered here). One Service per server process; `handle` is called from every connection
// thread at once.
#pragma once

#include <optional>
#include <string>

#include "server/http.hpp"
#include "server/router.hpp"
#include "server/state.hpp"

namespace amlemu::server {

class Service {
 public:
  explicit Service(ServerState& state);

  /// Answers one request and writes its access-log line.
  Response handle(Request& req, const std::string& tunnel_host);
  /// 256 MiB for blob writes, 16 MiB for everything else.
  std::size_t body_limit(const http::request_header<>& header, const std::string& tunnel_host) const;
  /// True for the names of the emulated cloud: 127.0.0.1, localhost and *.<storage suffix>.
  bool serves_host(const std::string& host) const;
  /// For a request about to send a large body: its refusal when its credential (from the headers
  /// alone) is missing or not the server's, else nothing.
  std::optional<Response> refuse_early(const Request& head, const std::string& tunnel_host);
  /// An error answer in the shape the request's plane uses (JSON, or XML for storage).
  Response error(const Request& req, int status, const std::string& code,
                 const std::string& message, const std::string& tunnel_host) const;

 private:
  // The storage account a request is addressed to ("" when it is not a storage request), and
  // the path inside the account.
  std::string storage_account_of(const std::string& path, const std::string& tunnel_host,
                                 std::string* rest) const;
  ServerState& state_;
  Router router_;
};

// Each file of handlers/ adds the routes of one resource group.
void add_metadata_routes(Router& r);   // cloud metadata, token, subscriptions, workspaces, discovery
void add_compute_routes(Router& r);    // computes/
void add_datastore_routes(Router& r);  // datastores/
void add_asset_routes(Router& r);      // codes/, environments/, data/
void add_model_routes(Router& r);      // models/
void add_endpoint_routes(Router& r);   // onlineEndpoints/
void add_job_routes(Router& r);        // jobs/
void add_history_routes(Router& r);    // /history/v1.0/...: run details, run data
void add_mlflow_routes(Router& r);     // /mlflow/v2.0/.../api/2.0/mlflow/...: MLflow's REST API

/// Answers a request to the blob service of `account` (path-style or through the proxy);
/// `path` is "/<container>/<blob>" (handlers/blob.cpp).
Response handle_blob(Call& call, const std::string& account, const std::string& path);
/// Throws HttpError 403 (AuthenticationFailed, or AuthorizationPermissionMismatch for a
/// credential lacking a permission) unless the blob request carries a credential the server
/// accepts; 400 for a path without a container.
void check_blob_credential(Call& call, const std::string& account, const std::string& path);

}  // namespace amlemu::server
