// Estimators: what to run and where, with the SDK's argument names. A spec file (JSON whose keys
// are those names) loads into the same structure, so the walkthrough's Python translates line
// for line.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "amlemu/datastore.hpp"

namespace amlemu {

/// A script parameter's value: a JSON scalar, or a data reference replaced at launch by the
/// path where the data is mounted or downloaded.
using ScriptParamValue = std::variant<nlohmann::json, DataReference>;

/// `distributed_training`: MpiConfiguration, TensorflowConfiguration or PyTorchConfiguration.
struct DistributedTraining {
  std::string type;  // "mpi", "tensorflow" or "pytorch"
  /// TensorFlow: one process per worker and per parameter server (the SDK v1 defaults: 1 and 1).
  int worker_count = 1;
  int parameter_server_count = 1;
  /// TensorFlow: also start a "chief" task (TensorFlow 2's coordinator for
  /// ParameterServerStrategy). Azure emits no chief; worker 0 is the chief there.
  bool chief = false;
  /// MPI and PyTorch: processes per node; 0 means the estimator's process_count_per_node.
  int process_count_per_node = 0;
  std::string communication_backend = "Nccl";  // PyTorch, recorded only
};

/// Where a v2 job's named output goes and the data asset it becomes (`outputs.<x>.type`, `path`,
/// `name`, `version`). Without a path it goes to workspaceblobstore under
/// azureml/<run id>/<output>/.
struct OutputSettings {
  std::string type = "uri_folder";  // uri_folder, uri_file, custom_model or mlflow_model
  std::string datastore;            // "": the default place
  std::string path_on_datastore;    // a uri_file output's names the file
  std::string asset_name;           // "": not registered as a data asset
  std::string asset_version;        // "": the next integer
};

/// The arguments of `Estimator(...)` / `TensorFlow(...)`.
struct Estimator {
  std::filesystem::path source_directory;
  std::string entry_script;
  std::vector<std::pair<std::string, ScriptParamValue>> script_params;  // in argument order
  std::vector<std::string> arguments;  // extra positional arguments, after script_params
  std::string compute_target = "local";
  bool use_gpu = false;
  std::vector<std::string> pip_packages;
  /// Conda match specs ("numpy=2.3", "python=3.12"): Preparing installs their PyPI
  /// counterparts (docs/environments.md), and python=3.X picks that interpreter.
  std::vector<std::string> conda_packages;
  std::vector<std::string> conda_channels;  // recorded; packages come from PyPI
  /// A curated environment's name (AzureML-sklearn-1.5): its image's Python and packages.
  std::string environment_name;
  std::string framework = "Python";  // "Python" or "TensorFlow"
  std::string framework_version;
  std::map<std::string, std::string> environment_variables;
  int node_count = 1;
  int process_count_per_node = 1;
  std::optional<DistributedTraining> distributed_training;
  int max_run_duration_seconds = 2592000;  // the service's default: 30 days
  bool user_managed_dependencies = false;

  // CLI v2 command jobs (see job_yaml.hpp). When `command` is set it runs with /bin/sh instead
  // of `python entry_script`; ${{inputs.x}} were replaced by shell-quoted values or by
  // `"${AZURE_ML_INPUT_<x>}"`, and ${{outputs.x}} by `"${AZURE_ML_OUTPUT_<x>}"`: variables the
  // shell expands on each node to that node's own paths.
  std::string command;
  /// name -> mode: rw_mount (the script writes to the datastore as it goes) or upload (the
  /// node's folder is copied there once the script ends)
  std::map<std::string, std::string> outputs;
  std::map<std::string, OutputSettings> output_settings;  // outputs with a type, path or name
  std::string run_name;                        // the job's `name`: becomes the run id
  std::string display_name;
  std::string description;
  std::map<std::string, std::string> tags;
  std::vector<std::string> warnings;           // keys accepted but ignored, and the like
  std::string environment_note;                // how a named environment was resolved
  /// A job submitted through the REST API (`amlemu serve`): its properties as the client sent
  /// them, kept with the run so the job reads back as it was created. Null otherwise.
  nlohmann::json job_definition;
};

/// The run definition's "outputSettings" object for `e` ({} when no output has settings), and
/// back.
nlohmann::json output_settings_json(const Estimator& e);
std::map<std::string, OutputSettings> output_settings_from_json(const nlohmann::json& j);

/// The run definition's "environment" object for `e`: its curated name, Python packages, conda
/// packages and variables, as Preparing reads them.
nlohmann::json environment_definition(const Estimator& e);

/// `TensorFlow(...)`: an Estimator whose framework is TensorFlow.
inline Estimator TensorFlow(Estimator e) {
  e.framework = "TensorFlow";
  return e;
}

/// A spec file: the experiment to submit to, and the estimator.
struct JobSpec {
  std::string experiment_name;
  Estimator estimator;
  std::filesystem::path file;  // where it was read from
  /// The spec's "hyperdrive" section (HyperDriveConfig's arguments, see hyperdrive.hpp), kept as
  /// written and checked by parse_hyperdrive; null when the spec is a single run.
  nlohmann::ordered_json hyperdrive;
};

/// Reads an estimator-style JSON spec. Relative paths are relative to the spec's folder.
/// Throws UserErrorException naming the key at fault for unknown keys, wrong types, missing
/// required values and out-of-range numbers; changes nothing on disk.
JobSpec load_job_spec(const std::filesystem::path& file);
/// Same, from an already-parsed JSON document (key order kept: it is the argument order);
/// `base_dir` anchors relative paths and `origin` names the document in messages.
JobSpec parse_job_spec(const nlohmann::ordered_json& doc, const std::filesystem::path& base_dir,
                       const std::string& origin = "spec");

}  // namespace amlemu
