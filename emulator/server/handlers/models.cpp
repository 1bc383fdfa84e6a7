// Models: registered from a job's output, a datastore path or an upload, through
// Model::register_version; the files are copied into the registry, and modelUri answers with the
// source in the service's long form, where clients download from.
#include "amlemu/datastore.hpp"
#include "amlemu/errors.hpp"
#include "amlemu/model.hpp"
#include "server/arm.hpp"
#include "server/service.hpp"

namespace amlemu::server {

namespace {

using nlohmann::json;

json version_resource(const Workspace& ws, const Model& m) {
  json props = {{"description", m.description().empty() ? json(nullptr) : json(m.description())},
                {"tags", m.tags()},
                {"properties", m.properties()},
                {"isArchived", false},
                {"isAnonymous", false},
                {"flavors", json::object()},
                {"modelType", m.type()},
                {"modelUri", m.source_uri().empty() ? json(nullptr) : json(long_form_uri(ws, m.source_uri()))},
                {"jobName", m.run_id().empty() ? json(nullptr) : json(m.run_id())},
                {"autoDeleteSetting", nullptr},
                {"intellectualProperty", nullptr},
                {"provisioningState", "Succeeded"},
                {"stage", "Development"}};
  const auto v = std::to_string(m.version());
  return arm::resource(ws, "models/versions", "models/" + m.name() + "/versions/" + v, v, props,
                       m.created_time());
}

int version_number(const std::string& v) {
  try {
    size_t used = 0;
    const int n = std::stoi(v, &used);
    if (used == v.size() && n >= 1) return n;
  } catch (const std::exception&) {
  }
  throw HttpError(400, "UserError", "version: '" + v + "' is not a positive integer (amlemu numbers model versions)");
}

std::vector<Model> versions_of(const Call& call) {
  auto v = Model::list(call.workspace(), call.param("name"));
  if (v.empty()) {
    throw HttpError(404, "UserError", "Model container with name: " + call.param("name") + " not found.");
  }
  std::sort(v.begin(), v.end(), [](const Model& a, const Model& b) { return a.version() > b.version(); });
  return v;
}

Response containers(Call& call) {
  json items = json::array();
  for (const auto& m : Model::list(call.workspace(), std::nullopt, /*latest=*/true)) {
    items.push_back(arm::asset_container(call.workspace(), "models", m.name(), std::to_string(m.version()),
                                         m.created_time()));
  }
  return json_response(call, 200, arm::list(items));
}

Response container(Call& call) {
  const auto v = versions_of(call);
  return json_response(call, 200, arm::asset_container(call.workspace(), "models", call.param("name"),
                                                       std::to_string(v.front().version()),
                                                       v.back().created_time()));
}

Response versions(Call& call) {
  json items = json::array();
  for (const auto& m : versions_of(call)) items.push_back(version_resource(call.workspace(), m));
  return json_response(call, 200, arm::list(arm::top(items, call.query_value("$top"))));
}

Response get(Call& call) {
  const int v = version_number(call.param("version"));
  try {
    return json_response(call, 200, version_resource(call.workspace(), Model(call.workspace(), call.param("name"), v)));
  } catch (const WebserviceException& e) {
    throw HttpError(404, "UserError", e.what());
  }
}

Response put(Call& call) {
  const auto body = call.json_body();
  if (!body.is_object() || !body.contains("properties") || !body["properties"].is_object()) {
    throw HttpError(400, "UserError", "properties: is required (an object with modelUri)");
  }
  const auto& p = body["properties"];
  const std::string uri = string_field(p, "modelUri", "", "properties.modelUri");
  if (uri.empty()) throw HttpError(400, "UserError", "properties.modelUri: is required");
  ModelRegistration r;
  r.name = call.param("name");
  r.version = version_number(call.param("version"));
  r.type = string_field(p, "modelType", "custom_model", "properties.modelType");
  r.source_uri = uri;
  if (p.contains("description") && p["description"].is_string()) r.description = p["description"];
  auto strings = [&](const char* key, std::map<std::string, std::string>& out) {
    if (!p.contains(key) || !p[key].is_object()) return;
    for (const auto& [k, v] : p[key].items()) out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  };
  strings("tags", r.tags);
  strings("properties", r.properties);
  if (uri.rfind("azureml://jobs/", 0) == 0) {
    const auto rest = uri.substr(15);
    r.run_id = rest.substr(0, rest.find('/'));
  }
  std::filesystem::path files;
  try {
    files = local_path_of_uri(call.workspace(), uri);
  } catch (const UserErrorException& e) {
    throw HttpError(400, "UserError", std::string("properties.modelUri: ") + e.what());
  }
  try {
    const auto m = Model::register_version(call.workspace(), files, r);
    return json_response(call, 201, version_resource(call.workspace(), m));
  } catch (const WebserviceException& e) {
    const std::string what = e.what();
    throw HttpError(what.rfind("ModelVersionExists", 0) == 0 ? 409 : 400, "UserError", what);
  }
}

}  // namespace

void add_model_routes(Router& r) {
  const std::string base = std::string(kWorkspacePattern) + "/models";
  r.add(http::verb::get, base, containers);
  r.add(http::verb::get, base + "/{name}", container);
  r.add(http::verb::get, base + "/{name}/versions", versions);
  r.add(http::verb::get, base + "/{name}/versions/{version}", get);
  r.add(http::verb::put, base + "/{name}/versions/{version}", put);
}

}  // namespace amlemu::server
