// MLflow's logged models and model registry, as Azure ML serves them: MLflow's client registers
// model versions here (mlflow.register_model, log_model(registered_model_name=...)); a version is
// a registered model of the workspace.
#include <algorithm>

#include "amlemu/model.hpp"
#include "server/handlers/mlflow_common.hpp"

namespace amlemu::server::mlflow {

namespace {

using nlohmann::json;

// --------------------------------------------------------------------------- logged models

json logged_model_json(const Call& call, const LoggedModelInfo& m) {
  const auto experiment = find_experiment(call, m.experiment_name, "");
  json tags = json::array(), params = json::array();
  for (const auto& [k, v] : m.tags) tags.push_back({{"key", k}, {"value", v}});
  for (const auto& [k, v] : m.params) params.push_back({{"key", k}, {"value", v}});
  const char* status = m.status == "READY"     ? "LOGGED_MODEL_READY"
                       : m.status == "PENDING" ? "LOGGED_MODEL_PENDING"
                                               : "LOGGED_MODEL_UPLOAD_FAILED";
  json info = {{"model_id", m.model_id},
               {"experiment_id", experiment ? experiment->id : ""},
               {"name", m.name},
               {"creation_timestamp_ms", m.created_ms},
               {"last_updated_timestamp_ms", m.updated_ms},
               {"artifact_uri", "azureml://" + call.server.base_url().substr(8) + "/mlflow/v1.0" +
                                    scope_of(call) + "/experiments/" + m.experiment_name + "/runs/" +
                                    m.run_id + "/artifacts/" + m.artifact_path},
               {"status", status},
               {"source_run_id", m.run_id},
               {"tags", tags}};
  if (!m.model_type.empty()) info["model_type"] = m.model_type;
  return {{"info", info}, {"data", {{"params", params}, {"metrics", json::array()}}}};
}

std::optional<LoggedModelInfo> find_logged_model(const Call& call, const std::string& id) {
  for (auto& m : list_logged_models(call.workspace())) {
    if (m.model_id == id) return m;
  }
  return std::nullopt;
}

Response logged_model_get(Call& call) {
  const auto m = find_logged_model(call, call.param("modelId"));
  if (!m) throw not_found("Logged model with ID '" + call.param("modelId") + "' not found.");
  return json_response(call, 200, {{"model", logged_model_json(call, *m)}});
}

Response logged_model_tags(Call& call) {
  const auto args = arguments(call);
  std::map<std::string, std::string> tags;
  if (!args.contains("tags") || !args["tags"].is_array()) throw invalid("tags: [{key, value}] is expected");
  for (const auto& t : args["tags"]) {
    if (!t.is_object() || !t.contains("key") || !t["key"].is_string()) throw invalid("tags: [{key, value}] is expected");
    tags[t["key"].get<std::string>()] = t.contains("value") && t["value"].is_string() ? t["value"].get<std::string>() : "";
  }
  set_logged_model_tags(call.workspace(), call.param("modelId"), tags);
  return json_response(call, 200, json::object());
}

// The filter MLflow's own client sends (register_model of runs:/<run>/<name>): name = '<name>'.
std::optional<std::string> name_filter(const std::string& filter, const char* what) {
  if (filter.empty()) return std::nullopt;
  const auto eq = filter.find('=');
  auto key = filter.substr(0, eq == std::string::npos ? 0 : eq);
  auto value = eq == std::string::npos ? std::string() : filter.substr(eq + 1);
  const auto trim = [](std::string& v) {
    v.erase(0, v.find_first_not_of(' '));
    v.erase(v.find_last_not_of(' ') + 1);
  };
  trim(key);
  trim(value);
  if (key != "name" || value.size() < 2 || (value.front() != '\'' && value.front() != '"') ||
      value.back() != value.front()) {
    throw invalid(std::string("amlemu filters ") + what + " by name = '<name>' only, not '" + filter + "'");
  }
  return value.substr(1, value.size() - 2);
}

Response logged_models_search(Call& call) {
  const auto args = arguments(call);
  const auto name = name_filter(string_arg(args, "filter", false), "logged models");
  std::vector<std::string> ids;
  if (args.contains("experiment_ids") && args["experiment_ids"].is_array()) {
    for (const auto& v : args["experiment_ids"]) {
      if (v.is_string()) ids.push_back(v.get<std::string>());
    }
  }
  json items = json::array();
  for (const auto& m : list_logged_models(call.workspace())) {
    if (name && m.name != *name) continue;
    const auto e = find_experiment(call, m.experiment_name, "");
    if (!ids.empty() && (!e || std::find(ids.begin(), ids.end(), e->id) == ids.end())) continue;
    items.push_back(logged_model_json(call, m));
  }
  return json_response(call, 200, {{"models", items}});
}

// ----------------------------------------------------------------------------- the registry

json version_json(const Model& m) {
  const auto created = epoch_ms(m.created_time());
  json tags = json::array();
  for (const auto& [k, v] : m.tags()) tags.push_back({{"key", k}, {"value", v}});
  return {{"name", m.name()},
          {"version", std::to_string(m.version())},
          {"creation_timestamp", created},
          {"last_updated_timestamp", created},
          {"description", m.description()},
          {"current_stage", "None"},
          {"source", m.source_uri()},
          {"run_id", m.run_id()},
          {"status", "READY"},
          {"tags", tags}};
}

json registered_json(const std::vector<Model>& versions) {
  const auto& latest = *std::max_element(versions.begin(), versions.end(),
                                          [](const Model& a, const Model& b) { return a.version() < b.version(); });
  std::int64_t first = epoch_ms(latest.created_time());
  for (const auto& v : versions) first = std::min(first, epoch_ms(v.created_time()));
  return {{"name", latest.name()},
          {"creation_timestamp", first},
          {"last_updated_timestamp", epoch_ms(latest.created_time())},
          {"latest_versions", json::array({version_json(latest)})},
          {"tags", json::array()}};
}

std::vector<Model> versions_of(const Call& call, const std::string& name) {
  auto v = Model::list(call.workspace(), name);
  if (v.empty()) throw not_found("Registered Model with name=" + name + " not found");
  return v;
}

// A registered model exists through its versions: creating one only checks the name (MLflow's
// client creates it before each first version).
Response registered_create(Call& call) {
  const auto name = string_arg(arguments(call), "name");
  Model::validate_name(name);
  if (!Model::list(call.workspace(), name).empty()) {
    throw MlflowError(400, "RESOURCE_ALREADY_EXISTS", "Registered Model (name=" + name + ") already exists.");
  }
  const std::int64_t now = static_cast<std::int64_t>(ServerState::now_s()) * 1000;
  return json_response(call, 200, {{"registered_model", {{"name", name}, {"creation_timestamp", now},
                                                         {"last_updated_timestamp", now}}}});
}

Response registered_get(Call& call) {
  const auto name = string_arg(arguments(call), "name");
  return json_response(call, 200, {{"registered_model", registered_json(versions_of(call, name))}});
}

Response latest_versions(Call& call) {
  const auto name = string_arg(arguments(call), "name");
  return json_response(call, 200, {{"model_versions", registered_json(versions_of(call, name))["latest_versions"]}});
}

// The run and the path inside its files that a version's source names: runs:/<run>/<path>, or
// the artifact URI this server gives a run (.../runs/<run>/artifacts/<path>).
std::pair<std::string, std::string> run_files_of(const std::string& source) {
  if (source.rfind("runs:/", 0) == 0) {
    const auto rest = source.substr(6);
    const auto slash = rest.find('/');
    if (slash != std::string::npos && slash > 0 && slash + 1 < rest.size()) {
      return {rest.substr(0, slash), rest.substr(slash + 1)};
    }
  } else if (source.rfind("azureml://", 0) == 0) {
    const auto runs = source.find("/runs/");
    const auto artifacts = runs == std::string::npos ? runs : source.find("/artifacts/", runs + 6);
    if (artifacts != std::string::npos && artifacts + 11 < source.size()) {
      return {source.substr(runs + 6, artifacts - runs - 6), source.substr(artifacts + 11)};
    }
  }
  throw invalid("source '" + source + "': amlemu registers MLflow models from a run's files: "
                "runs:/<run id>/<path>, or the run's artifact URI followed by the path");
}

Response version_create(Call& call) {
  const auto args = arguments(call);
  ModelRegistration r;
  r.name = string_arg(args, "name");
  r.type = "mlflow_model";
  r.source_uri = string_arg(args, "source");
  r.description = string_arg(args, "description", false);
  if (args.contains("tags") && args["tags"].is_array()) {
    for (const auto& t : args["tags"]) {
      if (!t.is_object() || !t.contains("key") || !t["key"].is_string()) throw invalid("tags: [{key, value}] is expected");
      r.tags[t["key"].get<std::string>()] = t.contains("value") && t["value"].is_string() ? t["value"].get<std::string>() : "";
    }
  }
  std::string run_id, path;
  if (r.source_uri.rfind("models:/m-", 0) == 0) {
    const auto id = r.source_uri.substr(8, r.source_uri.find('/', 8) == std::string::npos
                                               ? std::string::npos : r.source_uri.find('/', 8) - 8);
    const auto m = find_logged_model(call, id);
    if (!m) throw not_found("Logged model with ID '" + id + "' not found.");
    run_id = m->run_id;
    path = m->artifact_path;
  } else {
    std::tie(run_id, path) = run_files_of(r.source_uri);
  }
  const auto named_run = string_arg(args, "run_id", false);
  if (!named_run.empty() && named_run != run_id) {
    throw invalid("run_id '" + named_run + "' is not the run of source '" + r.source_uri + "'");
  }
  try {
    const auto m = find_run(call, run_id).register_model(path, r);
    return json_response(call, 200, {{"model_version", version_json(m)}});
  } catch (const ModelPathNotFoundException& e) {
    throw not_found(e.what());
  }
}

Response version_get(Call& call) {
  const auto args = arguments(call);
  const auto name = string_arg(args, "name");
  const auto version = int_arg(args, "version", 0);
  for (const auto& m : versions_of(call, name)) {
    if (m.version() == version) return json_response(call, 200, {{"model_version", version_json(m)}});
  }
  throw not_found("Model Version (name=" + name + ", version=" + std::to_string(version) + ") not found");
}

Response versions_search(Call& call) {
  const auto args = arguments(call);
  const auto name = name_filter(string_arg(args, "filter", false), "model versions");
  json items = json::array();
  for (const auto& m : Model::list(call.workspace(), name)) items.push_back(version_json(m));
  return json_response(call, 200, {{"model_versions", items}});
}

}  // namespace

void add_model_routes(Router& r, const std::string& base) {
  r.add(http::verb::post, base + "/registered-models/create", mlflow_call<registered_create>);
  r.add(http::verb::get, base + "/registered-models/get", mlflow_call<registered_get>);
  r.add(http::verb::post, base + "/registered-models/get-latest-versions", mlflow_call<latest_versions>);
  r.add(http::verb::get, base + "/registered-models/get-latest-versions", mlflow_call<latest_versions>);
  r.add(http::verb::post, base + "/model-versions/create", mlflow_call<version_create>);
  r.add(http::verb::get, base + "/model-versions/get", mlflow_call<version_get>);
  r.add(http::verb::get, base + "/model-versions/search", mlflow_call<versions_search>);
  r.add(http::verb::post, base + "/logged-models/search", mlflow_call<logged_models_search>);
  r.add(http::verb::get, base + "/logged-models/{modelId}", mlflow_call<logged_model_get>);
  r.add(http::verb::patch, base + "/logged-models/{modelId}/tags", mlflow_call<logged_model_tags>);
}

}  // namespace amlemu::server::mlflow
