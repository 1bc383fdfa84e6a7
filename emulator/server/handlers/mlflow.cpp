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
#include "server/handlers/mlflow_common.hpp"
#include "server/service.hpp"

namespace amlemu::server {

using namespace mlflow;
using nlohmann::json;

json mlflow::arguments(const Call& call) {
  if (call.req.method() == http::verb::get) {
    json out = json::object();
    for (const auto& [k, v] : call.query) out[k] = v;
    return out;
  }
  auto body = call.req.body().empty() ? json::object() : call.json_body();
  if (!body.is_object()) throw invalid("The request body must be a JSON object");
  return body;
}

std::string mlflow::string_arg(const json& args, const char* name, bool required) {
  // Query keys arrive lower-cased; MLflow's names are lower-case already.
  if (!args.contains(name) || args[name].is_null()) {
    if (required) throw invalid(std::string("Missing value for required parameter '") + name + "'.");
    return "";
  }
  if (!args[name].is_string()) throw invalid(std::string("Invalid value for parameter '") + name + "': a string is expected");
  return args[name].get<std::string>();
}

std::int64_t mlflow::int_arg(const json& args, const char* name, std::int64_t fallback) {
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

std::int64_t mlflow::epoch_ms(const std::string& iso) {
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

std::string mlflow::scope_of(const Call& call) {
  return "/subscriptions/" + call.param("subscriptionId") + "/resourceGroups/" +
         call.param("resourceGroupName") + "/providers/Microsoft.MachineLearningServices/workspaces/" +
         call.param("workspaceName");
}

std::optional<ExperimentInfo> mlflow::find_experiment(const Call& call, const std::string& name,
                                              const std::string& id) {
  for (auto& e : list_experiments(call.workspace())) {
    if ((!name.empty() && e.name == name) || (!id.empty() && e.id == id)) return e;
  }
  return std::nullopt;
}

Run mlflow::find_run(const Call& call, const std::string& id) {
  try {
    return Run(call.workspace(), id);
  } catch (const NotFoundException&) {
    throw not_found("Run '" + id + "' not found");
  }
}

namespace {

using nlohmann::json;

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
    add_model_routes(r, base);
  }
  r.add(http::verb::get,
        "/history/v1.0/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/experiments/{experiment}/runs/"
        "{runId}/artifacts",
        artifacts_list);
}

}  // namespace amlemu::server
