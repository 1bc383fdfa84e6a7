#include "spec/estimator_json.hpp"

namespace amlemu::spec {

using nlohmann::json;

namespace {

json reference_to_json(const DataReference& d) {
  return {{"datastore", d.datastore_name}, {"name", d.data_reference_name},
          {"path", d.path_on_datastore},   {"mode", d.mode},
          {"pathOnCompute", d.path_on_compute}, {"overwrite", d.overwrite},
          {"mirrorUrl", d.mirror_url}, {"directUri", d.direct_uri}};
}

DataReference reference_from_json(const json& j) {
  DataReference d;
  d.datastore_name = j.at("datastore").get<std::string>();
  d.data_reference_name = j.at("name").get<std::string>();
  d.path_on_datastore = j.at("path").get<std::string>();
  d.mode = j.at("mode").get<std::string>();
  d.path_on_compute = j.at("pathOnCompute").get<std::string>();
  d.overwrite = j.at("overwrite").get<bool>();
  d.mirror_url = j.value("mirrorUrl", "");
  d.direct_uri = j.value("directUri", "");
  return d;
}

}  // namespace

}  // namespace amlemu::spec

namespace amlemu {

using nlohmann::json;

nlohmann::json output_settings_json(const Estimator& e) {
  json out = json::object();
  for (const auto& [name, s] : e.output_settings) {
    out[name] = {{"type", s.type},
                 {"dataStoreName", s.datastore},
                 {"pathOnDataStore", s.path_on_datastore},
                 {"assetName", s.asset_name},
                 {"assetVersion", s.asset_version}};
  }
  return out;
}

std::map<std::string, OutputSettings> output_settings_from_json(const nlohmann::json& j) {
  std::map<std::string, OutputSettings> out;
  if (!j.is_object()) return out;
  for (const auto& [name, s] : j.items()) {
    out[name] = {s.value("type", "uri_folder"), s.value("dataStoreName", ""),
                 s.value("pathOnDataStore", ""), s.value("assetName", ""),
                 s.value("assetVersion", "")};
  }
  return out;
}

}  // namespace amlemu

namespace amlemu::spec {

json estimator_to_json(const Estimator& e) {
  json params = json::array();
  for (const auto& [name, value] : e.script_params) {
    if (const auto* v = std::get_if<json>(&value)) {
      params.push_back({{"name", name}, {"value", *v}});
    } else {
      params.push_back({{"name", name}, {"data", reference_to_json(std::get<DataReference>(value))}});
    }
  }
  json distributed = nullptr;
  if (e.distributed_training) {
    const auto& d = *e.distributed_training;
    distributed = {{"type", d.type}, {"workerCount", d.worker_count},
                   {"parameterServerCount", d.parameter_server_count}, {"chief", d.chief},
                   {"processCountPerNode", d.process_count_per_node},
                   {"communicationBackend", d.communication_backend}};
  }
  return {{"sourceDirectory", e.source_directory.string()},
          {"entryScript", e.entry_script},
          {"scriptParams", params},
          {"arguments", e.arguments},
          {"computeTarget", e.compute_target},
          {"useGpu", e.use_gpu},
          {"pipPackages", e.pip_packages},
          {"condaPackages", e.conda_packages},
          {"condaChannels", e.conda_channels},
          {"environmentName", e.environment_name},
          {"framework", e.framework},
          {"frameworkVersion", e.framework_version},
          {"environmentVariables", e.environment_variables},
          {"nodeCount", e.node_count},
          {"processCountPerNode", e.process_count_per_node},
          {"distributedTraining", distributed},
          {"maxRunDurationSeconds", e.max_run_duration_seconds},
          {"userManagedDependencies", e.user_managed_dependencies},
          {"command", e.command},
          {"outputs", e.outputs},
          {"outputSettings", output_settings_json(e)},
          {"runName", e.run_name},
          {"displayName", e.display_name},
          {"description", e.description},
          {"tags", e.tags},
          {"warnings", e.warnings},
          {"environmentNote", e.environment_note},
          {"jobDefinition", e.job_definition}};
}

Estimator estimator_from_json(const json& j) {
  Estimator e;
  e.source_directory = j.at("sourceDirectory").get<std::string>();
  e.entry_script = j.at("entryScript").get<std::string>();
  for (const auto& p : j.at("scriptParams")) {
    if (p.contains("data")) {
      e.script_params.emplace_back(p.at("name").get<std::string>(), reference_from_json(p.at("data")));
    } else {
      e.script_params.emplace_back(p.at("name").get<std::string>(), p.at("value"));
    }
  }
  e.arguments = j.at("arguments").get<std::vector<std::string>>();
  e.compute_target = j.at("computeTarget").get<std::string>();
  e.use_gpu = j.at("useGpu").get<bool>();
  e.pip_packages = j.at("pipPackages").get<std::vector<std::string>>();
  e.conda_packages = j.at("condaPackages").get<std::vector<std::string>>();
  e.conda_channels = j.at("condaChannels").get<std::vector<std::string>>();
  e.environment_name = j.at("environmentName").get<std::string>();
  e.framework = j.at("framework").get<std::string>();
  e.framework_version = j.at("frameworkVersion").get<std::string>();
  e.environment_variables = j.at("environmentVariables").get<std::map<std::string, std::string>>();
  e.node_count = j.at("nodeCount").get<int>();
  e.process_count_per_node = j.at("processCountPerNode").get<int>();
  if (const auto& d = j.at("distributedTraining"); !d.is_null()) {
    DistributedTraining t;
    t.type = d.at("type").get<std::string>();
    t.worker_count = d.at("workerCount").get<int>();
    t.parameter_server_count = d.at("parameterServerCount").get<int>();
    t.chief = d.at("chief").get<bool>();
    t.process_count_per_node = d.at("processCountPerNode").get<int>();
    t.communication_backend = d.at("communicationBackend").get<std::string>();
    e.distributed_training = t;
  }
  e.max_run_duration_seconds = j.at("maxRunDurationSeconds").get<int>();
  e.user_managed_dependencies = j.at("userManagedDependencies").get<bool>();
  e.command = j.at("command").get<std::string>();
  e.outputs = j.at("outputs").get<std::map<std::string, std::string>>();
  e.output_settings = output_settings_from_json(j.value("outputSettings", json::object()));
  e.run_name = j.at("runName").get<std::string>();
  e.display_name = j.at("displayName").get<std::string>();
  e.description = j.at("description").get<std::string>();
  e.tags = j.at("tags").get<std::map<std::string, std::string>>();
  e.warnings = j.at("warnings").get<std::vector<std::string>>();
  e.environment_note = j.at("environmentNote").get<std::string>();
  e.job_definition = j.at("jobDefinition");
  return e;
}

}  // namespace amlemu::spec
