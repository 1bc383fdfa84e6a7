// Online endpoint and deployment YAML files (managedOnlineEndpoint.schema.json,
// managedOnlineDeployment.schema.json), read as `az ml online-endpoint|online-deployment create
// --file` reads them.
#include "amlemu/endpoints.hpp"
#include "amlemu/errors.hpp"
#include "spec/yaml_reader.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;
using spec::Reader;

namespace {

int integer(const Reader& r, const YAML::Node& n, const std::string& key, int low, int high) {
  if (!n.IsScalar()) r.fail(n, key, "must be an integer, got " + Reader::kind(n));
  try {
    size_t used = 0;
    const auto text = n.as<std::string>();
    const long v = std::stol(text, &used);
    if (used != text.size() || v < low || v > high) throw std::out_of_range(text);
    return static_cast<int>(v);
  } catch (const std::exception&) {
    r.fail(n, key, "must be an integer from " + std::to_string(low) + " to " + std::to_string(high) +
                       ", got '" + n.as<std::string>() + "'");
  }
}

std::map<std::string, int> shares(const Reader& r, const YAML::Node& n, const std::string& key) {
  std::map<std::string, int> out;
  if (!n) return out;
  if (!n.IsMap()) r.fail(n, key, "must be a mapping of deployment name to percent");
  for (const auto& kv : n) {
    const auto name = r.key(kv.first, key);
    out[name] = integer(r, kv.second, key + "." + name, 0, 100);
  }
  return out;
}

ProbeSettings probe(const Reader& r, const YAML::Node& n, const std::string& key) {
  ProbeSettings p;
  if (!n) return p;
  if (!n.IsMap()) r.fail(n, key, "must be a mapping");
  std::vector<std::string> ignored;
  r.keys(n, key, {"initial_delay", "period", "timeout", "success_threshold", "failure_threshold"}, {}, ignored);
  if (n["initial_delay"]) p.initial_delay = integer(r, n["initial_delay"], key + ".initial_delay", 0, 3600);
  if (n["period"]) p.period = integer(r, n["period"], key + ".period", 1, 3600);
  if (n["timeout"]) p.timeout = integer(r, n["timeout"], key + ".timeout", 1, 3600);
  if (n["success_threshold"]) p.success_threshold = integer(r, n["success_threshold"], key + ".success_threshold", 1, 1);
  if (n["failure_threshold"]) p.failure_threshold = integer(r, n["failure_threshold"], key + ".failure_threshold", 1, 1000);
  return p;
}

}  // namespace

OnlineEndpoint load_endpoint_yaml(const stdfs::path& file) {
  const auto root = spec::load_yaml_file(file.string(), "endpoint");
  Reader r(file.string());
  if (!root.IsMap()) r.fail(root, "(document)", "must be a mapping");
  OnlineEndpoint e;
  r.keys(root, "", {"$schema", "name", "auth_mode", "description", "tags", "traffic", "mirror_traffic"},
         {"identity", "public_network_access", "kind", "location"}, e.warnings);
  if (!root["name"]) r.fail(root, "name", "is required");
  e.name = r.str(root["name"], "name");
  if (root["auth_mode"]) {
    e.auth_mode = r.str(root["auth_mode"], "auth_mode");
    if (e.auth_mode == "aad_token") {
      r.fail(root["auth_mode"], "auth_mode", "'aad_token' needs Microsoft Entra ID, which amlemu does not have offline; use key or aml_token");
    }
    if (e.auth_mode != "key" && e.auth_mode != "aml_token") {
      r.fail(root["auth_mode"], "auth_mode", "'" + e.auth_mode + "' is not supported (key or aml_token)");
    }
  }
  if (root["description"]) e.description = r.str(root["description"], "description");
  if (root["tags"]) {
    if (!root["tags"].IsMap()) r.fail(root["tags"], "tags", "must be a mapping");
    for (const auto& kv : root["tags"]) e.tags[r.key(kv.first, "tags")] = kv.second.as<std::string>();
  }
  e.traffic = shares(r, root["traffic"], "traffic");
  e.mirror_traffic = shares(r, root["mirror_traffic"], "mirror_traffic");
  return e;
}

OnlineDeployment load_deployment_yaml(const stdfs::path& file) {
  const auto root = spec::load_yaml_file(file.string(), "deployment");
  Reader r(file.string());
  if (!root.IsMap()) r.fail(root, "(document)", "must be a mapping");
  const auto base = stdfs::absolute(file).parent_path();
  OnlineDeployment d;
  r.keys(root, "",
         {"$schema", "name", "endpoint_name", "model", "code_configuration", "environment",
          "instance_type", "instance_count", "request_settings", "liveness_probe", "readiness_probe",
          "environment_variables", "description", "tags"},
         {"app_insights_enabled", "scale_settings", "egress_public_network_access", "data_collector",
          "properties", "type", "model_mount_path"},
         d.warnings);
  if (!root["name"]) r.fail(root, "name", "is required");
  d.name = r.str(root["name"], "name");
  if (!root["endpoint_name"]) r.fail(root, "endpoint_name", "is required");
  d.endpoint = r.str(root["endpoint_name"], "endpoint_name");
  if (!root["model"]) r.fail(root, "model", "is required (azureml:<name>:<version> or a mapping with path)");
  const auto& model = root["model"];
  if (model.IsScalar()) {
    d.model = model.as<std::string>();
    if (d.model.rfind("azureml:", 0) != 0) {
      r.fail(model, "model", "'" + d.model + "' must be azureml:<name>:<version>, azureml:<name>@latest, or a mapping with path");
    }
  } else if (model.IsMap()) {
    std::vector<std::string> ignored;
    r.keys(model, "model", {"path", "name", "version", "type", "description"}, {}, ignored);
    if (!model["path"]) r.fail(model, "model.path", "is required");
    d.model_path = (base / r.str(model["path"], "model.path")).lexically_normal();
    std::error_code ec;
    if (!stdfs::exists(d.model_path, ec)) {
      r.fail(model["path"], "model.path", "'" + model["path"].as<std::string>() + "' does not exist (relative to " + base.string() + ")");
    }
  } else {
    r.fail(model, "model", "must be azureml:<name>:<version> or a mapping with path");
  }
  if (!root["code_configuration"]) {
    r.fail(root, "code_configuration", "is required (code and scoring_script): amlemu runs a scoring script; "
                                       "MLflow models without one are not supported");
  }
  const auto& cc = root["code_configuration"];
  if (!cc.IsMap()) r.fail(cc, "code_configuration", "must be a mapping with code and scoring_script");
  std::vector<std::string> ignored;
  r.keys(cc, "code_configuration", {"code", "scoring_script"}, {}, ignored);
  if (!cc["code"]) r.fail(cc, "code_configuration.code", "is required");
  if (!cc["scoring_script"]) r.fail(cc, "code_configuration.scoring_script", "is required");
  d.code = (base / r.str(cc["code"], "code_configuration.code")).lexically_normal();
  d.scoring_script = r.str(cc["scoring_script"], "code_configuration.scoring_script");
  std::error_code ec;
  if (!stdfs::is_directory(d.code, ec)) {
    r.fail(cc["code"], "code_configuration.code", "'" + cc["code"].as<std::string>() + "' is not a folder (relative to " + base.string() + ")");
  }
  if (!stdfs::is_regular_file(d.code / d.scoring_script, ec)) {
    r.fail(cc["scoring_script"], "code_configuration.scoring_script", "'" + d.scoring_script + "' is not a file in " + d.code.string());
  }
  if (!root["environment"]) r.fail(root, "environment", "is required");
  d.environment = spec::environment_node(r, root["environment"], base, d.warnings);
  if (root["instance_type"]) {
    d.instance_type = r.str(root["instance_type"], "instance_type");
    d.warnings.push_back("instance_type " + d.instance_type + ": each instance is a process of this machine, "
                         "with no CPU or memory share of its own");
  }
  if (root["instance_count"]) d.instance_count = integer(r, root["instance_count"], "instance_count", 1, 20);
  if (root["request_settings"]) {
    const auto& rs = root["request_settings"];
    if (!rs.IsMap()) r.fail(rs, "request_settings", "must be a mapping");
    r.keys(rs, "request_settings", {"request_timeout_ms", "max_concurrent_requests_per_instance"},
           {"max_queue_wait_ms"}, d.warnings);
    if (rs["request_timeout_ms"]) d.request_timeout_ms = integer(r, rs["request_timeout_ms"], "request_settings.request_timeout_ms", 1, 180000);
    if (rs["max_concurrent_requests_per_instance"]) {
      d.max_concurrent_requests_per_instance = integer(r, rs["max_concurrent_requests_per_instance"], "request_settings.max_concurrent_requests_per_instance", 1, 1000);
    }
  }
  d.liveness = probe(r, root["liveness_probe"], "liveness_probe");
  d.readiness = probe(r, root["readiness_probe"], "readiness_probe");
  if (root["environment_variables"]) {
    const auto& vars = root["environment_variables"];
    if (!vars.IsMap()) r.fail(vars, "environment_variables", "must be a mapping");
    for (const auto& kv : vars) {
      d.environment_variables[r.key(kv.first, "environment_variables")] = kv.second.as<std::string>();
    }
  }
  if (root["description"]) d.description = r.str(root["description"], "description");
  return d;
}

}  // namespace amlemu
