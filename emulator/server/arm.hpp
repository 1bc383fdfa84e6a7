// ARM shapes shared by the handlers: resource ids, the envelope every resource answers with
// (id, name, type, properties, systemData) and the workspace itself.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "amlemu/workspace.hpp"

namespace amlemu::server {
class ServerState;
}

namespace amlemu::server::arm {

/// /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/workspaces/<ws>
std::string workspace_id(const Workspace& ws);
/// The workspace id followed by "/<segments>" (e.g. "jobs/<name>").
std::string id(const Workspace& ws, const std::string& segments);

/// `systemData` with both times (ISO-8601) and the emulated user.
nlohmann::json system_data(const std::string& created, const std::string& modified = "");

/// { id, name, type, properties, systemData } for a resource of type
/// "Microsoft.MachineLearningServices/workspaces/<type>".
nlohmann::json resource(const Workspace& ws, const std::string& type, const std::string& id_tail,
                        const std::string& name, nlohmann::json properties,
                        const std::string& created, const std::string& modified = "");

/// `{"value": [...]}`, the envelope of every list (no nextLink: one page).
nlohmann::json list(nlohmann::json items);

/// An asset container (codes/<name>, models/<name>, ...) with its latest and next version.
nlohmann::json asset_container(const Workspace& ws, const std::string& type, const std::string& name,
                               const std::string& latest_version, const std::string& created,
                               nlohmann::json extra = nlohmann::json::object());

/// The next version after `latest`: its integer successor, or "1" when it is not an integer.
std::string next_version(const std::string& latest);

/// Applies a versions list's `$orderBy=createdtime desc` (the default order) and `$top`.
nlohmann::json top(nlohmann::json items, const std::string& top_value);

/// The workspace resource (with discoveryUrl, storage account and the MLflow tracking URI).
nlohmann::json workspace(const ServerState& server, const Workspace& ws);

}  // namespace amlemu::server::arm
