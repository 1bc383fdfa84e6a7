// Datastores: the workspace's two folders (workspaceblobstore, the default, and
// workspacefilestore) and run history (workspaceartifactstore), each a container of the
// workspace's storage account. Their secret is the account key the server derives, so clients
// sign storage requests the server can check, and make the SAS URLs jobs.stream reads logs with.
#include "amlemu/blob.hpp"
#include "amlemu/datastore.hpp"
#include "amlemu/service.hpp"
#include "server/arm.hpp"
#include "server/service.hpp"
#include "server/state.hpp"

namespace amlemu::server {

namespace {

using nlohmann::json;

const std::vector<std::string>& names() {
  static const std::vector<std::string> n = {"workspaceblobstore", "workspaceartifactstore",
                                             "workspacefilestore"};
  return n;
}

json datastore_resource(const Workspace& ws, const std::string& name) {
  const auto account = storage_account_name(ws);
  json p = {{"description", nullptr},
            {"tags", json::object()},
            {"properties", json::object()},
            {"isDefault", name == "workspaceblobstore"},
            {"credentials", {{"credentialsType", "AccountKey"}}},
            {"subscriptionId", ws.subscription_id()},
            {"resourceGroup", ws.resource_group()},
            {"accountName", account},
            {"endpoint", kServiceStorageSuffix},
            {"protocol", "https"},
            {"serviceDataAccessAuthIdentity", "WorkspaceSystemAssignedIdentity"}};
  if (name == "workspacefilestore") {
    p["datastoreType"] = "AzureFile";
    p["fileShareName"] = BlobContainer::of_datastore(ws, name).name();
  } else {
    p["datastoreType"] = "AzureBlob";
    p["containerName"] = name == "workspaceartifactstore" ? std::string("azureml")
                                                           : BlobContainer::of_datastore(ws, name).name();
  }
  const std::string created = ws.get_details().value("creationTime", "");
  return arm::resource(ws, "datastores", "datastores/" + name, name, p, created);
}

const std::string& known(const Call& call) {
  const auto& name = call.param("name");
  for (const auto& n : names()) {
    if (n == name) return name;
  }
  throw HttpError(404, "UserError", "Datastore " + name + " not found in workspace " +
                                        call.workspace().name() +
                                        " (amlemu has workspaceblobstore, workspacefilestore and "
                                        "workspaceartifactstore)");
}

Response get(Call& call) { return json_response(call, 200, datastore_resource(call.workspace(), known(call))); }

Response list(Call& call) {
  const bool only_default = call.query_value("isdefault") == "true";
  json items = json::array();
  for (const auto& n : names()) {
    if (only_default && n != "workspaceblobstore") continue;
    items.push_back(datastore_resource(call.workspace(), n));
  }
  return json_response(call, 200, arm::list(items));
}

Response secrets(Call& call) {
  known(call);
  const auto account = storage_account_name(call.workspace());
  return json_response(call, 200, {{"secretsType", "AccountKey"},
                                   {"key", call.server.authority().account_key(account)}});
}

}  // namespace

void add_datastore_routes(Router& r) {
  const std::string base = std::string(kWorkspacePattern) + "/datastores";
  r.add(http::verb::get, base, list);
  r.add(http::verb::get, base + "/{name}", get);
  r.add(http::verb::post, base + "/{name}/listSecrets", secrets);
}

}  // namespace amlemu::server
