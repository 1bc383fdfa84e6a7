// Run history's data plane (the discovery document's `api` base): run details, which jobs.stream
// polls, run data, which jobs.download reads, and a run's children.
#include "amlemu/blob.hpp"
#include "amlemu/errors.hpp"
#include "amlemu/run.hpp"
#include "server/service.hpp"
#include "server/state.hpp"
#include "server/storage_auth.hpp"

namespace amlemu::server {

namespace {

using nlohmann::json;

constexpr const char* kScope =
    "/history/v1.0/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
    "Microsoft.MachineLearningServices/workspaces/{workspaceName}";

Run find(const Call& call, const std::string& id) {
  try {
    return Run(call.workspace(), id);
  } catch (const NotFoundException&) {
    throw HttpError(404, "UserError", "Run " + id + " not found in workspace " + call.workspace().name());
  }
}

// RunDetails: what the service keeps of a run, with its log files as URLs a client can read
// (path-style on this server, signed for reading that one blob).
json details_of(const Call& call, const Run& run) {
  auto d = run.get_details();
  const auto& ws = call.workspace();
  const auto account = storage_account_name(ws);
  json logs = json::object();
  const auto blobs = BlobContainer::open(ws, "azureml")->list("ExperimentRun/dcid." + run.id() + "/", "", "", 0, false);
  const auto expiry = ServerState::now_s() + 3600;
  for (const auto& b : blobs.blobs) {
    const auto name = b.name.substr(b.name.find('/', 14) + 1);  // after ExperimentRun/dcid.<id>/
    if (name.rfind("azureml-logs/", 0) != 0 && name.rfind("user_logs/", 0) != 0 &&
        name.rfind("logs/", 0) != 0) {
      continue;
    }
    logs[name] = call.server.base_url() + "/" + account + "/azureml/" + percent_encode(b.name, true) + "?" +
                 blob_sas(call.server.authority(), account, "azureml", b.name, "r", expiry);
  }
  json warnings = nullptr;
  if (d.contains("warnings")) {
    warnings = json::array();
    for (const auto& w : d["warnings"]) {
      warnings.push_back({{"source", "amlemu"}, {"message", w.is_string() ? w.get<std::string>() : w.dump()}});
    }
  }
  const auto target = d.value("target", std::string("local"));
  return {{"runId", run.id()},
          {"rootRunId", run.id()},
          {"parentRunId", nullptr},
          {"experimentName", d["experimentName"]},
          {"status", d["status"]},
          {"target", target},
          {"createdTimeUtc", d["createdTimeUtc"]},
          {"startTimeUtc", d["startTimeUtc"]},
          {"endTimeUtc", d["endTimeUtc"]},
          {"error", d.contains("error") ? d["error"] : json(nullptr)},
          {"warnings", warnings},
          {"tags", d["tags"]},
          {"properties", d["properties"]},
          {"parameters", json::object()},
          {"services", json::object()},
          {"inputDatasets", json::array()},
          {"outputDatasets", json::array()},
          {"runDefinition", d["runDefinition"]},
          {"logFiles", logs},
          {"statusHistory", d["statusHistory"]},
          {"runTypeV2", {{"orchestrator", nullptr}, {"traits", json::array()}, {"computeType", target == "local" ? "Local" : "AmlcTrain"}}},
          {"revision", d["statusHistory"].size()}};
}

Response details(Call& call) { return json_response(call, 200, details_of(call, find(call, call.param("runId")))); }

Response run_data(Call& call) {
  const auto body = call.json_body();
  if (!body.is_object() || !body.contains("runId") || !body["runId"].is_string()) {
    throw HttpError(400, "UserError", "runId: is required (a string)");
  }
  const auto run = find(call, body["runId"].get<std::string>());
  auto meta = details_of(call, run);
  meta["outputs"] = json::object();
  return json_response(call, 200, {{"runMetadata", meta},
                                   {"runDefinition", meta["runDefinition"]},
                                   {"jobSpecification", run.get_job_definition()}});
}

Response children(Call& call) {
  json items = json::array();
  for (const auto& c : find(call, call.param("runId")).get_children()) items.push_back(details_of(call, c));
  return json_response(call, 200, {{"value", items}});
}

// Metrics (the run-history metric service, v2.0): a run's metric names, and each one's values.
// Values come from Run::get_metrics (the SDK's shape), one entry per logged value.
json values_of(const json& v) { return v.is_array() ? v : json::array({v}); }

std::string column_type(const json& values) {
  for (const auto& x : values) {
    if (!x.is_number()) return x.is_boolean() ? "Bool" : "String";
  }
  return "Double";
}

Response metric_list(Call& call) {
  const auto metrics = find(call, call.param("runId")).get_metrics();
  json items = json::array();
  for (const auto& [name, v] : metrics.items()) {
    items.push_back({{"metricKey", {{"namespace", nullptr}, {"name", name}, {"labels", json::array()},
                                    {"columnNames", {name}}}},
                     {"columns", {{name, column_type(values_of(v))}}},
                     {"properties", {{"uxMetricType", "azureml.v1.scalar"}}}});
  }
  return json_response(call, 200, {{"value", items}});
}

Response metric_full(Call& call) {
  const auto body = call.req.body().empty() ? json::object() : call.json_body();
  const std::string name = body.is_object() && body.contains("metricName") && body["metricName"].is_string()
                               ? body["metricName"].get<std::string>()
                               : call.query_value("metricname");
  if (name.empty()) throw HttpError(400, "UserError", "metricName: is required");
  const auto run = find(call, call.param("runId"));
  const auto metrics = run.get_metrics(name);
  if (!metrics.contains(name)) throw HttpError(404, "UserError", "Run " + run.id() + " has no metric " + name);
  const auto values = values_of(metrics[name]);
  json out = json::array();
  std::int64_t step = 0;
  for (const auto& v : values) {
    out.push_back({{"metricId", run.id() + "/" + name + "/" + std::to_string(step)},
                   {"createdUtc", nullptr},
                   {"step", step},
                   {"data", {{name, v}}}});
    ++step;
  }
  return json_response(call, 200, {{"name", name},
                                   {"dataContainerId", "dcid." + run.id()},
                                   {"columns", {{name, column_type(values)}}},
                                   {"value", out}});
}

}  // namespace

void add_history_routes(Router& r) {
  const std::string metrics =
      "/metric/v2.0/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
      "Microsoft.MachineLearningServices/workspaces/{workspaceName}/runs/{runId}";
  r.add(http::verb::post, metrics + "/list", metric_list);
  r.add(http::verb::get, metrics + "/list", metric_list);
  r.add(http::verb::post, metrics + "/full", metric_full);
  const std::string scope = kScope;
  r.add(http::verb::get, scope + "/runs/{runId}/details", details);
  r.add(http::verb::get, scope + "/runs/{runId}", details);
  r.add(http::verb::get, scope + "/experiments/{experiment}/runs/{runId}/details", details);
  r.add(http::verb::get, scope + "/experiments/{experiment}/runs/{runId}", details);
  r.add(http::verb::get, scope + "/runs/{runId}/children", children);
  r.add(http::verb::post, scope + "/rundata", run_data);
}

}  // namespace amlemu::server
