// The doors every client walks through first: the cloud's metadata (where management, login
// and storage are), the managed-identity token endpoint, subscriptions, workspaces and the
// workspace's discovery document (where its data-plane services are).
#include <set>

#include "amlemu/service.hpp"
#include "amlemu/workspace.hpp"
#include "server/arm.hpp"
#include "server/service.hpp"

namespace amlemu::server {

namespace {

Response cloud_metadata(Call& call) {
  const auto& base = call.server.base_url();
  const nlohmann::json cloud = {
      {"name", kServiceCloudName},
      {"portal", base},
      {"resourceManager", base + "/"},
      {"authentication",
       {{"loginEndpoint", base + "/"},
        {"audiences", {base + "/"}},
        {"tenant", "common"},
        {"identityProvider", "AAD"}}},
      {"media", base + "/"},
      {"graphAudience", base + "/"},
      {"graph", base + "/"},
      {"batch", base + "/"},
      {"activeDirectoryDataLake", base + "/"},
      {"sqlManagement", base + "/"},
      {"gallery", base + "/"},
      {"microsoftGraphResourceId", base + "/"},
      {"appInsightsResourceId", base + "/"},
      {"appInsightsTelemetryChannelResourceId", base + "/"},
      {"attestationResourceId", base + "/"},
      {"synapseAnalyticsResourceId", base + "/"},
      {"logAnalyticsResourceId", base + "/"},
      {"ossrDbmsResourceId", base + "/"},
      {"suffixes",
       {{"storage", kServiceStorageSuffix},
        {"keyVaultDns", std::string(".vault.") + kServiceStorageSuffix},
        {"acrLoginServer", std::string(".acr.") + kServiceStorageSuffix},
        {"sqlServerHostname", std::string(".sql.") + kServiceStorageSuffix},
        {"azureDatalakeStoreFileSystem", std::string("dls.") + kServiceStorageSuffix},
        {"azureDatalakeAnalyticsCatalogAndJob", std::string("dla.") + kServiceStorageSuffix},
        {"mysqlServerEndpoint", std::string(".mysql.") + kServiceStorageSuffix},
        {"postgresqlServerEndpoint", std::string(".postgres.") + kServiceStorageSuffix},
        {"mariadbServerEndpoint", std::string(".mariadb.") + kServiceStorageSuffix},
        {"synapseAnalytics", std::string(".synapse.") + kServiceStorageSuffix},
        {"attestationEndpoint", std::string(".attest.") + kServiceStorageSuffix}}},
  };
  // Only this cloud: azureml-core forces its built-in endpoints when AzureCloud is listed.
  return json_response(call, 200, nlohmann::json::array({cloud}));
}

Response token(Call& call) {
  std::string resource = call.query_value("resource");
  if (resource.empty() && call.req.method() == http::verb::post) {
    // A form body (resource=...&api-version=...), as some managed-identity clients post.
    const auto& body = call.req.body();
    const auto at = body.find("resource=");
    if (at != std::string::npos) {
      const auto end = body.find('&', at);
      resource = percent_decode(body.substr(at + 9, end == std::string::npos ? end : end - at - 9), true)
                     .value_or("");
    }
  }
  if (resource.empty()) resource = call.server.resource_manager() + "/";
  const std::int64_t lifetime = 24 * 3600, now = ServerState::now_s();
  const auto jwt = call.server.authority().issue_token(resource, now, lifetime);
  return json_response(call, 200,
                       {{"access_token", jwt},
                        {"expires_on", std::to_string(now + lifetime)},
                        {"expires_in", std::to_string(lifetime)},
                        {"refresh_in", std::to_string(lifetime / 2)},
                        {"resource", resource},
                        {"token_type", "Bearer"},
                        {"client_id", "amlemu"}});
}

Response subscriptions(Call& call) {
  std::set<std::string> subs;
  for (const auto& w : list_workspaces()) subs.insert(w.subscription_id);
  nlohmann::json value = nlohmann::json::array();
  const auto tenant = call.server.authority().credentials().tenant_id;
  for (const auto& s : subs) {
    value.push_back({{"id", "/subscriptions/" + s},
                     {"authorizationSource", "RoleBased"},
                     {"subscriptionId", s},
                     {"tenantId", tenant},
                     {"displayName", "amlemu " + s},
                     {"state", "Enabled"},
                     {"subscriptionPolicies",
                      {{"locationPlacementId", "Public_2014-09-01"},
                       {"quotaId", "amlemu"},
                       {"spendingLimit", "Off"}}}});
  }
  return json_response(call, 200, {{"value", value}});
}

Response workspace_get(Call& call) {
  return json_response(call, 200, arm::workspace(call.server, call.workspace()));
}

Response workspace_list(Call& call) {
  nlohmann::json value = nlohmann::json::array();
  const auto& sub = call.param("subscriptionId");
  const auto& rg = call.param("rg");
  for (const auto& w : list_workspaces()) {
    if (w.subscription_id != sub || (!rg.empty() && w.resource_group != rg)) continue;
    value.push_back(arm::workspace(
        call.server, call.server.workspace(w.subscription_id, w.resource_group, w.workspace_name)));
  }
  return json_response(call, 200, {{"value", value}});
}

Response discovery(Call& call) {
  const auto& base = call.server.base_url();
  nlohmann::json doc = nlohmann::json::object();
  for (const char* k : {"api", "catalog", "experimentation", "gallery", "history", "hyperdrive",
                        "labeling", "modelmanagement", "pipelines", "studio"}) {
    doc[k] = base;
  }
  return json_response(call, 200, doc);
}

}  // namespace

void add_metadata_routes(Router& r) {
  r.add(http::verb::get, "/metadata/endpoints", cloud_metadata, Access::open);
  r.add(http::verb::get, "/msi/token", token, Access::msi_secret);
  r.add(http::verb::post, "/msi/token", token, Access::msi_secret);
  r.add(http::verb::get, "/subscriptions", subscriptions);
  r.add(http::verb::get, kWorkspacePattern, workspace_get);
  r.add(http::verb::get,
        "/subscriptions/{subscriptionId}/providers/Microsoft.MachineLearningServices/workspaces",
        workspace_list);
  r.add(http::verb::get,
        "/subscriptions/{subscriptionId}/resourceGroups/{rg}/providers/"
        "Microsoft.MachineLearningServices/workspaces",
        workspace_list);
  r.add(http::verb::get, "/discovery", discovery, Access::open);
  r.add(http::verb::get, "/discovery/{*rest}", discovery, Access::open);
}

}  // namespace amlemu::server
