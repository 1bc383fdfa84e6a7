// Versioned assets other than models: code (uploaded through a pending-upload container, found
// again by hash), environments (registered versions, and the curated AzureML-* names, which run
// on the local interpreter) and data (named URIs).
#include <regex>

#include "amlemu/assets.hpp"
#include "amlemu/blob.hpp"
#include "amlemu/service.hpp"
#include "common/text.hpp"
#include "server/arm.hpp"
#include "server/service.hpp"
#include "server/state.hpp"
#include "server/storage_auth.hpp"

namespace amlemu::server {

namespace {

using nlohmann::json;

json object_or_empty(const json& obj, const char* key) {
  return obj.contains(key) && obj[key].is_object() ? obj[key] : json::object();
}

const json& properties_of(const json& body) {
  if (!body.is_object() || !body.contains("properties") || !body["properties"].is_object()) {
    throw HttpError(400, "UserError", "properties: is required (an object)");
  }
  return body["properties"];
}

std::string blob_base(const Workspace& ws) {
  return "https://" + storage_account_name(ws) + ".blob." + kServiceStorageSuffix;
}

// ----- code

json code_resource(const Workspace& ws, const CodeVersion& c) {
  json props = c.definition;
  props["isArchived"] = false;
  props["provisioningState"] = "Succeeded";
  props["codeUri"] = blob_base(ws) + "/" + c.container + (c.path.empty() ? "" : "/" + c.path);
  if (!props.contains("properties")) props["properties"] = json::object();
  if (!c.hash.empty()) {
    props["properties"]["hash_sha256"] = c.hash;
    props["properties"]["hash_version"] = "202208";
  }
  return arm::resource(ws, "codes/versions", "codes/" + c.name + "/versions/" + c.version, c.version,
                       props, c.created_time);
}

Response code_versions(Call& call) {
  const auto& ws = call.workspace();
  json items = json::array();
  const auto hash = call.query_value("hash");
  if (!hash.empty()) {
    // Clients name anonymous code afresh each time: the hash finds it under any name.
    if (const auto c = find_code_by_hash(ws, hash)) items.push_back(code_resource(ws, *c));
  } else {
    for (const auto& c : list_code_versions(ws, call.param("name"))) items.push_back(code_resource(ws, c));
  }
  return json_response(call, 200, arm::list(arm::top(items, call.query_value("$top"))));
}

Response code_get(Call& call) {
  const auto c = get_code_version(call.workspace(), call.param("name"), call.param("version"));
  if (!c) {
    throw HttpError(404, "UserError", "Code " + call.param("name") + ":" + call.param("version") + " not found");
  }
  return json_response(call, 200, code_resource(call.workspace(), *c));
}

Response code_container(Call& call) {
  const auto versions = list_code_versions(call.workspace(), call.param("name"));
  if (versions.empty()) throw HttpError(404, "UserError", "Code " + call.param("name") + " not found");
  return json_response(call, 200, arm::asset_container(call.workspace(), "codes", call.param("name"),
                                                       versions.front().version,
                                                       versions.back().created_time));
}

Response code_start_upload(Call& call) {
  const auto& ws = call.workspace();
  const auto body = call.req.body().empty() ? json::object() : call.json_body();
  const std::string type =
      string_field(body, "pendingUploadType", "TemporaryBlobReference", "pendingUploadType");
  if (type != "TemporaryBlobReference") {
    throw HttpError(400, "UserError", "pendingUploadType: '" + type + "' is not supported (TemporaryBlobReference)");
  }
  // A fresh container per upload: the client's "already uploaded" check looks at the first
  // file's name only, so a reused container could pass off other code as this.
  const auto container = BlobContainer::create_upload_container(ws);
  const auto account = storage_account_name(ws);
  const auto uri = blob_base(ws) + "/" + container.name();
  const auto sas = container_sas(call.server.authority(), account, container.name(), "racwl",
                                 ServerState::now_s() + 24 * 3600);
  const std::string rg_id = "/subscriptions/" + ws.subscription_id() + "/resourceGroups/" + ws.resource_group();
  return json_response(call, 200,
                       {{"blobReferenceForConsumption",
                         {{"blobUri", uri},
                          {"storageAccountArmId", rg_id + "/providers/Microsoft.Storage/storageAccounts/" + account},
                          {"credential", {{"credentialType", "SAS"}, {"sasUri", uri + "?" + sas}}}}},
                        {"pendingUploadId", container.name()},
                        {"pendingUploadType", "TemporaryBlobReference"}});
}

// https://<account>.blob.<suffix>/<container>/<path> (or path-style on the server itself).
std::pair<std::string, std::string> container_and_path(const Call& call, const std::string& uri) {
  const auto& ws = call.workspace();
  const auto account = storage_account_name(ws);
  std::string rest;
  const std::string host = blob_base(ws) + "/";
  const std::string path_style = call.server.base_url() + "/" + account + "/";
  if (uri.rfind(host, 0) == 0) {
    rest = uri.substr(host.size());
  } else if (uri.rfind(path_style, 0) == 0) {
    rest = uri.substr(path_style.size());
  } else {
    throw HttpError(400, "UserError", "properties.codeUri: '" + uri +
                                          "' is not in the workspace's storage account " + account);
  }
  const auto decoded = percent_decode(rest, false).value_or(rest);
  const auto slash = decoded.find('/');
  std::string path = slash == std::string::npos ? "" : decoded.substr(slash + 1);
  while (!path.empty() && path.back() == '/') path.pop_back();
  return {decoded.substr(0, slash), path};
}

Response code_put(Call& call) {
  const auto body = call.json_body();
  const auto& p = properties_of(body);
  const auto uri = string_field(p, "codeUri", "", "properties.codeUri");
  if (uri.empty()) throw HttpError(400, "UserError", "properties.codeUri: is required");
  CodeVersion c;
  c.name = call.param("name");
  c.version = call.param("version");
  std::tie(c.container, c.path) = container_and_path(call, uri);
  const auto props = object_or_empty(p, "properties");
  if (props.contains("hash_sha256") && props["hash_sha256"].is_string()) c.hash = props["hash_sha256"];
  c.definition = {{"description", p.contains("description") ? p["description"] : json(nullptr)},
                  {"tags", object_or_empty(p, "tags")},
                  {"properties", props},
                  {"isAnonymous", bool_field(p, "isAnonymous", false, "properties.isAnonymous")}};
  const auto stored = create_code_version(call.workspace(), c);
  return json_response(call, 201, code_resource(call.workspace(), stored));
}

// ----- environments

bool curated(const std::string& name) { return name.rfind("AzureML-", 0) == 0; }

json environment_resource(const Workspace& ws, const EnvironmentVersion& e) {
  const auto& d = e.definition;
  json props = {{"description", d.contains("description") ? d["description"] : json(nullptr)},
                {"tags", d.contains("tags") ? d["tags"] : json::object()},
                {"properties", json::object()},
                {"isArchived", false},
                {"isAnonymous", false},
                {"environmentType", curated(e.name) ? "Curated" : "UserCreated"},
                {"image", d.contains("image") ? d["image"] : json(nullptr)},
                {"condaFile", d.contains("condaFile") ? d["condaFile"] : json(nullptr)},
                {"build", nullptr},
                {"osType", "Linux"},
                {"inferenceConfig", nullptr},
                {"autoRebuild", "Disabled"},
                {"provisioningState", "Succeeded"},
                {"stage", "Development"}};
  return arm::resource(ws, "environments/versions", "environments/" + e.name + "/versions/" + e.version,
                       e.version, props, e.created_time);
}

// A curated environment: on Azure an image of the azureml registry; here the local interpreter.
EnvironmentVersion curated_version(const Workspace& ws, const std::string& name, const std::string& version) {
  std::string image = name.substr(8);
  for (auto& ch : image) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return {name, version.empty() ? "1" : version,
          {{"image", "mcr.microsoft.com/azureml/curated/" + image + ":" + (version.empty() ? "1" : version)},
           {"description", "Curated environment " + name + ": amlemu runs it on the local interpreter as it is"}},
          ws.get_details().value("creationTime", "")};
}

std::vector<EnvironmentVersion> environment_versions(const Workspace& ws, const std::string& name) {
  auto v = list_environment_versions(ws, name);
  if (v.empty() && curated(name)) v.push_back(curated_version(ws, name, ""));
  return v;
}

Response environment_versions_list(Call& call) {
  json items = json::array();
  for (const auto& e : environment_versions(call.workspace(), call.param("name"))) {
    items.push_back(environment_resource(call.workspace(), e));
  }
  return json_response(call, 200, arm::list(arm::top(items, call.query_value("$top"))));
}

Response environment_get(Call& call) {
  const auto& name = call.param("name");
  auto e = get_environment_version(call.workspace(), name, call.param("version"));
  if (!e && curated(name)) e = curated_version(call.workspace(), name, call.param("version"));
  if (!e) throw HttpError(404, "UserError", "Environment " + name + ":" + call.param("version") + " not found");
  return json_response(call, 200, environment_resource(call.workspace(), *e));
}

Response environment_container(Call& call) {
  const auto versions = environment_versions(call.workspace(), call.param("name"));
  if (versions.empty()) throw HttpError(404, "UserError", "Environment " + call.param("name") + " not found");
  return json_response(call, 200, arm::asset_container(call.workspace(), "environments", call.param("name"),
                                                       versions.front().version,
                                                       versions.back().created_time));
}

Response environment_containers(Call& call) {
  std::map<std::string, EnvironmentVersion> latest;
  for (const auto& e : list_environment_versions(call.workspace())) latest.emplace(e.name, e);
  json items = json::array();
  for (const auto& [name, e] : latest) {
    items.push_back(arm::asset_container(call.workspace(), "environments", name, e.version, e.created_time));
  }
  return json_response(call, 200, arm::list(items));
}

Response environment_put(Call& call) {
  const auto body = call.json_body();
  const auto& p = properties_of(body);
  if (p.contains("build") && !p["build"].is_null()) {
    throw HttpError(400, "UserError", "properties.build: Docker build contexts are not built offline; give "
                                      "an image and/or a conda file");
  }
  if (curated(call.param("name"))) {
    throw HttpError(400, "UserError", "environment names starting with AzureML- are reserved for curated "
                                      "environments");
  }
  const auto e = register_environment_version(call.workspace(), call.param("name"), call.param("version"),
                                              string_field(p, "image", "", "properties.image"),
                                              string_field(p, "condaFile", "", "properties.condaFile"),
                                              string_field(p, "description", "", "properties.description"),
                                              object_or_empty(p, "tags"));
  return json_response(call, 201, environment_resource(call.workspace(), e));
}

// ----- data

json data_resource(const Workspace& ws, const DataVersion& d) {
  json props = {{"description", d.definition.contains("description") ? d.definition["description"] : json(nullptr)},
                {"tags", d.definition.contains("tags") ? d.definition["tags"] : json::object()},
                {"properties", d.definition.contains("properties") ? d.definition["properties"] : json::object()},
                {"isArchived", d.archived},
                {"isAnonymous", d.definition.value("isAnonymous", false)},
                {"dataUri", d.uri},
                {"dataType", d.type},
                {"autoDeleteSetting", nullptr},
                {"intellectualProperty", nullptr},
                {"provisioningState", "Succeeded"},
                {"stage", "Development"}};
  return arm::resource(ws, "data/versions", "data/" + d.name + "/versions/" + d.version, d.version, props,
                       d.created_time);
}

// A data asset's name in a path. azure-ai-ml asks for the container and version of an input
// "azureml:<name>@latest" under the whole "azureml:<name>": the name is what follows the prefix.
std::string data_name(const Call& call) {
  auto name = call.param("name");
  if (name.rfind("azureml:", 0) == 0) name.erase(0, 8);
  return name;
}

Response data_versions_list(Call& call) {
  // listViewType: ActiveOnly (the default), ArchivedOnly or All, as the service takes it.
  const auto view = to_lower(call.query_value("listViewType"));
  json items = json::array();
  for (const auto& d : list_data_versions(call.workspace(), data_name(call), view != "activeonly" && !view.empty())) {
    if (view == "archivedonly" && !d.archived) continue;
    items.push_back(data_resource(call.workspace(), d));
  }
  return json_response(call, 200, arm::list(arm::top(items, call.query_value("$top"))));
}

Response data_get(Call& call) {
  const auto d = get_data_version(call.workspace(), data_name(call), call.param("version"));
  if (!d) throw HttpError(404, "UserError", "Data " + data_name(call) + ":" + call.param("version") + " not found");
  return json_response(call, 200, data_resource(call.workspace(), *d));
}

Response data_container(Call& call) {
  const auto name = data_name(call);
  const auto versions = list_data_versions(call.workspace(), name);
  if (versions.empty()) throw HttpError(404, "UserError", "Data " + name + " not found");
  return json_response(call, 200,
                       arm::asset_container(call.workspace(), "data", name, versions.front().version,
                                            versions.back().created_time, {{"dataType", versions.front().type}}));
}

Response data_containers(Call& call) {
  std::map<std::string, DataVersion> latest;
  for (const auto& d : list_data_versions(call.workspace())) latest.emplace(d.name, d);
  json items = json::array();
  for (const auto& [name, d] : latest) {
    items.push_back(arm::asset_container(call.workspace(), "data", name, d.version, d.created_time,
                                         {{"dataType", d.type}}));
  }
  return json_response(call, 200, arm::list(items));
}

Response data_put(Call& call) {
  const auto body = call.json_body();
  const auto& p = properties_of(body);
  DataVersion d;
  d.name = call.param("name");
  d.version = call.param("version");
  d.type = string_field(p, "dataType", "", "properties.dataType");
  d.uri = string_field(p, "dataUri", "", "properties.dataUri");
  if (d.uri.empty()) throw HttpError(400, "UserError", "properties.dataUri: is required");
  d.definition = {{"description", p.contains("description") ? p["description"] : json(nullptr)},
                  {"tags", object_or_empty(p, "tags")},
                  {"properties", object_or_empty(p, "properties")},
                  {"isAnonymous", bool_field(p, "isAnonymous", false, "properties.isAnonymous")}};
  auto made = create_data_version(call.workspace(), d);
  // The SDK archives and restores a version by putting it again with isArchived set.
  const bool archived = bool_field(p, "isArchived", false, "properties.isArchived");
  if (archived != made.archived) {
    archive_data_version(call.workspace(), made.name, made.version, archived);
    made.archived = archived;
  }
  return json_response(call, 201, data_resource(call.workspace(), made));
}

}  // namespace

void add_asset_routes(Router& r) {
  const std::string ws = kWorkspacePattern;
  r.add(http::verb::get, ws + "/codes/{name}", code_container);
  r.add(http::verb::get, ws + "/codes/{name}/versions", code_versions);
  r.add(http::verb::get, ws + "/codes/{name}/versions/{version}", code_get);
  r.add(http::verb::put, ws + "/codes/{name}/versions/{version}", code_put);
  r.add(http::verb::post, ws + "/codes/{name}/versions/{version}/startPendingUpload", code_start_upload);
  r.add(http::verb::get, ws + "/environments", environment_containers);
  r.add(http::verb::get, ws + "/environments/{name}", environment_container);
  r.add(http::verb::get, ws + "/environments/{name}/versions", environment_versions_list);
  r.add(http::verb::get, ws + "/environments/{name}/versions/{version}", environment_get);
  r.add(http::verb::put, ws + "/environments/{name}/versions/{version}", environment_put);
  r.add(http::verb::get, ws + "/data", data_containers);
  r.add(http::verb::get, ws + "/data/{name}", data_container);
  r.add(http::verb::get, ws + "/data/{name}/versions", data_versions_list);
  r.add(http::verb::get, ws + "/data/{name}/versions/{version}", data_get);
  r.add(http::verb::put, ws + "/data/{name}/versions/{version}", data_put);
}

}  // namespace amlemu::server
