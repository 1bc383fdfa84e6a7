#include "amlemu/run.hpp"

#include "amlemu/errors.hpp"
#include "amlemu/model.hpp"
#include "common/clock.hpp"
#include "common/fs.hpp"
#include "common/supervisor_signals.hpp"
#include "common/text.hpp"
#include "history/run_store.hpp"
#include "registry/registry.hpp"
#include "workspace/layout.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;

bool RunStatus::is_terminal(const std::string& status) {
  return status == Completed || status == Failed || status == Canceled;
}

namespace {
history::RunRecord load(const Workspace& ws, const std::string& id) {
  history::RunStore store(ws);
  auto rec = store.find(id);
  if (!rec) {
    throw NotFoundException("Run '" + id + "' not found in workspace '" + ws.name() + "'");
  }
  // A live run whose supervisor is gone (killed, or the machine restarted) can never finish:
  // whoever looks at it next records that, so its status stays true.
  if (store.fail_if_supervisor_gone(*rec, "its processes were stopped")) rec = store.find(id);
  return *rec;
}
}  // namespace

Run::Run(const Workspace& ws, const std::string& run_id) : ws_(ws), id_(run_id) {
  load(ws_, id_);
}

std::string Run::experiment_name() const { return load(ws_, id_).experiment_name; }

std::string Run::get_status() const { return load(ws_, id_).status; }

std::vector<StatusChange> Run::get_status_history() const {
  return history::RunStore(ws_).status_history(id_);
}

nlohmann::json Run::get_job_definition() const {
  return history::RunStore(ws_).job_definition(id_);
}

nlohmann::json Run::get_details() const {
  const auto rec = load(ws_, id_);
  history::RunStore store(ws_);
  nlohmann::json log_files = nlohmann::json::object();
  const auto artifacts = layout::artifacts(ws_.state_dir(), id_);
  for (const auto& f : fs::list_files(artifacts / layout::kLogsDir)) {
    log_files[std::string(layout::kLogsDir) + "/" + f] =
        (artifacts / layout::kLogsDir / f).string();
  }
  nlohmann::json history = nlohmann::json::array();
  for (const auto& s : store.status_history(id_)) {
    history.push_back({{"status", s.status}, {"time", s.time}});
  }
  nlohmann::json d = {{"runId", rec.run_id},
                      {"experimentName", rec.experiment_name},
                      {"target", rec.target},
                      {"status", rec.status},
                      {"createdTimeUtc", rec.created_time},
                      {"startTimeUtc", rec.start_time ? nlohmann::json(*rec.start_time) : nullptr},
                      {"endTimeUtc", rec.end_time ? nlohmann::json(*rec.end_time) : nullptr},
                      {"properties", rec.properties},
                      {"tags", rec.tags},
                      {"parameters", store.params(id_)},
                      {"inputDatasets", nlohmann::json::array()},
                      {"outputDatasets", nlohmann::json::array()},
                      {"runDefinition", rec.definition},
                      {"logFiles", log_files},
                      {"statusHistory", history}};
  if (!rec.error.is_null()) d["error"] = rec.error;
  const auto warnings = rec.definition.value("warnings", nlohmann::json::array());
  if (!warnings.empty()) d["warnings"] = warnings;
  return d;
}

nlohmann::json Run::get_metrics(const std::optional<std::string>& name) const {
  load(ws_, id_);
  return history::RunStore(ws_).metrics(id_, name);
}

std::vector<MetricPoint> Run::get_metric_history(const std::string& name) const {
  load(ws_, id_);
  return history::RunStore(ws_).metric_history(id_, name);
}

std::map<std::string, std::string> Run::get_params() const {
  load(ws_, id_);
  return history::RunStore(ws_).params(id_);
}

nlohmann::json Run::get_children_sorted_by_primary_metric() const {
  const auto rec = load(ws_, id_);
  if (!rec.properties.contains("primary_metric_config")) {
    throw UserErrorException("run " + id_ + " is not a sweep: it has no primary_metric_config");
  }
  const auto config = nlohmann::json::parse(rec.properties["primary_metric_config"].get<std::string>());
  const auto metric = config.value("name", std::string());
  const bool maximize = config.value("goal", std::string("maximize")) == "maximize";
  history::RunStore store(ws_);
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& child : store.children(id_)) {
    std::optional<double> best;
    for (const auto& p : store.metric_history(child.run_id, metric)) {
      if (!p.value.is_number()) continue;
      const double v = p.value.get<double>();
      if (!best || (maximize ? v > *best : v < *best)) best = v;
    }
    rows.push_back({{"run_id", child.run_id},
                    {"hyperparameters", child.tags.value("hyperparameters", std::string("{}"))},
                    {"best_primary_metric", best ? nlohmann::json(*best) : nlohmann::json(nullptr)},
                    {"status", child.status}});
  }
  std::stable_sort(rows.begin(), rows.end(), [&](const nlohmann::json& a, const nlohmann::json& b) {
    const auto& x = a["best_primary_metric"];
    const auto& y = b["best_primary_metric"];
    if (x.is_null() || y.is_null()) return !x.is_null() && y.is_null();
    return maximize ? x.get<double>() > y.get<double>() : x.get<double>() < y.get<double>();
  });
  return rows;
}

std::optional<Run> Run::get_best_run_by_primary_metric() const {
  const auto rec = load(ws_, id_);
  const auto best = rec.properties.value("best_child_run_id", std::string());
  if (best.empty()) return std::nullopt;
  return Run(ws_, best);
}

std::vector<std::string> Run::get_file_names() const {
  load(ws_, id_);
  return history::RunStore(ws_).file_names(id_);
}

void Run::download_file(const std::string& name, const stdfs::path& output_file_path) const {
  const auto names = get_file_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    throw UserErrorException("File '" + name + "' is not a file of run " + id_);
  }
  stdfs::path dst = output_file_path;
  if (stdfs::is_directory(dst)) dst /= stdfs::path(name).filename();
  if (!dst.parent_path().empty()) stdfs::create_directories(dst.parent_path());
  fs::copy_file(layout::artifacts(ws_.state_dir(), id_) / name, dst);
}

int Run::download_files(const std::string& prefix, const stdfs::path& output_directory,
                        bool append_prefix) const {
  if (!prefix.empty() && prefix.front() == '/') {
    throw UserErrorException("prefix '" + prefix + "' is invalid: it must be relative to the "
                             "run's files, such as outputs/");
  }
  try {
    fs::clean_relative(prefix);
  } catch (const std::invalid_argument& e) {
    throw UserErrorException("prefix '" + printable(prefix) + "' is invalid: " + e.what());
  }
  int count = 0;
  const auto root = layout::artifacts(ws_.state_dir(), id_);
  for (const auto& name : get_file_names()) {
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string rel = append_prefix ? name : name.substr(prefix.size());
    std::string clean;
    try {
      clean = fs::clean_relative(rel);
    } catch (const std::invalid_argument&) {
      continue;
    }
    if (clean.empty()) continue;
    const auto dst = output_directory / clean;
    stdfs::create_directories(dst.parent_path());
    fs::copy_file(root / name, dst);
    ++count;
  }
  return count;
}

Model Run::register_model(const std::string& model_name, const std::string& model_path,
                          const std::map<std::string, std::string>& tags,
                          const std::string& description) const {
  ModelRegistration r;
  r.name = model_name;
  r.tags = tags;
  r.description = description;
  return register_model(model_path, r);
}

Model Run::register_model(const std::string& model_path, ModelRegistration registration) const {
  Model::validate_name(registration.name);
  const auto rec = load(ws_, id_);
  const auto names = get_file_names();
  std::string path;
  if (!model_path.empty() && model_path.front() == '/') {
    throw UserErrorException("model_path '" + model_path +
                             "' is invalid: it must be a path among the run's files, such as "
                             "outputs/model");
  }
  try {
    path = fs::clean_relative(model_path);
  } catch (const std::invalid_argument& e) {
    throw UserErrorException("model_path '" + printable(model_path) + "' is invalid: " + e.what());
  }
  const auto files = layout::artifacts(ws_.state_dir(), id_);
  bool found =
      !path.empty() && std::any_of(names.begin(), names.end(), [&](const std::string& n) {
        return n == path || n.rfind(path + "/", 0) == 0;
      });
  // A live run's script may have written the files straight into the run's files (MLflow's
  // log_model does); they are recorded when the run ends, but are the run's already.
  std::error_code ec;
  if (!found && !path.empty() && !RunStatus::is_terminal(rec.status) &&
      !stdfs::is_symlink(files / path, ec) && stdfs::exists(files / path, ec)) {
    found = true;
  }
  if (!found) {
    std::string listing = "[";
    for (size_t i = 0; i < names.size(); ++i) listing += (i ? ", '" : "'") + names[i] + "'";
    listing += "]";
    throw ModelPathNotFoundException("Could not locate the provided model_path " + model_path +
                                     " in the set of files uploaded to the run: " + listing +
                                     " See https://aka.ms/run-logging for more details.");
  }
  registration.run_id = id_;
  return registry::register_files(ws_, files / path, registration, {id_, rec.experiment_name});
}

void Run::cancel() const {
  const auto rec = load(ws_, id_);
  if (RunStatus::is_terminal(rec.status)) return;
  history::RunStore store(ws_);
  store.set_status(id_, RunStatus::CancelRequested, now_iso());
  // The supervisor ends the run's processes and records Canceled; without a live supervisor
  // there is nothing left to stop.
  // Only the run's own supervisor is signalled: a pid reused after a restart is left alone.
  if (!rec.supervisor_pid || !send_to_supervisor(*rec.supervisor_pid, rec.supervisor_start,
                                                 SupervisorRequest::Cancel)) {
    store.set_status(id_, RunStatus::Canceled, now_iso());
  }
}

std::vector<Run> Run::get_children() const {
  std::vector<Run> out;
  for (const auto& c : history::RunStore(ws_).children(id_)) out.emplace_back(ws_, c.run_id);
  return out;
}

}  // namespace amlemu
