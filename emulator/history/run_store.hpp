// The run-history repository: every SQL statement about experiments, runs, statuses, metrics,
// run files and parent/child links lives here, and nowhere else.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "amlemu/run.hpp"
#include "amlemu/workspace.hpp"

namespace amlemu::storage {
class Database;
class Statement;
}  // namespace amlemu::storage

namespace amlemu::history {

struct RunRecord {
  std::string run_id;
  std::string experiment_name;
  std::string status;
  std::string target;
  std::string created_time;
  std::optional<std::string> start_time;
  std::optional<std::string> end_time;
  nlohmann::json definition;  // runDefinition
  nlohmann::json properties = nlohmann::json::object();
  nlohmann::json tags = nlohmann::json::object();
  nlohmann::json error;       // null unless Failed
  std::optional<long long> supervisor_pid;
  std::optional<std::int64_t> supervisor_start;
  std::string parent_run_id;  // empty for a top-level run
  int child_number = -1;      // its number among the parent's children, from 0
  nlohmann::json job_definition;  // the v2 job it was made from (REST properties); null for v1
};

/// One logged value as stored.
struct MetricRow {
  std::string name;
  std::string kind;  // "scalar", "list", "row", "table" or "image"
  nlohmann::json value;
};

/// `get_metrics()`'s shape, from the stored rows in logging order; the twin of `shape()` in
/// emulator/python/azureml/core/_metrics.py (both must agree for every kind).
/// - The kind first logged under a name decides its family (`row` and `table` are one family);
///   rows of another family under that name are ignored, as the SDK ignores a conflicting type.
/// - `scalar`, `image` and unknown kinds: logged once gives the value, N times a list in order.
/// - `list`: always a list, the values of every `log_list` call concatenated.
/// - `row`/`table`: one table. Columns missing from a row or table are filled with null; one row
///   in all gives `{column: value}`, otherwise `{column: [values]}`.
/// - A stored non-finite float `{"$float": "NaN"}` (or `"Infinity"`, `"-Infinity"`) becomes the
///   string `"NaN"` (JSON has no NaN; Python's `get_metrics()` gives the float).
nlohmann::json shape_metrics(const std::vector<MetricRow>& rows);

/// A status change to record.
struct StatusUpdate {
  std::string status;
  std::string time;
  nlohmann::json error;  // null unless Failed (or Canceled by the time limit)
};

/// Whether the service allows going from `from` to `to` (terminal statuses are final).
bool is_valid_transition(const std::string& from, const std::string& to);

class RunStore {
 public:
  explicit RunStore(const Workspace& ws);

  /// Inserts the experiment (if new) and the run with the statuses NotStarted then Starting,
  /// in one transaction. A run with a `parent_run_id` gets the parent's next child number (the
  /// parent must exist); the number given in the record is ignored.
  void insert_run(const RunRecord& run, const std::string& time);
  /// The run's children in the order they were submitted.
  std::vector<RunRecord> children(const std::string& parent_run_id);
  /// The experiment's id (a GUID), or "" when there is no such experiment.
  std::string experiment_id(const std::string& experiment);
  /// Every experiment, oldest first.
  std::vector<ExperimentInfo> experiments();
  /// Every logged model (written by the MLflow store inside runs), oldest first.
  std::vector<LoggedModelInfo> logged_models();
  /// Merges `tags` into a logged model's, in one transaction; false when there is no such model.
  bool set_logged_model_tags(const std::string& model_id,
                             const std::map<std::string, std::string>& tags);
  /// How many runs on `target` have not reached a terminal status.
  int live_runs_on(const std::string& target);
  /// The order in which runs were submitted: (created time, insertion order); nullopt for an
  /// unknown run.
  std::optional<std::pair<std::string, std::int64_t>> submission_key(const std::string& run_id);
  std::optional<RunRecord> find(const std::string& run_id);
  /// The v2 job definition recorded at insert (null when none); not part of find()'s record, so
  /// that reading runs stays cheap.
  nlohmann::json job_definition(const std::string& run_id);
  /// Just the status (a cheap primary-key read, for pollers); nullopt for an unknown run.
  std::optional<std::string> status(const std::string& run_id);
  /// Records a status change (and the error, for Failed) in one transaction. Returns false,
  /// changing nothing, when the run is already terminal or the transition is not allowed.
  bool set_status(const std::string& run_id, const std::string& status, const std::string& time,
                  const nlohmann::json& error = nullptr);
  /// Records several status changes in order, in one transaction, each as set_status does (one
  /// that is not allowed is left out: [Preparing, Canceled] after CancelRequested records
  /// Canceled). Returns whether the last was recorded. `properties` are merged in the same
  /// transaction, as merge_properties does, and `files` recorded as add_files does.
  bool set_statuses(const std::string& run_id, const std::vector<StatusUpdate>& updates,
                    const std::map<std::string, std::string>& properties = {},
                    const std::vector<std::pair<std::string, long long>>& files = {});
  std::vector<StatusChange> status_history(const std::string& run_id);
  /// Newest first; only `experiment`'s runs when given; at most `limit` (0: all).
  std::vector<RunRecord> list(const std::optional<std::string>& experiment, int limit = 0);
  /// The run's recorded supervisor (pid, start time), a cheap read for watchers; nullopt until
  /// it has recorded itself.
  std::optional<std::pair<long long, std::optional<std::int64_t>>> supervisor(
      const std::string& run_id);
  /// Records the live supervisor: its pid and its start time (see common/proc.hpp).
  void set_supervisor(const std::string& run_id, long long pid, std::optional<std::int64_t> start);
  /// Adds string properties to the run's (one statement: a property the run's script sets at
  /// the same time is kept). An existing key takes the new value.
  void merge_properties(const std::string& run_id, const std::map<std::string, std::string>& properties);
  /// When `run` is live but its supervisor is gone (killed, or the machine restarted): kills
  /// what is left of the run's processes (its scope; the supervisor's watchdog normally has)
  /// and records Failed with "The run's supervisor (pid N) ended without finishing the run; "
  /// followed by `consequence`. Returns whether the supervisor was gone (the run has ended).
  bool fail_if_supervisor_gone(const RunRecord& run, const std::string& consequence);
  /// Whether `run` is live but its supervisor is gone: what fail_if_supervisor_gone acts on,
  /// without acting (no write).
  static bool supervisor_gone(const RunRecord& run);

  void add_files(const std::string& run_id,
                 const std::vector<std::pair<std::string, long long>>& files);
  std::vector<std::string> file_names(const std::string& run_id);

  void log_metric(const std::string& run_id, const std::string& name, const std::string& kind,
                  const nlohmann::json& value, const std::string& time);
  nlohmann::json metrics(const std::string& run_id, const std::optional<std::string>& name);
  /// Every value of one metric in logging order, with its step (0 when none) and time.
  std::vector<MetricPoint> metric_history(const std::string& run_id, const std::string& name);
  /// The run's params (MLflow's log_param), by key.
  std::map<std::string, std::string> params(const std::string& run_id);

 private:
  RunRecord read_row(storage::Statement& st);
  Workspace ws_;
  storage::Database& db_;
};

}  // namespace amlemu::history
