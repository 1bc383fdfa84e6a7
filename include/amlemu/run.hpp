// Runs: one execution of a script, its status history, logs, files and metrics.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "amlemu/workspace.hpp"

namespace amlemu {

struct Estimator;

class Model;
struct ModelRegistration;

/// The status strings of the service, in their normal order.
namespace RunStatus {
inline constexpr const char* NotStarted = "NotStarted";
inline constexpr const char* Starting = "Starting";
inline constexpr const char* Preparing = "Preparing";
inline constexpr const char* Queued = "Queued";
inline constexpr const char* Running = "Running";
inline constexpr const char* Finalizing = "Finalizing";
inline constexpr const char* CancelRequested = "CancelRequested";
inline constexpr const char* Completed = "Completed";
inline constexpr const char* Failed = "Failed";
inline constexpr const char* Canceled = "Canceled";
/// Completed, Failed or Canceled.
bool is_terminal(const std::string& status);
}  // namespace RunStatus

/// One status change.
struct StatusChange {
  std::string status;
  std::string time;  // ISO-8601 UTC with milliseconds
};

/// An experiment as run history keeps it.
struct ExperimentInfo {
  std::string name;
  std::string id;            // a GUID
  std::string created_time;  // ISO-8601 UTC with milliseconds
};

/// A model MLflow 3's log_model created in a run ("logged model"): its files are the folder
/// `artifact_path` among the run's files.
struct LoggedModelInfo {
  std::string model_id;       // m-<32 hex>
  std::string run_id;
  std::string experiment_name;
  std::string name;
  std::string artifact_path;
  std::string model_type;
  std::string status;         // PENDING, READY or FAILED
  std::map<std::string, std::string> tags;
  std::map<std::string, std::string> params;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
};

/// One logged value of a metric with its step and time (MLflow's metric history).
struct MetricPoint {
  std::int64_t step = 0;   // the step it was logged with; 0 when none
  nlohmann::json value;    // as logged; a non-finite float is "NaN", "Infinity" or "-Infinity"
  std::string time;        // ISO-8601 UTC with milliseconds
};

class Run {
 public:
  /// Opens a run by id. Throws NotFoundException when the workspace has no such run.
  ///
  /// Reading a run can change it: the constructor and every method but id() and
  /// get_status_history() first check that a live run's supervisor is still running, and when
  /// it is gone (killed, or the machine restarted) they stop what is left of the run's
  /// processes and record the run Failed ("The run's supervisor (pid N) ended without
  /// finishing the run; ..."), so its status stays true.
  Run(const Workspace& ws, const std::string& run_id);

  const std::string& id() const { return id_; }
  /// May record Failed (see the constructor).
  std::string experiment_name() const;
  /// The current status, read from run history. May record Failed first (see the
  /// constructor).
  std::string get_status() const;
  std::vector<StatusChange> get_status_history() const;

  /// `get_details()`: runId, target, status, startTimeUtc, endTimeUtc, properties,
  /// runDefinition, logFiles, statusHistory and, on failure, error. May record Failed first
  /// (see the constructor).
  nlohmann::json get_details() const;

  /// Waits for a terminal status. With show_output, prints the SDK's console framing to `out`
  /// (RunId, "Streaming <log>" headers, the log as it grows, Execution Summary, the error).
  /// Returns get_details(). Throws ActivityFailedException when the run failed and
  /// raise_on_error is set.
  nlohmann::json wait_for_completion(bool show_output = false, bool raise_on_error = true) const;
  nlohmann::json wait_for_completion(bool show_output, bool raise_on_error,
                                     std::ostream& out) const;

  /// `get_metrics()`: a metric logged once is its bare value, logged N times a list in logging
  /// order; `log_list` values are lists. With a name, only that metric (an empty object when
  /// it was never logged).
  nlohmann::json get_metrics(const std::optional<std::string>& name = std::nullopt) const;

  /// Every value of the metric `name` in logging order, with its step and time (what MLflow's
  /// get_metric_history gives); empty when it was never logged.
  std::vector<MetricPoint> get_metric_history(const std::string& name) const;
  /// The run's parameters (MLflow's log_param: set once per key), by key.
  std::map<std::string, std::string> get_params() const;
  /// Files in run history: azureml-logs/..., logs/..., outputs/..., sorted.
  std::vector<std::string> get_file_names() const;
  /// Copies one run file to `output_file_path` (a file path, or an existing folder).
  /// Throws UserErrorException when `name` is not a run file.
  void download_file(const std::string& name, const std::filesystem::path& output_file_path) const;
  /// Copies the run files under `prefix` into `output_directory`, keeping their relative paths
  /// (prefix included when append_prefix). Returns how many files were written.
  int download_files(const std::string& prefix, const std::filesystem::path& output_directory,
                     bool append_prefix = true) const;

  /// Registers `model_path` (a file or folder among the run's files) as a new version of
  /// `model_name`. Throws ModelPathNotFoundException with the SDK's message when missing.
  Model register_model(const std::string& model_name, const std::string& model_path,
                       const std::map<std::string, std::string>& tags = {},
                       const std::string& description = "") const;
  /// The same with what an SDK v2 registration says (type, such as mlflow_model, version,
  /// source URI, properties; its run_id is this run). While the run is live, `model_path` may
  /// also be files its script wrote straight into the run's files (as MLflow does), which are
  /// recorded only when the run ends.
  Model register_model(const std::string& model_path, ModelRegistration registration) const;

  /// The v2 job the run was created from through the REST API (its properties as submitted),
  /// or null for runs submitted otherwise.
  nlohmann::json get_job_definition() const;

  /// Asks the run to stop: CancelRequested, then Canceled once its processes are gone.
  void cancel() const;

  /// `submit_child(config)`: submits `config` as a child run of this run, in this run's
  /// experiment, through the ordinary submission path (numbered from 0 in submission order).
  Run submit_child(const Estimator& config) const;
  /// A sweep's `get_children_sorted_by_primary_metric()`: its trials, best first by the metric
  /// and goal of its primary_metric_config, as the SDK gives them: [{"run_id", "hyperparameters"
  /// (the trial's values, JSON text), "best_primary_metric" (its best value, or null: those
  /// come last), "status"}]. Throws UserErrorException for a run that is not a sweep.
  nlohmann::json get_children_sorted_by_primary_metric() const;
  /// A sweep's best trial (its best_child_run_id), or nullopt while there is none.
  std::optional<Run> get_best_run_by_primary_metric() const;
  /// `get_children()`: the child runs, in the order they were submitted.
  std::vector<Run> get_children() const;

 private:
  Workspace ws_;
  std::string id_;
};

}  // namespace amlemu
