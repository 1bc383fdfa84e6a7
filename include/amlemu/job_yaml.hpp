// Azure ML CLI v2 command jobs: the same job.yml that `az ml job create --file job.yml` takes.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "amlemu/estimator.hpp"
#include "amlemu/workspace.hpp"

namespace amlemu {

/// A parsed command job, before it meets a workspace.
struct CommandJob {
  JobSpec spec;  // experiment and estimator (command, node count, distribution, limits, ...)
  struct LocalInput {
    std::string name;
    std::filesystem::path path;
    std::string mode;  // ro_mount, download, direct, eval_mount or eval_download
  };
  std::vector<LocalInput> local_inputs;  // uploaded to the default datastore at submit
  struct AssetInput {
    std::string name;
    std::string reference;  // azureml:<data asset>:<version> or azureml:<data asset>@latest
    std::string mode;       // ro_mount, download, direct, eval_mount or eval_download
  };
  std::vector<AssetInput> asset_inputs;  // data assets, resolved against the workspace at submit
  nlohmann::json environment;            // "azureml:..." reference or an inline object
  std::filesystem::path file;
  /// A sweep job (`type: sweep`): its search space, sampling, objective, early termination and
  /// limits (see Experiment::submit_sweep); the rest of this job is its trial, whose command
  /// keeps ${{search_space.<name>}}. Null for a command job.
  nlohmann::json sweep;
};

/// Reads a command job YAML. `overrides` are `key.path=value` pairs (`--set`), applied first.
/// Unknown keys, wrong types, missing required values and unsupported features are
/// UserErrorExceptions naming the file, line and key path; keys the emulator accepts but cannot
/// honour become warnings in the estimator. Writes nothing.
CommandJob load_command_job(const std::filesystem::path& file,
                            const std::vector<std::string>& overrides = {});

/// A command job from the REST API's job body (`{"properties": {"jobType": "Command", ...}}`, what
/// `PUT .../jobs/<name>` carries) into the same CommandJob the YAML loader makes: codeId names a
/// code version of the workspace, environmentId an environment (azureml:<name>@latest,
/// azureml:<name>:<version>, its ARM id or a registry URI), inputs are datastore URIs, data
/// assets or literals; `name` becomes the run id. The properties are kept as the estimator's
/// job_definition. Problems are UserErrorExceptions naming the property
/// ("properties.inputs.data.uri: ..."). Writes nothing.
CommandJob command_job_from_rest(const Workspace& ws, const std::string& name,
                                 const nlohmann::json& body);

/// Makes a parsed job ready to submit to `ws`: resolves its environment (registered, curated or
/// inline), and uploads local input folders to workspaceblobstore under LocalUpload/<hash>/.
/// Throws UserErrorException naming what is missing.
Estimator resolve_command_job(const Workspace& ws, const CommandJob& job);

/// Checks a job's named outputs against `ws`: the datastore of an output's path exists, and the
/// data asset version an output becomes does not yet. UserErrorException "outputs.<x>...".
void check_outputs(const Workspace& ws, const Estimator& e);

/// Registers an environment YAML (`$schema: .../environment.schema.json`): name, version
/// (default: the next integer), image, conda_file, description, tags. Returns
/// {"name", "version", ...}.
nlohmann::json create_environment(const Workspace& ws, const std::filesystem::path& file);

/// An Estimator carrying only the environment of an environment YAML file (as `environment
/// create --file` reads it) or of a reference (azureml:<name>:<version>, azureml:<name>@latest,
/// a registry URI, a curated name): what `environment build` builds. Throws UserErrorException.
Estimator environment_estimator(const Workspace& ws, const std::string& file_or_reference);

/// An Estimator carrying only the environment `environment` names, in a parsed job's form (a
/// reference string or an inline {image, pipPackages, ...}): what a deployment is built from.
Estimator environment_estimator_from(const Workspace& ws, const nlohmann::json& environment);

/// Registered environments, newest first.
nlohmann::json list_registered_environments(const Workspace& ws);

}  // namespace amlemu
