// MLflow's REST API, as Azure ML serves it for a workspace: the azureml-mlflow plugin turns the
// workspace's tracking URI (azureml://<host>/mlflow/v1.0/<workspace scope>) into calls to
// https://<host>/mlflow/v2.0/<workspace scope>/api/2.0/mlflow/<operation>. The real MLflow client
// reads run history (experiments, runs, metric histories) and registers model versions here.
//
// Bodies and answers are MLflow's JSON (its protobuf messages); errors too: {"error_code":
// "RESOURCE_DOES_NOT_EXIST", "message": ...} with MLflow's status codes, which the client turns
// into MlflowException. Run history comes from the public API (Run, list_experiments, Model);
// what the store inside runs (amlemu_mlflow) wrote is what is read here.
#include <algorithm>
#include <cmath>
#include <ctime>
#include <tuple>

#include "amlemu/errors.hpp"
#include "amlemu/experiment.hpp"
#include "amlemu/model.hpp"
#include "amlemu/run.hpp"
#include "server/service.hpp"

namespace amlemu::server {

namespace {

using nlohmann::json;

// An MLflow error: the client reads error_code and message.
struct MlflowError : std::runtime_error {
  MlflowError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status(status), code(std::move(code)) {}
  int status;
  std::string code;
};

MlflowError invalid(const std::string& message) {
  return {400, "INVALID_PARAMETER_VALUE", message};
}
MlflowError not_found(const std::string& message) {
  return {404, "RESOURCE_DOES_NOT_EXIST", message};
}

using Handler = Response (*)(Call&);

// Runs `h`, answering MLflow's error shape for what it throws.
template <Handler h>
Response mlflow_call(Call& call) {
  try {
    return h(call);
  } catch (const MlflowError& e) {
    return json_response(call, e.status, {{"error_code", e.code}, {"message", e.what()}});
  } catch (const HttpError& e) {
    return json_response(call, e.status(), {{"error_code", e.status() == 404 ? "RESOURCE_DOES_NOT_EXIST" : "INVALID_PARAMETER_VALUE"}, {"message", e.what()}});
  } catch (const NotFoundException& e) {
    return json_response(call, 404, {{"error_code", "RESOURCE_DOES_NOT_EXIST"}, {"message", e.what()}});
  } catch (const AmlException& e) {
    return json_response(call, 400, {{"error_code", "INVALID_PARAMETER_VALUE"}, {"message", e.what()}});
  }
}

// The request's parameters: the query for GET, the JSON body otherwise.
json arguments(const Call& call) {
  if (call.req.method() == http::verb::get) {
    json out = json::object();
    for (const auto& [k, v] : call.query) out[k] = v;
    return out;
  }
  auto body = call.req.body().empty() ? json::object() : call.json_body();
  if (!body.is_object()) throw invalid("The request body must be a JSON object");
  return body;
}

std::string string_arg(const json& args, const char* name, bool required = true) {
  // Query keys arrive lower-cased; MLflow's names are lower-case already.
  if (!args.contains(name) || args[name].is_null()) {
    if (required) throw invalid(std::string("Missing value for required parameter '") + name + "'.");
    return "";
  }
  if (!args[name].is_string()) throw invalid(std::string("Invalid value for parameter '") + name + "': a string is expected");
  return args[name].get<std::string>();
}

std::int64_t int_arg(const json& args, const char* name, std::int64_t fallback) {
  if (!args.contains(name) || args[name].is_null()) return fallback;
  const auto& v = args[name];
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_string()) {
    try {
      size_t used = 0;
      const auto n = std::stoll(v.get<std::string>(), &used);
      if (used == v.get<std::string>().size()) return n;
    } catch (const std::exception&) {
    }
  }
  throw invalid(std::string("Invalid value for parameter '") + name + "': an integer is expected");
}

// ISO-8601 UTC with milliseconds -> epoch milliseconds (0 for "").
std::int64_t epoch_ms(const std::string& iso) {
  if (iso.size() < 19) return 0;
  std::tm tm{};
  tm.tm_year = std::stoi(iso.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(iso.substr(5, 2)) - 1;
  tm.tm_mday = std::stoi(iso.substr(8, 2));
  tm.tm_hour = std::stoi(iso.substr(11, 2));
  tm.tm_min = std::stoi(iso.substr(14, 2));
  tm.tm_sec = std::stoi(iso.substr(17, 2));
  std::int64_t ms = static_cast<std::int64_t>(timegm(&tm)) * 1000;
  if (iso.size() >= 23 && iso[19] == '.') ms += std::stoi(iso.substr(20, 3));
  return ms;
}

const char* mlflow_status(const std::string& s) {
  if (s == "Completed") return "FINISHED";
  if (s == "Failed") return "FAILED";
  if (s == "Canceled") return "KILLED";
  if (s == "Running" || s == "Finalizing" || s == "CancelRequested") return "RUNNING";
  return "SCHEDULED";
}

// A metric value as MLflow's double: numbers, and the non-finite floats amlemu keeps as strings.
std::optional<json> as_double(const json& v) {
  if (v.is_number()) return v;
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s == "NaN" || s == "Infinity" || s == "-Infinity") return v;
  }
  return std::nullopt;
}

std::string scope_of(const Call& call) {
  return "/subscriptions/" + call.param("subscriptionId") + "/resourceGroups/" +
         call.param("resourceGroupName") + "/providers/Microsoft.MachineLearningServices/workspaces/" +
         call.param("workspaceName");
}

// ------------------------------------------------------------------------------- experiments

json experiment_json(const Call& call, const ExperimentInfo& e) {
  const auto created = epoch_ms(e.created_time);
  return {{"experiment_id", e.id},
          {"name", e.name},
          {"artifact_location", "azureml://" + call.server.base_url().substr(8) + "/mlflow/v1.0" +
                                    scope_of(call) + "/experiments/" + e.name},
          {"lifecycle_stage", "active"},
          {"creation_time", created},
          {"last_update_time", created},
          {"tags", json::array()}};
}

std::optional<ExperimentInfo> find_experiment(const Call& call, const std::string& name,
                                              const std::string& id) {
  for (auto& e : list_experiments(call.workspace())) {
    if ((!name.empty() && e.name == name) || (!id.empty() && e.id == id)) return e;
  }
  return std::nullopt;
}

Response experiment_by_name(Call& call) {
  const auto name = string_arg(arguments(call), "experiment_name");
  const auto e = find_experiment(call, name, "");
  if (!e) throw not_found("Could not find experiment with name '" + name + "'");
  return json_response(call, 200, {{"experiment", experiment_json(call, *e)}});
}

Response experiment_get(Call& call) {
  const auto id = string_arg(arguments(call), "experiment_id");
  const auto e = find_experiment(call, "", id);
  if (!e) throw not_found("No Experiment with id=" + id + " exists");
  return json_response(call, 200, {{"experiment", experiment_json(call, *e)}});
}

Response experiments_search(Call& call) {
  const auto args = arguments(call);
  if (!string_arg(args, "filter", false).empty()) {
    throw invalid("amlemu does not filter experiments: search without 'filter' and select "
                  "from the answer");
  }
  json items = json::array();
  for (const auto& e : list_experiments(call.workspace())) items.push_back(experiment_json(call, e));
  return json_response(call, 200, {{"experiments", items}});
}

// ----------------------------------------------------------------------------------- runs

json run_json(const Call& call, const Run& run) {
  const auto d = run.get_details();
  const auto experiment = find_experiment(call, d["experimentName"].get<std::string>(), "");
  json tags = json::array();
  std::string run_name = run.id(), user;
  for (const auto& [k, v] : d["tags"].items()) {
    const auto value = v.is_string() ? v.get<std::string>() : v.dump();
    tags.push_back({{"key", k}, {"value", value}});
    if (k == "mlflow.runName") run_name = value;
    if (k == "mlflow.user") user = value;
  }
  json params = json::array();
  for (const auto& [k, v] : d["parameters"].items()) params.push_back({{"key", k}, {"value", v}});
  // MLflow's latest value of each numeric metric: the highest step, then the newest, as its
  // own stores keep it.
  json metrics = json::array();
  const auto logged = run.get_metrics();
  for (const auto& [name, _] : logged.items()) {
    std::optional<MetricPoint> latest;
    for (auto& p : run.get_metric_history(name)) {
      if (!as_double(p.value)) continue;
      if (!latest || p.step > latest->step || (p.step == latest->step && p.time >= latest->time)) latest = p;
    }
    if (latest) {
      metrics.push_back({{"key", name}, {"value", latest->value}, {"timestamp", epoch_ms(latest->time)},
                         {"step", latest->step}});
    }
  }
  const auto start = d["startTimeUtc"].is_string() ? d["startTimeUtc"].get<std::string>()
                                                   : d["createdTimeUtc"].get<std::string>();
  json info = {{"run_id", run.id()},
               {"run_uuid", run.id()},
               {"run_name", run_name},
               {"experiment_id", experiment ? experiment->id : ""},
               {"user_id", user},
               {"status", mlflow_status(d["status"].get<std::string>())},
               {"start_time", epoch_ms(start)},
               {"artifact_uri", "azureml://" + call.server.base_url().substr(8) + "/mlflow/v1.0" +
                                    scope_of(call) + "/experiments/" + d["experimentName"].get<std::string>() +
                                    "/runs/" + run.id() + "/artifacts"},
               {"lifecycle_stage", "active"}};
  if (d["endTimeUtc"].is_string()) info["end_time"] = epoch_ms(d["endTimeUtc"].get<std::string>());
  return {{"info", info}, {"data", {{"metrics", metrics}, {"params", params}, {"tags", tags}}}, {"inputs", json::object()}};
}

Run find_run(const Call& call, const std::string& id) {
  try {
    return Run(call.workspace(), id);
  } catch (const NotFoundException&) {
    throw not_found("Run '" + id + "' not found");
  }
}

Response run_get(Call& call) {
  const auto args = arguments(call);
  auto id = string_arg(args, "run_id", false);
  if (id.empty()) id = string_arg(args, "run_uuid");
  return json_response(call, 200, {{"run", run_json(call, find_run(call, id))}});
}

Response runs_search(Call& call) {
  const auto args = arguments(call);
  if (!string_arg(args, "filter", false).empty()) {
    throw invalid("amlemu does not filter runs: search without 'filter' (mlflow.search_runs "
                  "with experiment ids or names only) and select from the answer");
  }
  if (args.contains("order_by") && !args["order_by"].empty()) {
    throw invalid("amlemu does not order runs: they come newest first");
  }
  std::vector<std::string> ids;
  if (args.contains("experiment_ids")) {
    if (!args["experiment_ids"].is_array()) throw invalid("experiment_ids: a list of strings is expected");
    for (const auto& v : args["experiment_ids"]) {
      if (!v.is_string()) throw invalid("experiment_ids: a list of strings is expected");
      ids.push_back(v.get<std::string>());
    }
  }
  const auto max_results = int_arg(args, "max_results", 1000);
  const auto offset = int_arg(args, "page_token", 0);
  if (max_results < 1 || max_results > 50000 || offset < 0) {
    throw invalid("max_results must be 1 to 50000 and page_token a token of an earlier answer");
  }
  json runs = json::array();
  std::int64_t seen = 0;
  bool more = false;
  for (const auto& id : ids) {
    const auto e = find_experiment(call, "", id);
    if (!e) continue;
    for (const auto& run : Experiment(call.workspace(), e->name).get_runs()) {
      if (seen++ < offset) continue;
      if (static_cast<std::int64_t>(runs.size()) == max_results) {
        more = true;
        break;
      }
      runs.push_back(run_json(call, run));
    }
    if (more) break;
  }
  json out = {{"runs", runs}};
  if (more) out["next_page_token"] = std::to_string(offset + max_results);
  return json_response(call, 200, out);
}

Response metric_history(Call& call) {
  const auto args = arguments(call);
  auto id = string_arg(args, "run_id", false);
  if (id.empty()) id = string_arg(args, "run_uuid");
  const auto key = string_arg(args, "metric_key");
  const auto max_results = int_arg(args, "max_results", 1000000);
  const auto offset = int_arg(args, "page_token", 0);
  json metrics = json::array();
  std::int64_t seen = 0;
  bool more = false;
  for (const auto& p : find_run(call, id).get_metric_history(key)) {
    const auto value = as_double(p.value);
    if (!value) continue;
    if (seen++ < offset) continue;
    if (static_cast<std::int64_t>(metrics.size()) == max_results) {
      more = true;
      break;
    }
    metrics.push_back({{"key", key}, {"value", *value}, {"timestamp", epoch_ms(p.time)}, {"step", p.step}});
  }
  json out = {{"metrics", metrics}};
  if (more) out["next_page_token"] = std::to_string(offset + max_results);
  return json_response(call, 200, out);
}

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

// ------------------------------------------------------------------------- run artifacts

// The run-history artifact listing the plugin's artifact repository reads (what
// mlflow.register_model("runs:/...") looks through for the MLmodel file): every file of the run,
// by its path among the run's files (only those under `path` when given); the client groups
// them into folders itself.
Response artifacts_list(Call& call) {
  const auto run = find_run(call, call.param("runId"));
  std::string prefix = call.query_value("path");
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  json items = json::array();
  for (const auto& name : run.get_file_names()) {
    if (!prefix.empty() && name != prefix && name.rfind(prefix + "/", 0) != 0) continue;
    items.push_back({{"artifactId", "ExperimentRun/dcid." + run.id() + "/" + name},
                     {"origin", "ExperimentRun"},
                     {"container", "dcid." + run.id()},
                     {"path", name}});
  }
  return json_response(call, 200, {{"value", items}, {"continuationToken", nullptr}, {"nextLink", nullptr}});
}

}  // namespace

void add_mlflow_routes(Router& r) {
  const std::string ws =
      "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
      "Microsoft.MachineLearningServices/workspaces/{workspaceName}/api/2.0/mlflow";
  for (const std::string& base : {"/mlflow/v2.0" + ws, "/mlflow/v1.0" + ws}) {
    r.add(http::verb::get, base + "/experiments/get-by-name", mlflow_call<experiment_by_name>);
    r.add(http::verb::get, base + "/experiments/get", mlflow_call<experiment_get>);
    r.add(http::verb::post, base + "/experiments/search", mlflow_call<experiments_search>);
    r.add(http::verb::get, base + "/experiments/search", mlflow_call<experiments_search>);
    r.add(http::verb::get, base + "/runs/get", mlflow_call<run_get>);
    r.add(http::verb::post, base + "/runs/search", mlflow_call<runs_search>);
    r.add(http::verb::get, base + "/metrics/get-history", mlflow_call<metric_history>);
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
  r.add(http::verb::get,
        "/history/v1.0/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/experiments/{experiment}/runs/"
        "{runId}/artifacts",
        artifacts_list);
}

}  // namespace amlemu::server
