// Jobs: command and sweep jobs created from the REST body (one mapping, command_job_from_rest in spec/)
// and submitted as runs, read back as the service shapes them (status, services, the default
// output in run history), listed and cancelled. Runs made by the CLI or the C++ API read back as
// command jobs too.
#include "amlemu/errors.hpp"
#include "amlemu/experiment.hpp"
#include "amlemu/job_yaml.hpp"
#include "amlemu/run.hpp"
#include "server/arm.hpp"
#include "server/service.hpp"
#include "server/state.hpp"

namespace amlemu::server {

namespace {

using nlohmann::json;

constexpr int kPage = 100;

std::string as_string(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// The job a v1-style run stands for, when no REST definition was recorded.
json definition_of_v1(const json& details) {
  const auto& rd = details.value("runDefinition", json::object());
  std::string command = rd.value("command", std::string());
  if (command.empty()) {
    command = "python " + rd.value("script", std::string());
    for (const auto& a : rd.value("arguments", json::array())) command += " " + as_string(a);
  }
  return {{"jobType", "Command"}, {"command", command},
          {"environmentId", nullptr}, {"inputs", json::object()}, {"outputs", json::object()}};
}

json job_resource(const ServerState& server, const Workspace& ws, const Run& run) {
  const auto details = run.get_details();
  auto p = run.get_job_definition();
  if (!p.is_object()) p = definition_of_v1(details);
  const auto& id = run.id();
  p["status"] = details.value("status", "Unknown");
  p["experimentName"] = details.value("experimentName", "");
  const auto& rp = details.value("properties", json::object());
  if (!p.contains("displayName") || p["displayName"].is_null()) {
    p["displayName"] = rp.contains("displayName") ? rp["displayName"] : json(id);
  }
  json props = json::object();
  for (const auto& [k, v] : rp.items()) props[k] = as_string(v);
  props["_azureml.ComputeTargetType"] = details.value("target", "local") == "local" ? "local" : "amlctrain";
  props["_azureml.ClusterName"] = details.value("target", "local");
  if (details.contains("error")) {
    // The SDK's Job has no error field: the error is in its properties (and in run history,
    // which jobs.stream raises it from).
    const auto& e = details["error"].value("error", json::object());
    props["amlemu.error.code"] = e.value("code", "");
    props["amlemu.error.message"] = e.value("message", "");
  }
  p["properties"] = props;
  p["tags"] = details.value("tags", json::object());
  const auto target = details.value("target", std::string("local"));
  p["computeId"] = target == "local" ? json(nullptr) : json(arm::id(ws, "computes/" + target));
  p["isArchived"] = false;
  p["parentJobName"] = nullptr;
  if (!p.contains("outputs") || !p["outputs"].is_object()) p["outputs"] = json::object();
  p["outputs"]["default"] = {{"jobOutputType", "uri_folder"},
                             {"mode", "ReadWriteMount"},
                             {"uri", "azureml://datastores/workspaceartifactstore/ExperimentRun/dcid." + id},
                             {"description", nullptr},
                             {"assetName", nullptr}};
  p["services"] = {{"Tracking",
                    {{"jobServiceType", "Tracking"},
                     {"endpoint", "azureml://127.0.0.1:" + std::to_string(server.port()) +
                                      "/mlflow/v1.0" + arm::workspace_id(ws) + "?"},
                     {"port", nullptr},
                     {"status", nullptr},
                     {"errorMessage", nullptr},
                     {"properties", nullptr},
                     {"nodes", nullptr}}}};
  return {{"id", arm::id(ws, "jobs/" + id)},
          {"name", id},
          {"type", "Microsoft.MachineLearningServices/workspaces/jobs"},
          {"properties", p},
          {"systemData",
           {{"createdAt", details.value("createdTimeUtc", "")},
            {"createdBy", "amlemu"},
            {"createdByType", "Application"}}}};
}

Run find(const Call& call) {
  try {
    return Run(call.workspace(), call.param("name"));
  } catch (const NotFoundException&) {
    throw HttpError(404, "UserError", "Job " + call.param("name") + " not found in workspace " +
                                          call.workspace().name());
  }
}

Response get(Call& call) {
  return json_response(call, 200, job_resource(call.server, call.workspace(), find(call)));
}

Response list(Call& call) {
  int skip = 0;
  const auto token = call.query_value("$skiptoken");
  if (!token.empty()) {
    try {
      skip = std::stoi(token);
    } catch (const std::exception&) {
      throw HttpError(400, "UserError", "$skipToken: '" + token + "' is not one amlemu issued");
    }
  }
  const auto runs = list_runs(call.workspace(), skip + kPage + 1);
  json items = json::array();
  for (size_t i = static_cast<size_t>(skip); i < runs.size() && i < static_cast<size_t>(skip + kPage); ++i) {
    items.push_back(job_resource(call.server, call.workspace(), runs[i]));
  }
  json body = arm::list(items);
  if (runs.size() > static_cast<size_t>(skip + kPage)) {
    body["nextLink"] = call.server.base_url() + arm::id(call.workspace(), "jobs") +
                       "?api-version=" + call.query_value("api-version", "2024-01-01-preview") +
                       "&$skipToken=" + std::to_string(skip + kPage);
  }
  return json_response(call, 200, body);
}

Response create(Call& call) {
  const auto& ws = call.workspace();
  const auto& name = call.param("name");
  try {
    Run existing(ws, name);
    throw HttpError(409, "UserError", "Job " + name + " already exists; amlemu does not update jobs "
                                      "(submit it under a new name)");
  } catch (const NotFoundException&) {
  }
  const auto body = call.json_body();
  Run run = [&] {
    try {
      const auto job = command_job_from_rest(ws, name, body);
      const Experiment experiment(ws, job.spec.experiment_name);
      if (!job.sweep.is_null()) return experiment.submit_sweep(resolve_command_job(ws, job), job.sweep);
      return experiment.submit(resolve_command_job(ws, job));
    } catch (const HttpError&) {
      throw;
    } catch (const UserErrorException& e) {
      throw HttpError(400, "UserError", e.what());  // a bad job is the request's problem
    }
  }();
  auto res = json_response(call, 201, job_resource(call.server, ws, run));
  res.set(http::field::location, call.server.base_url() + arm::id(ws, "jobs/" + name) +
                                     "?api-version=" + call.query_value("api-version", "2025-01-01-preview"));
  return res;
}

Response cancel(Call& call) {
  find(call).cancel();
  // 200 with no body: the SDK's poller is done at once.
  return Response{http::status::ok, call.req.version()};
}

}  // namespace

void add_job_routes(Router& r) {
  const std::string base = std::string(kWorkspacePattern) + "/jobs";
  r.add(http::verb::get, base, list);
  r.add(http::verb::get, base + "/{name}", get);
  r.add(http::verb::put, base + "/{name}", create);
  r.add(http::verb::post, base + "/{name}/cancel", cancel);
}

}  // namespace amlemu::server
