#include "server/state.hpp"

#include <chrono>
#include <map>
#include <tuple>

#include "amlemu/errors.hpp"
#include "amlemu/blob.hpp"
#include "server/http.hpp"

namespace amlemu::server {

ServerState::ServerState(int port, ServiceCredentials creds)
    : port_(port),
      base_url_("https://127.0.0.1:" + std::to_string(port)),
      authority_(std::move(creds)) {}

const Workspace& ServerState::workspace(const std::string& subscription,
                                        const std::string& resource_group,
                                        const std::string& name) const {
  // One handle per workspace per thread, kept for the thread's life (its connection).
  thread_local std::map<std::tuple<std::string, std::string, std::string>, Workspace> handles;
  const auto key = std::make_tuple(subscription, resource_group, name);
  const auto it = handles.find(key);
  if (it != handles.end()) return it->second;
  try {
    return handles.emplace(key, Workspace::get(name, subscription, resource_group)).first->second;
  } catch (const UserErrorException&) {
    throw HttpError(404, "ResourceNotFound",
                    "The Resource 'Microsoft.MachineLearningServices/workspaces/" + name +
                        "' under resource group '" + resource_group +
                        "' was not found: create it with 'amlemu workspace create --name " + name +
                        " --resource-group " + resource_group + " --subscription-id " +
                        subscription + "'");
  }
}

std::optional<WorkspaceConfig> ServerState::workspace_of_account(const std::string& account) const {
  std::lock_guard<std::mutex> lock(accounts_mutex_);
  auto it = accounts_.find(account);
  if (it == accounts_.end()) {
    // A workspace created since the last look: read the list again.
    accounts_.clear();
    for (const auto& w : list_workspaces()) {
      accounts_[storage_account_name(w.subscription_id, w.resource_group, w.workspace_name)] = w;
    }
    it = accounts_.find(account);
    if (it == accounts_.end()) return std::nullopt;
  }
  return it->second;
}

std::int64_t ServerState::now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace amlemu::server
