// Online endpoints and deployments from their REST bodies (the ARM shapes of
// `PUT .../onlineEndpoints/<name>` and `.../deployments/<name>`) and back.

#include <algorithm>
#include <map>

#include "amlemu/endpoints.hpp"
#include "amlemu/errors.hpp"
#include "common/clock.hpp"
#include "common/text.hpp"
#include "spec/data_inputs.hpp"
#include "spec/rest_reader.hpp"

namespace amlemu {

using nlohmann::json;
using namespace spec::rest;
using spec::short_asset;

namespace {

// An ISO-8601 duration of the probes and request settings ("PT5S", "PT1M30S", "PT0.5S") in
// milliseconds.
long long duration_ms(const json& v, const std::string& path) {
  if (!v.is_string()) fail(path, "must be an ISO-8601 duration such as PT10S");
  const auto s = v.get<std::string>();
  const auto seconds = iso8601_duration_seconds(s);
  if (!seconds) fail(path, "'" + s + "' must be an ISO-8601 duration such as PT10S");
  return static_cast<long long>(*seconds * 1000 + 0.5);
}

int seconds_of(const json& obj, const std::string& key, const std::string& path, int fallback) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  return static_cast<int>(duration_ms(obj[key], path + "." + key) / 1000);
}

ProbeSettings probe_from_rest(const json& p, const std::string& path) {
  ProbeSettings s;
  s.initial_delay = seconds_of(p, "initialDelay", path, s.initial_delay);
  s.period = std::max(1, seconds_of(p, "period", path, s.period));
  s.timeout = std::max(1, seconds_of(p, "timeout", path, s.timeout));
  if (p.contains("failureThreshold") && p["failureThreshold"].is_number_integer()) {
    s.failure_threshold = std::max(1, p["failureThreshold"].get<int>());
  }
  return s;
}

std::string iso_seconds(long long ms) {
  if (ms % 1000 == 0) return "PT" + std::to_string(ms / 1000) + "S";
  return "PT" + std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + "S";
}

json probe_rest(const ProbeSettings& p) {
  return {{"initialDelay", iso_seconds(p.initial_delay * 1000LL)},
          {"period", iso_seconds(p.period * 1000LL)},
          {"timeout", iso_seconds(p.timeout * 1000LL)},
          {"successThreshold", p.success_threshold},
          {"failureThreshold", p.failure_threshold}};
}

std::string auth_mode_from_rest(const std::string& mode, const std::string& path) {
  const auto m = to_lower(mode);
  if (m.empty() || m == "key") return "key";
  if (m == "amltoken") return "aml_token";
  if (m == "aadtoken") fail(path, "'AADToken' needs Microsoft Entra ID, which amlemu does not have offline; use Key or AMLToken");
  fail(path, "'" + mode + "' is not supported (Key or AMLToken)");
}

std::map<std::string, int> shares_from_rest(const json& p, const std::string& key, const std::string& path) {
  std::map<std::string, int> out;
  for (const auto& [name, v] : object(p, key, path).items()) {
    if (!v.is_number_integer()) fail(path + "." + key + "." + name, "must be an integer percent");
    out[name] = v.get<int>();
  }
  return out;
}

}  // namespace

OnlineEndpoint endpoint_from_rest(const std::string& name, const nlohmann::json& body) {
  if (!body.is_object()) fail("(body)", "must be an object with properties");
  const auto& p = object(body, "properties", "");
  const std::string root = "properties";
  OnlineEndpoint e;
  e.name = name;
  e.auth_mode = auth_mode_from_rest(str(p, "authMode", root), root + ".authMode");
  e.description = str(p, "description", root);
  e.traffic = shares_from_rest(p, "traffic", root);
  e.mirror_traffic = shares_from_rest(p, "mirrorTraffic", root);
  for (const auto& [k, v] : object(body, "tags", "").items()) e.tags[k] = v.is_string() ? v.get<std::string>() : v.dump();
  return e;
}

nlohmann::json endpoint_to_rest(const OnlineEndpoint& e) {
  return {{"authMode", e.auth_mode == "aml_token" ? "AMLToken" : "Key"},
          {"description", e.description.empty() ? json(nullptr) : json(e.description)},
          {"scoringUri", e.scoring_uri},
          {"swaggerUri", e.swagger_uri},
          {"traffic", e.traffic},
          {"mirrorTraffic", e.mirror_traffic},
          {"publicNetworkAccess", "Disabled"},
          {"provisioningState", e.provisioning_state == "NotRunning" ? "Failed" : "Succeeded"},
          {"properties", json::object()}};
}

OnlineDeployment deployment_from_rest(const Workspace& ws, const std::string& endpoint, const std::string& name,
                                      const nlohmann::json& body) {
  if (!body.is_object()) fail("(body)", "must be an object with properties");
  const auto& p = object(body, "properties", "");
  const std::string root = "properties";
  OnlineDeployment d;
  d.endpoint = endpoint;
  d.name = name;
  const auto compute = to_lower(str(p, "endpointComputeType", root));
  if (!compute.empty() && compute != "managed") {
    fail(root + ".endpointComputeType", "'" + str(p, "endpointComputeType", root) + "' is not supported (Managed)");
  }
  const auto model = str(p, "model", root);
  if (model.empty()) fail(root + ".model", "is required (a model version of this workspace)");
  if (const auto a = arm_asset(model, "models"); a && !a->second.empty()) {
    d.model = "azureml:" + a->first + ":" + a->second;
  } else if (short_asset(model)) {
    d.model = model;
  } else {
    fail(root + ".model", "'" + printable(model) + "' is not a model version of this workspace (.../models/<name>/versions/<version>)");
  }
  const auto& cc = object(p, "codeConfiguration", root);
  const auto code_id = str(cc, "codeId", root + ".codeConfiguration");
  if (code_id.empty()) fail(root + ".codeConfiguration.codeId", "is required: amlemu runs a scoring script");
  d.code = code_folder(ws, code_id, root + ".codeConfiguration.codeId");
  d.scoring_script = str(cc, "scoringScript", root + ".codeConfiguration");
  if (d.scoring_script.empty()) fail(root + ".codeConfiguration.scoringScript", "is required");
  d.environment = environment_reference(str(p, "environmentId", root), root + ".environmentId");
  for (const auto& [k, v] : object(p, "environmentVariables", root).items()) {
    if (!v.is_string()) fail(root + ".environmentVariables." + k, "must be a string, got " + kind_of(v));
    d.environment_variables[k] = v.get<std::string>();
  }
  d.instance_type = str(p, "instanceType", root);
  d.description = str(p, "description", root);
  const auto& sku = object(body, "sku", "");
  if (sku.contains("capacity") && sku["capacity"].is_number_integer()) {
    d.instance_count = sku["capacity"].get<int>();
    if (d.instance_count < 1 || d.instance_count > 20) fail("sku.capacity", "must be 1 to 20");
  }
  const auto& rs = object(p, "requestSettings", root);
  if (rs.contains("requestTimeout") && !rs["requestTimeout"].is_null()) {
    d.request_timeout_ms = static_cast<int>(duration_ms(rs["requestTimeout"], root + ".requestSettings.requestTimeout"));
  }
  if (rs.contains("maxConcurrentRequestsPerInstance") && rs["maxConcurrentRequestsPerInstance"].is_number_integer()) {
    d.max_concurrent_requests_per_instance = std::max(1, rs["maxConcurrentRequestsPerInstance"].get<int>());
  }
  d.liveness = probe_from_rest(object(p, "livenessProbe", root), root + ".livenessProbe");
  d.readiness = probe_from_rest(object(p, "readinessProbe", root), root + ".readinessProbe");
  return d;
}

nlohmann::json deployment_to_rest(const Workspace& ws, const OnlineDeployment& d) {
  // A versioned asset reference as its ARM id (what the service answers with); others as given.
  const auto arm_id = [&](const std::string& ref, const std::string& kind) {
    const auto a = short_asset(ref);
    if (!a || a->second.empty()) return ref;
    return ws.get_details().at("id").get<std::string>() + "/" + kind + "/" + a->first + "/versions/" + a->second;
  };
  const auto model = arm_id(d.model.empty() ? d.model_path.string() : d.model, "models");
  const auto environment =
      arm_id(d.environment.is_string() ? d.environment.get<std::string>() : d.environment.dump(), "environments");
  const std::string state = d.provisioning_state.empty() ? "Succeeded" : d.provisioning_state;
  return {{"endpointComputeType", "Managed"},
          {"model", model},
          {"codeConfiguration", {{"codeId", nullptr}, {"scoringScript", d.scoring_script}}},
          {"environmentId", environment},
          {"environmentVariables", d.environment_variables},
          {"instanceType", d.instance_type.empty() ? json(nullptr) : json(d.instance_type)},
          {"description", d.description.empty() ? json(nullptr) : json(d.description)},
          {"requestSettings",
           {{"requestTimeout", iso_seconds(d.request_timeout_ms)},
            {"maxConcurrentRequestsPerInstance", d.max_concurrent_requests_per_instance},
            {"maxQueueWait", "PT0.5S"}}},
          {"livenessProbe", probe_rest(d.liveness)},
          {"readinessProbe", probe_rest(d.readiness)},
          {"scaleSettings", {{"scaleType", "Default"}}},
          {"appInsightsEnabled", false},
          {"egressPublicNetworkAccess", "Disabled"},
          {"provisioningState", state},
          {"properties", json::object()}};
}

}  // namespace amlemu
