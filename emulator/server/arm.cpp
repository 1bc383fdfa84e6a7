#include "server/arm.hpp"

#include "amlemu/blob.hpp"
#include "server/state.hpp"

namespace amlemu::server::arm {

std::string workspace_id(const Workspace& ws) {
  return "/subscriptions/" + ws.subscription_id() + "/resourceGroups/" + ws.resource_group() +
         "/providers/Microsoft.MachineLearningServices/workspaces/" + ws.name();
}

std::string id(const Workspace& ws, const std::string& segments) {
  return workspace_id(ws) + "/" + segments;
}

nlohmann::json system_data(const std::string& created, const std::string& modified) {
  return {{"createdAt", created},
          {"createdBy", "amlemu"},
          {"createdByType", "Application"},
          {"lastModifiedAt", modified.empty() ? created : modified},
          {"lastModifiedBy", "amlemu"},
          {"lastModifiedByType", "Application"}};
}

nlohmann::json resource(const Workspace& ws, const std::string& type, const std::string& id_tail,
                        const std::string& name, nlohmann::json properties,
                        const std::string& created, const std::string& modified) {
  return {{"id", id(ws, id_tail)},
          {"name", name},
          {"type", "Microsoft.MachineLearningServices/workspaces/" + type},
          {"properties", std::move(properties)},
          {"systemData", system_data(created, modified)}};
}

nlohmann::json list(nlohmann::json items) { return {{"value", std::move(items)}}; }

std::string next_version(const std::string& latest) {
  try {
    size_t used = 0;
    const long long n = std::stoll(latest, &used);
    if (used == latest.size() && n >= 0) return std::to_string(n + 1);
  } catch (const std::exception&) {
  }
  return "1";
}

nlohmann::json asset_container(const Workspace& ws, const std::string& type, const std::string& name,
                               const std::string& latest_version, const std::string& created,
                               nlohmann::json extra) {
  nlohmann::json props = {{"description", nullptr},
                          {"tags", nlohmann::json::object()},
                          {"properties", nlohmann::json::object()},
                          {"isArchived", false},
                          {"latestVersion", latest_version},
                          {"nextVersion", next_version(latest_version)},
                          {"provisioningState", "Succeeded"}};
  props.update(extra);
  return resource(ws, type, type + "/" + name, name, props, created);
}

nlohmann::json top(nlohmann::json items, const std::string& top_value) {
  if (top_value.empty()) return items;
  size_t n = 0;
  try {
    n = static_cast<size_t>(std::stoul(top_value));
  } catch (const std::exception&) {
    return items;
  }
  if (items.size() > n) items.erase(items.begin() + static_cast<long>(n), items.end());
  return items;
}

nlohmann::json workspace(const ServerState& server, const Workspace& ws) {
  const auto details = ws.get_details();
  const std::string created = details.value("creationTime", "");
  const std::string account = storage_account_name(ws);
  const std::string rg_id =
      "/subscriptions/" + ws.subscription_id() + "/resourceGroups/" + ws.resource_group();
  const auto& base = server.base_url();
  return {
      {"id", workspace_id(ws)},
      {"name", ws.name()},
      {"type", "Microsoft.MachineLearningServices/workspaces"},
      {"location", "local"},
      {"kind", "Default"},
      {"tags", nlohmann::json::object()},
      {"identity", {{"type", "SystemAssigned"}, {"principalId", details.value("workspaceid", "")},
                    {"tenantId", server.authority().credentials().tenant_id}}},
      {"sku", {{"name", "Basic"}, {"tier", "Basic"}}},
      {"systemData", system_data(created)},
      {"properties",
       {{"friendlyName", ws.name()},
        {"description", ""},
        {"workspaceId", details.value("workspaceid", "")},
        {"storageAccount", rg_id + "/providers/Microsoft.Storage/storageAccounts/" + account},
        {"keyVault", rg_id + "/providers/Microsoft.KeyVault/vaults/" + account},
        {"applicationInsights", rg_id + "/providers/Microsoft.insights/components/" + account},
        {"containerRegistry", nullptr},
        {"discoveryUrl", base + "/discovery"},
        {"mlFlowTrackingUri", mlflow_tracking_uri(ws.subscription_id(), ws.resource_group(),
                                                  ws.name(), server.port())},
        {"provisioningState", "Succeeded"},
        {"creationTime", created},
        {"hbiWorkspace", false},
        {"publicNetworkAccess", "Enabled"},
        {"v1LegacyMode", false},
        {"enableDataIsolation", false},
        {"storageHnsEnabled", false},
        {"notebookInfo", nullptr},
        {"privateLinkCount", 0},
        {"tenantId", server.authority().credentials().tenant_id}}},
  };
}

}  // namespace amlemu::server::arm
