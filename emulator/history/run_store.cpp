#include "history/run_store.hpp"

#include <algorithm>
#include <map>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "common/proc.hpp"
#include "storage/database.hpp"
#include "workspace/workspace_impl.hpp"

namespace amlemu::history {

namespace {

constexpr const char* kRunColumns =
    "run_id, experiment_name, status, target, created_time, start_time, end_time, definition, "
    "properties, error, supervisor_pid, supervisor_start, tags, parent_run_id, child_number";

}  // namespace

RunStore::RunStore(const Workspace& ws) : ws_(ws), db_(detail::database(ws)) {}

void RunStore::insert_run(const RunRecord& run, const std::string& time) {
  storage::Transaction tx(db_);
  std::optional<std::int64_t> child_number;
  if (!run.parent_run_id.empty()) {
    auto next = db_.prepare(
        "SELECT (SELECT COUNT(*) FROM runs WHERE run_id = ?1), "
        "COALESCE((SELECT MAX(child_number) FROM runs WHERE parent_run_id = ?1), -1) + 1");
    next.bind(1, run.parent_run_id);
    next.step();
    if (next.integer(0) == 0) {
      throw std::runtime_error("parent run '" + run.parent_run_id + "' not found");
    }
    child_number = next.integer(1);
  }
  db_.prepare("INSERT OR IGNORE INTO experiments (name, id, created_time) VALUES (?, ?, ?)")
      .bind(1, run.experiment_name)
      .bind(2, new_guid())
      .bind(3, time)
      .run();
  auto insert = db_.prepare(
      "INSERT INTO runs (run_id, experiment_name, status, target, created_time, definition, "
      "properties, tags, parent_run_id, child_number, job_definition) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, run.run_id)
      .bind(2, run.experiment_name)
      .bind(3, std::string(RunStatus::Starting))
      .bind(4, run.target)
      .bind(5, time)
      .bind(6, run.definition.dump())
      .bind(7, run.properties.dump())
      .bind(8, run.tags.is_object() ? run.tags.dump() : std::string("{}"));
  if (child_number) {
    insert.bind(9, run.parent_run_id).bind(10, *child_number);
  } else {
    insert.bind_null(9).bind_null(10);
  }
  if (run.job_definition.is_null()) {
    insert.bind_null(11);
  } else {
    insert.bind(11, run.job_definition.dump());
  }
  insert.run();
  auto st = db_.prepare("INSERT INTO run_status (run_id, seq, status, time) VALUES (?, ?, ?, ?)");
  st.bind(1, run.run_id).bind(2, 0).bind(3, std::string(RunStatus::NotStarted)).bind(4, time);
  st.run();
  st.reset();
  st.bind(1, run.run_id).bind(2, 1).bind(3, std::string(RunStatus::Starting)).bind(4, time);
  st.run();
  tx.commit();
}

nlohmann::json RunStore::job_definition(const std::string& run_id) {
  auto st = db_.prepare("SELECT job_definition FROM runs WHERE run_id = ?");
  st.bind(1, run_id);
  if (!st.step() || st.is_null(0)) return nullptr;
  return nlohmann::json::parse(st.text(0));
}

RunRecord RunStore::read_row(storage::Statement& st) {
  RunRecord r;
  r.run_id = st.text(0);
  r.experiment_name = st.text(1);
  r.status = st.text(2);
  r.target = st.text(3);
  r.created_time = st.text(4);
  r.start_time = st.optional_text(5);
  r.end_time = st.optional_text(6);
  r.definition = nlohmann::json::parse(st.text(7));
  r.properties = nlohmann::json::parse(st.text(8));
  if (!st.is_null(9)) r.error = nlohmann::json::parse(st.text(9));
  if (!st.is_null(10)) r.supervisor_pid = st.integer(10);
  if (!st.is_null(11)) r.supervisor_start = st.integer(11);
  r.tags = nlohmann::json::parse(st.text(12));
  r.parent_run_id = st.optional_text(13).value_or("");
  if (!st.is_null(14)) r.child_number = static_cast<int>(st.integer(14));
  return r;
}

std::vector<RunRecord> RunStore::children(const std::string& parent_run_id) {
  auto st = db_.prepare(std::string("SELECT ") + kRunColumns +
                        " FROM runs WHERE parent_run_id = ? ORDER BY child_number");
  st.bind(1, parent_run_id);
  std::vector<RunRecord> out;
  while (st.step()) out.push_back(read_row(st));
  return out;
}

std::string RunStore::experiment_id(const std::string& experiment) {
  auto st = db_.prepare("SELECT id FROM experiments WHERE name = ?");
  st.bind(1, experiment);
  return st.step() ? st.text(0) : "";
}

std::vector<ExperimentInfo> RunStore::experiments() {
  auto st = db_.prepare("SELECT name, id, created_time FROM experiments ORDER BY created_time");
  std::vector<ExperimentInfo> out;
  while (st.step()) out.push_back({st.text(0), st.text(1), st.text(2)});
  return out;
}

std::vector<LoggedModelInfo> RunStore::logged_models() {
  auto st = db_.prepare(
      "SELECT model_id, logged_models.run_id, experiment_name, name, artifact_path, model_type, "
      "logged_models.status, logged_models.tags, params, created_ms, updated_ms "
      "FROM logged_models JOIN runs USING (run_id) ORDER BY created_ms");
  std::vector<LoggedModelInfo> out;
  const auto strings = [](const std::string& text) {
    std::map<std::string, std::string> m;
    const auto doc = nlohmann::json::parse(text);
    for (const auto& [k, v] : doc.items()) {
      m[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
    return m;
  };
  while (st.step()) {
    LoggedModelInfo m;
    m.model_id = st.text(0);
    m.run_id = st.text(1);
    m.experiment_name = st.text(2);
    m.name = st.text(3);
    m.artifact_path = st.text(4);
    m.model_type = st.is_null(5) ? "" : st.text(5);
    m.status = st.text(6);
    m.tags = strings(st.text(7));
    m.params = strings(st.text(8));
    m.created_ms = st.integer(9);
    m.updated_ms = st.integer(10);
    out.push_back(std::move(m));
  }
  return out;
}

bool RunStore::set_logged_model_tags(const std::string& model_id,
                                     const std::map<std::string, std::string>& tags) {
  storage::Transaction tx(db_);
  auto read = db_.prepare("SELECT tags FROM logged_models WHERE model_id = ?");
  read.bind(1, model_id);
  if (!read.step()) return false;
  auto current = nlohmann::json::parse(read.text(0));
  for (const auto& [k, v] : tags) current[k] = v;
  auto write = db_.prepare(
      "UPDATE logged_models SET tags = ?, updated_ms = "
      "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) "
      "WHERE model_id = ?");
  write.bind(1, current.dump());
  write.bind(2, model_id);
  write.step();
  tx.commit();
  return true;
}

int RunStore::live_runs_on(const std::string& target) {
  auto st = db_.prepare(
      "SELECT COUNT(*) FROM runs WHERE target = ? AND status NOT IN "
      "('Completed','Failed','Canceled')");
  st.bind(1, target);
  st.step();
  return static_cast<int>(st.integer(0));
}

std::optional<std::pair<std::string, std::int64_t>> RunStore::submission_key(
    const std::string& run_id) {
  auto st = db_.prepare("SELECT created_time, rowid FROM runs WHERE run_id = ?");
  st.bind(1, run_id);
  if (!st.step()) return std::nullopt;
  return std::make_pair(st.text(0), st.integer(1));
}

std::optional<RunRecord> RunStore::find(const std::string& run_id) {
  auto st = db_.prepare(std::string("SELECT ") + kRunColumns + " FROM runs WHERE run_id = ?");
  st.bind(1, run_id);
  if (!st.step()) return std::nullopt;
  return read_row(st);
}

std::optional<std::string> RunStore::status(const std::string& run_id) {
  auto st = db_.prepare("SELECT status FROM runs WHERE run_id = ?");
  st.bind(1, run_id);
  if (!st.step()) return std::nullopt;
  return st.text(0);
}

bool RunStore::set_status(const std::string& run_id, const std::string& status,
                          const std::string& time, const nlohmann::json& error) {
  storage::Transaction tx(db_);
  auto cur = db_.prepare("SELECT status FROM runs WHERE run_id = ?");
  cur.bind(1, run_id);
  if (!cur.step()) return false;
  if (!is_valid_transition(cur.text(0), status)) return false;
  auto seq = db_.prepare("SELECT COALESCE(MAX(seq), -1) + 1 FROM run_status WHERE run_id = ?");
  seq.bind(1, run_id);
  seq.step();
  db_.prepare("INSERT INTO run_status (run_id, seq, status, time) VALUES (?, ?, ?, ?)")
      .bind(1, run_id)
      .bind(2, seq.integer(0))
      .bind(3, status)
      .bind(4, time)
      .run();
  auto up = db_.prepare(
      "UPDATE runs SET status = ?2, "
      "start_time = CASE WHEN ?2 = 'Running' AND start_time IS NULL THEN ?3 ELSE start_time END, "
      "end_time = CASE WHEN ?2 IN ('Completed','Failed','Canceled') THEN ?3 ELSE end_time END, "
      "error = COALESCE(?4, error) WHERE run_id = ?1");
  up.bind(1, run_id).bind(2, status).bind(3, time);
  if (error.is_null()) {
    up.bind_null(4);
  } else {
    up.bind(4, error.dump());
  }
  up.run();
  tx.commit();
  return true;
}

bool RunStore::set_statuses(const std::string& run_id, const std::vector<StatusUpdate>& updates,
                            const std::map<std::string, std::string>& properties,
                            const std::vector<std::pair<std::string, long long>>& files) {
  storage::Transaction tx(db_);
  if (!properties.empty()) merge_properties(run_id, properties);
  if (!files.empty()) add_files(run_id, files);
  bool last = false;
  for (const auto& u : updates) last = set_status(run_id, u.status, u.time, u.error);
  tx.commit();
  return last;
}

std::vector<StatusChange> RunStore::status_history(const std::string& run_id) {
  std::vector<StatusChange> out;
  auto st = db_.prepare("SELECT status, time FROM run_status WHERE run_id = ? ORDER BY seq");
  st.bind(1, run_id);
  while (st.step()) out.push_back({st.text(0), st.text(1)});
  return out;
}

std::vector<RunRecord> RunStore::list(const std::optional<std::string>& experiment, int limit) {
  std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs";
  if (experiment) sql += " WHERE experiment_name = ?1";
  sql += " ORDER BY created_time DESC, rowid DESC";
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  auto st = db_.prepare(sql);
  if (experiment) st.bind(1, *experiment);
  std::vector<RunRecord> out;
  while (st.step()) out.push_back(read_row(st));
  return out;
}

bool RunStore::supervisor_gone(const RunRecord& run) {
  return !RunStatus::is_terminal(run.status) && run.supervisor_pid &&
         !process_alive(*run.supervisor_pid, run.supervisor_start);
}

bool RunStore::fail_if_supervisor_gone(const RunRecord& run, const std::string& consequence) {
  if (!supervisor_gone(run)) return false;
  if (run.supervisor_start) kill_scope(run_scope(*run.supervisor_pid, *run.supervisor_start));
  // Another process may have recorded it first; either way the run has ended.
  set_status(run.run_id, RunStatus::Failed, now_iso(),
             {{"error",
               {{"code", "ServiceError"},
                {"message", "The run's supervisor (pid " + std::to_string(*run.supervisor_pid) +
                                ") ended without finishing the run; " + consequence}}}});
  return true;
}

std::optional<std::pair<long long, std::optional<std::int64_t>>> RunStore::supervisor(
    const std::string& run_id) {
  auto st = db_.prepare("SELECT supervisor_pid, supervisor_start FROM runs WHERE run_id = ?");
  st.bind(1, run_id);
  if (!st.step() || st.is_null(0)) return std::nullopt;
  return std::make_pair(static_cast<long long>(st.integer(0)),
                        st.is_null(1) ? std::nullopt : std::optional<std::int64_t>(st.integer(1)));
}

void RunStore::set_supervisor(const std::string& run_id, long long pid,
                              std::optional<std::int64_t> start) {
  auto st = db_.prepare("UPDATE runs SET supervisor_pid = ?, supervisor_start = ? WHERE run_id = ?");
  st.bind(1, static_cast<std::int64_t>(pid));
  if (start) {
    st.bind(2, *start);
  } else {
    st.bind_null(2);
  }
  st.bind(3, run_id).run();
}

void RunStore::merge_properties(const std::string& run_id,
                                const std::map<std::string, std::string>& properties) {
  db_.prepare("UPDATE runs SET properties = json_patch(properties, ?) WHERE run_id = ?")
      .bind(1, nlohmann::json(properties).dump())
      .bind(2, run_id)
      .run();
}

void RunStore::add_files(const std::string& run_id,
                         const std::vector<std::pair<std::string, long long>>& files) {
  storage::Transaction tx(db_);
  auto st = db_.prepare("INSERT OR REPLACE INTO run_files (run_id, name, size) VALUES (?, ?, ?)");
  for (const auto& [name, size] : files) {
    st.bind(1, run_id).bind(2, name).bind(3, static_cast<std::int64_t>(size));
    st.run();
    st.reset();
  }
  tx.commit();
}

std::vector<std::string> RunStore::file_names(const std::string& run_id) {
  std::vector<std::string> out;
  auto st = db_.prepare("SELECT name FROM run_files WHERE run_id = ? ORDER BY name");
  st.bind(1, run_id);
  while (st.step()) out.push_back(st.text(0));
  return out;
}

void RunStore::log_metric(const std::string& run_id, const std::string& name,
                          const std::string& kind, const nlohmann::json& value,
                          const std::string& time) {
  db_.prepare("INSERT INTO metrics (run_id, name, kind, value, time) VALUES (?, ?, ?, ?, ?)")
      .bind(1, run_id)
      .bind(2, name)
      .bind(3, kind)
      .bind(4, value.dump())
      .bind(5, time)
      .run();
}

nlohmann::json RunStore::metrics(const std::string& run_id,
                                 const std::optional<std::string>& name) {
  std::string sql = "SELECT name, kind, value FROM metrics WHERE run_id = ?1";
  if (name) sql += " AND name = ?2";
  sql += " ORDER BY id";
  auto st = db_.prepare(sql);
  st.bind(1, run_id);
  if (name) st.bind(2, *name);
  std::vector<MetricRow> rows;
  while (st.step()) {
    rows.push_back({st.text(0), st.text(1), nlohmann::json::parse(st.text(2))});
  }
  return shape_metrics(rows);
}

std::vector<MetricPoint> RunStore::metric_history(const std::string& run_id,
                                                  const std::string& name) {
  auto st = db_.prepare(
      "SELECT step, value, time FROM metrics WHERE run_id = ? AND name = ? ORDER BY id");
  st.bind(1, run_id);
  st.bind(2, name);
  std::vector<MetricPoint> out;
  while (st.step()) {
    MetricPoint p;
    p.step = st.is_null(0) ? 0 : st.integer(0);
    p.value = nlohmann::json::parse(st.text(1));
    if (p.value.is_object() && p.value.size() == 1 && p.value.contains("$float")) {
      p.value = p.value["$float"];  // "NaN", "Infinity", "-Infinity"
    }
    p.time = st.text(2);
    out.push_back(std::move(p));
  }
  return out;
}

std::map<std::string, std::string> RunStore::params(const std::string& run_id) {
  auto st = db_.prepare("SELECT key, value FROM run_params WHERE run_id = ?");
  st.bind(1, run_id);
  std::map<std::string, std::string> out;
  while (st.step()) out.emplace(st.text(0), st.text(1));
  return out;
}

}  // namespace amlemu::history
