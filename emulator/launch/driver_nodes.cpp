// A run's nodes: their folders, process environments and named outputs, the process that failed
// first, preemption, and what is removed when the run ends.
#include "launch/driver.hpp"
#include "launch/supervisor.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <random>
#include <sstream>

#include "amlemu/assets.hpp"
#include "amlemu/errors.hpp"
#include "amlemu/run.hpp"
#include "collection/collect.hpp"
#include "collection/live_sync.hpp"
#include "common/fs.hpp"
#include "common/paths.hpp"
#include "common/proc.hpp"
#include "compute/node_source.hpp"
#include "environment/environment.hpp"
#include "datastore/mount.hpp"
#include "history/run_store.hpp"
#include "launch/job_folder.hpp"
#include "launch/process_environment.hpp"
#include "launch/process_set.hpp"
#include "launch/run_tasks.hpp"
#include "launch/service_logs.hpp"
#include "submission/snapshot.hpp"
#include "workspace/layout.hpp"

namespace amlemu::launch {

namespace stdfs = std::filesystem;

double preemption_rate() {
  const char* env = std::getenv("AMLEMU_PREEMPTION_RATE");
  return env && *env ? std::atof(env) : 0.0;
}

NodeContext Driver::prepare_node(const history::RunRecord& rec, size_t i) {
  JobFolder folder{ws_.state_dir(), ws_.name(), id_, target_, snapshot_source(rec),
                   rec.properties.value("ContentSnapshotId", ""),
                   rec.definition.value("dataReferences", nlohmann::json::object()),
                   rec.definition.value("useGpu", false)};
  return prepare_job_folder(folder, held_[i], i, logs_);
}

void Driver::compose_node_environments(const history::RunRecord& rec, const environment::Prepared& env) {
  const auto& def = rec.definition;
  const auto details = ws_.get_details();
  RunFacts run;
  run.run_id = id_;
  run.experiment_name = rec.experiment_name;
  run.experiment_id = store_.experiment_id(rec.experiment_name);
  run.subscription_id = ws_.subscription_id();
  run.resource_group = ws_.resource_group();
  run.workspace_name = ws_.name();
  run.workspace_id = details["workspaceid"];
  run.database = layout::database(ws_.state_dir());
  run.artifacts = artifacts_;
  run.workspace_dir = ws_.state_dir();
  run.cli = cli_executable();
  run.python_package = share_dir() / "python";
  run.python = env.python;
  run.virtual_environment = stdfs::exists(env.python.parent_path().parent_path() / "pyvenv.cfg");
  run.token_expiry = epoch_seconds(clock_.wall()) + def.value("maxRunDurationSeconds", 0);
  if (def.contains("environment") && def["environment"].contains("environmentVariables")) {
    for (const auto& [k, v] : def["environment"]["environmentVariables"].items()) {
      run.job_variables[k] = v.get<std::string>();
    }
  }
  std::vector<std::string> addresses;
  for (const auto& n : held_) addresses.push_back(n.address);
  const auto inherited = current_environment();
  const auto outputs = def.value("outputs", nlohmann::json::object());
  output_settings_ = output_settings_from_json(def.value("outputSettings", nlohmann::json::object()));
  const auto& settings = output_settings_;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    auto& c = nodes_[i];
    NodeFacts facts{c.node, c.wd, c.placeholders, {}, addresses, c.cache_variables};
    for (const auto& [name, mode] : outputs.items()) {
      // rw_mount: the script writes straight into the output's datastore folder (shared by the
      // nodes, visible as it goes); upload: into the node's folder, copied there at the end.
      const auto place = output_place(name, settings);
      collection::NamedOutput out{name, place.first, place.first, mode == "upload", place.second};
      if (out.upload) out.written = c.job_dir / "named-outputs" / name;
      stdfs::create_directories(out.written);
      facts.output_paths[name] = (out.file.empty() ? out.written : out.written / out.file).string();
      // A mounted output is recorded into run history once, not once per node.
      if (out.upload || i == 0) c.outputs.push_back(std::move(out));
    }
    c.env = compose_environment(inherited, run, facts);
  }
}

std::pair<stdfs::path, std::string> Driver::output_place(
    const std::string& name, const std::map<std::string, OutputSettings>& settings) const {
  const auto it = settings.find(name);
  if (it == settings.end() || it->second.datastore.empty()) {
    return {layout::datastore(ws_.state_dir(), "workspaceblobstore") / "azureml" / id_ / name, ""};
  }
  const auto& s = it->second;
  const auto root = layout::datastore(ws_.state_dir(), s.datastore);
  if (s.type == "uri_file") {
    const stdfs::path p = s.path_on_datastore;
    return {root / p.parent_path(), p.filename().string()};
  }
  return {root / s.path_on_datastore, ""};
}

void Driver::register_output_assets() {
  for (const auto& [name, s] : output_settings_) {
    if (s.asset_name.empty()) continue;
    DataVersion data;
    data.name = s.asset_name;
    data.version = s.asset_version;
    data.type = s.type == "uri_file" ? "uri_file" : "uri_folder";
    const auto ds = s.datastore.empty() ? std::string("workspaceblobstore") : s.datastore;
    const auto path = s.datastore.empty() ? "azureml/" + id_ + "/" + name : s.path_on_datastore;
    data.uri = "azureml://datastores/" + ds + "/paths/" + path + (data.type == "uri_folder" ? "/" : "");
    data.definition["description"] = "Output " + name + " of job " + id_;
    data.definition["properties"] = {{"azureml.jobName", id_}, {"azureml.outputName", name}};
    std::string line;
    try {
      const auto made = create_data_version(ws_, data);
      line = "Registered output " + name + " as data asset " + made.name + ":" + made.version;
    } catch (const std::exception& e) {
      line = "Registering output " + name + " as data asset " + s.asset_name + " failed: " + e.what();
    }
    logs_.post(0, {line});
  }
}

std::optional<FailedProcess> Driver::failed_process(const ProcessSet& set, const TaskPlan& plan) {
  const auto first = set.first_failure();
  if (!first) return std::nullopt;
  const auto& m = set.members()[*first];
  FailedProcess f{m.name, m.log, m.code.value_or(1)};
  if (!plan.rank_status_dir.empty()) {
    int rank_code = 0;
    int rank = first_failed_rank(plan.rank_status_dir, &rank_code);
    if (rank < 0) {
      rank = rank_with_traceback(logs_dir_, plan.ranks);
      rank_code = 1;
    }
    if (rank >= 0) f = {"rank " + std::to_string(rank), "70_driver_log_" + std::to_string(rank) + ".txt", rank_code};
  }
  return f;
}

bool Driver::node_preempted() {
  if (!nodes_source_->preemptible() || held_.empty()) return false;
  if (interrupts_.preempt) {
    preempted_node_ = nodes_source_->preempted(held_).value_or(held_.front().node_id);
    return true;
  }
  if (preemption_rate_ > 0) {
    const double p = preemption_rate_ * static_cast<double>(policy_.poll.count()) *
                     static_cast<double>(held_.size()) / 3.6e6;
    if (std::uniform_real_distribution<double>(0, 1)(rng_) < p) {
      const auto& victim = held_[rng_() % held_.size()];
      nodes_source_->preempt(victim);
      preempted_node_ = victim.node_id;
      return true;
    }
  }
  return false;
}

void Driver::sync_user_logs(const stdfs::path& wd) {
  const auto copied = collection::sync_user_logs(wd, artifacts_);
  if (!copied.empty()) store_.add_files(id_, copied);
}

stdfs::path Driver::snapshot_source(const history::RunRecord& rec) const {
  return submission::snapshot_dir(layout::snapshots(ws_.state_dir()),
                                  rec.definition.at("snapshotId").get<std::string>());
}

void Driver::cleanup() {
  env_.reset();  // the environment's in-use lock
  std::error_code ec;
  for (const auto& c : nodes_) retire_job_folder(c);
  stdfs::remove_all(scratch_dir(), ec);
  stdfs::remove_all(layout::run_mounts(ws_.state_dir(), id_), ec);  // empty points
  if (nodes_source_) {
    try {
      nodes_source_->release();
    } catch (const std::exception&) {
    }
  }
}

}  // namespace amlemu::launch
