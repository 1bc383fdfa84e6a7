// The run-history repository: every SQL statement about experiments, runs, statuses, metrics and
// run files lives here.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "amlemu/run.hpp"
#include "storage/database.hpp"

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
  nlohmann::json error;       // null unless Failed
  std::optional<long long> supervisor_pid;
};

/// One logged value as stored.
struct MetricRow {
  std::string name;
  std::string kind;  // "scalar" or "list"
  nlohmann::json value;
};

/// `get_metrics()`'s shape: a name logged once maps to its value, logged N times to a list in
/// logging order; a `log_list` value stays a list.
nlohmann::json shape_metrics(const std::vector<MetricRow>& rows);

/// Whether the service allows going from `from` to `to` (terminal statuses are final).
bool is_valid_transition(const std::string& from, const std::string& to);

class RunStore {
 public:
  explicit RunStore(storage::Database& db) : db_(db) {}

  /// Inserts the experiment (if new) and the run with the statuses NotStarted then Starting,
  /// in one transaction.
  void insert_run(const RunRecord& run, const std::string& time);
  std::optional<RunRecord> find(const std::string& run_id);
  /// Records a status change (and the error, for Failed) in one transaction. Returns false,
  /// changing nothing, when the run is already terminal or the transition is not allowed.
  bool set_status(const std::string& run_id, const std::string& status, const std::string& time,
                  const nlohmann::json& error = nullptr);
  std::vector<StatusChange> status_history(const std::string& run_id);
  /// Newest first; only `experiment`'s runs when given; at most `limit` (0: all).
  std::vector<RunRecord> list(const std::optional<std::string>& experiment, int limit = 0);
  void set_supervisor_pid(const std::string& run_id, long long pid);

  void add_files(const std::string& run_id,
                 const std::vector<std::pair<std::string, long long>>& files);
  std::vector<std::string> file_names(const std::string& run_id);

  void log_metric(const std::string& run_id, const std::string& name, const std::string& kind,
                  const nlohmann::json& value, const std::string& time);
  nlohmann::json metrics(const std::string& run_id, const std::optional<std::string>& name);

 private:
  RunRecord read_row(storage::Statement& st);
  storage::Database& db_;
};

}  // namespace amlemu::history
