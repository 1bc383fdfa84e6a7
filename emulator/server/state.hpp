// What every request thread of the server shares: its address, the credentials it issues and
// checks, and the map from storage account names to workspaces. Each thread keeps its own
// Workspace handles (a handle is not thread-safe).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "amlemu/workspace.hpp"
#include "server/auth.hpp"

namespace amlemu::server {

class ServerState {
 public:
  ServerState(int port, ServiceCredentials creds);

  int port() const { return port_; }
  /// https://127.0.0.1:<port>
  const std::string& base_url() const { return base_url_; }
  const Authority& authority() const { return authority_; }

  /// The resource id of the emulated cloud's management endpoint, the token audience.
  const std::string& resource_manager() const { return base_url_; }

  /// This thread's handle on a workspace; HttpError 404 (ResourceNotFound) when none exists.
  const Workspace& workspace(const std::string& subscription, const std::string& resource_group,
                             const std::string& name) const;

  /// The workspace whose storage account is `account` (storage_account_name), if any.
  std::optional<WorkspaceConfig> workspace_of_account(const std::string& account) const;

  /// Seconds since the epoch (the one clock read of the server's logic, for tokens).
  static std::int64_t now_s();

 private:
  int port_;
  std::string base_url_;
  Authority authority_;
  mutable std::mutex accounts_mutex_;
  mutable std::unordered_map<std::string, WorkspaceConfig> accounts_;
};

}  // namespace amlemu::server
