// Experiment and submission: validate everything, then record the run and hand it to a detached
// supervisor. Nothing is written before validation has passed.

#include "amlemu/compute.hpp"
#include "amlemu/errors.hpp"
#include "amlemu/experiment.hpp"
#include "common/clock.hpp"
#include "common/text.hpp"
#include "history/run_store.hpp"
#include "launch/supervisor_start.hpp"
#include "spec/estimator_json.hpp"
#include "submission/snapshot.hpp"
#include "sweep/policy.hpp"
#include "sweep/space.hpp"
#include "workspace/layout.hpp"
#include "common/fs.hpp"
#include "common/ids.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;

nlohmann::json environment_definition(const Estimator& e) {
  return {{"name", e.environment_name},
          {"python",
           {{"userManagedDependencies", e.user_managed_dependencies},
            {"pipPackages", e.pip_packages},
            {"condaPackages", e.conda_packages},
            {"condaChannels", e.conda_channels}}},
          {"environmentVariables", e.environment_variables}};
}

namespace {

std::string param_string(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "None";
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";  // what Python's str() gives
  return v.dump();
}

int per_node(const Estimator& e) {
  return e.distributed_training && e.distributed_training->process_count_per_node > 0
             ? e.distributed_training->process_count_per_node
             : e.process_count_per_node;
}

// runDefinition.communicator, as the service names it.
std::string communicator(const Estimator& e) {
  if (!e.distributed_training) return "None";
  const auto& t = e.distributed_training->type;
  return t == "mpi" ? "Mpi" : t == "tensorflow" ? "ParameterServer" : "Nccl";
}

// What the supervisor reads to start the run's processes.
nlohmann::json distributed(const Estimator& e) {
  if (!e.distributed_training) return nlohmann::json::object();
  const auto& d = *e.distributed_training;
  return {{"type", d.type},
          {"processCountPerNode", per_node(e)},
          {"workerCount", d.worker_count},
          {"parameterServerCount", d.parameter_server_count},
          {"chief", d.chief}};
}

nlohmann::json run_definition(const Estimator& e, const std::string& target) {
  nlohmann::json arguments = nlohmann::json::array();
  nlohmann::json refs = nlohmann::json::object();
  for (const auto& [key, value] : e.script_params) {
    arguments.push_back(key);
    if (const auto* ref = std::get_if<DataReference>(&value)) {
      arguments.push_back(ref->to_string());
      refs[ref->data_reference_name] = {
          {"dataStoreName", ref->datastore_name},
          {"mode", ref->mode == "download" ? "Download" : ref->mode == "direct" ? "Direct" : "Mount"},
          {"pathOnDataStore", ref->path_on_datastore},
          {"pathOnCompute",
           ref->path_on_compute.empty() ? nlohmann::json(nullptr) : nlohmann::json(ref->path_on_compute)},
          {"overwrite", ref->overwrite}};
      if (!ref->mirror_url.empty()) refs[ref->data_reference_name]["mirrorUrl"] = ref->mirror_url;
      if (ref->mode == "direct") refs[ref->data_reference_name]["uri"] = ref->direct_uri;
    } else {
      arguments.push_back(param_string(std::get<nlohmann::json>(value)));
    }
  }
  for (const auto& a : e.arguments) arguments.push_back(a);
  return {{"script", e.entry_script},
          {"arguments", arguments},
          {"command", e.command},
          {"outputs", e.outputs},
          {"outputSettings", output_settings_json(e)},
          {"warnings", e.warnings},
          {"environmentNote", e.environment_note},
          {"framework", "Python"},
          {"frameworkName", e.framework},
          {"frameworkVersion", e.framework_version},
          {"target", target},
          {"nodeCount", e.node_count},
          {"communicator", communicator(e)},
          {"distributed", distributed(e)},
          {"useGpu", e.use_gpu},
          {"dataReferences", refs},
          {"maxRunDurationSeconds", e.max_run_duration_seconds},
          {"environment", environment_definition(e)},
          {"history", {{"outputCollection", true}, {"directoriesToWatch", {"logs"}}}},
          {"mpi", {{"processCountPerNode", per_node(e)}}},
          {"tensorflow",
           {{"workerCount", e.distributed_training ? e.distributed_training->worker_count : 1},
            {"parameterServerCount",
             e.distributed_training ? e.distributed_training->parameter_server_count : 1}}},
          {"pyTorch",
           {{"communicationBackend",
             e.distributed_training ? e.distributed_training->communication_backend : "Nccl"},
            {"processCount", per_node(e) * e.node_count}}},
          {"docker", {{"shmSize", "2g"}}}};
}

// $AMLEMU_AUTO_CREATE_COMPUTE=1: a missing cluster is created on first use, from
// $AMLEMU_AUTO_COMPUTE_SIZE (default Standard_DS3_v2) with up to 4 nodes.
void auto_create_compute(const Workspace& ws, const std::string& name) {
  const char* opt_in = std::getenv("AMLEMU_AUTO_CREATE_COMPUTE");
  if (!opt_in || std::string(opt_in) != "1") return;
  try {
    ComputeTarget existing(ws, name);
  } catch (const ComputeTargetException&) {
    const char* size = std::getenv("AMLEMU_AUTO_COMPUTE_SIZE");
    ComputeTarget::create(ws, name,
                          AmlCompute::provisioning_configuration(size && *size ? size : "Standard_DS3_v2",
                                                                 "dedicated", 0, 4));
  }
}

void validate(const Workspace& ws, const Estimator& e) {
  std::error_code ec;
  if (!stdfs::is_directory(e.source_directory, ec)) {
    throw UserErrorException("source_directory '" + e.source_directory.string() +
                             "' is not a directory");
  }
  const auto script = e.source_directory / e.entry_script;
  if (!e.command.empty()) {
    // A v2 command job names no entry script; its command runs as written.
  } else if (stdfs::is_directory(script, ec)) {
    throw UserErrorException("entry_script '" + e.entry_script + "' is a directory in " +
                             e.source_directory.string());
  }
  if (e.command.empty() && !stdfs::is_regular_file(script, ec)) {
    throw UserErrorException("entry_script '" + e.entry_script + "' not found in source_directory '" +
                             e.source_directory.string() + "'");
  }
  if (e.compute_target != "local") {
    auto_create_compute(ws, e.compute_target);
    const ComputeTarget target(ws, e.compute_target);  // throws when missing
    if (e.node_count > *target.configuration().max_nodes) {
      throw ComputeTargetException(
          "node_count " + std::to_string(e.node_count) + " is above max_nodes " +
          std::to_string(*target.configuration().max_nodes) + " of compute target '" +
          e.compute_target + "'");
    }
  }
  if (!e.distributed_training && (e.node_count > 1 || e.process_count_per_node > 1)) {
    throw UserErrorException(
        "node_count: several nodes or processes need distributed_training (mpi, tensorflow or "
        "pytorch) to say how to start them");
  }
  if (e.compute_target == "local" && e.node_count > 1) {
    throw UserErrorException("node_count: the local target is one node; use an AmlCompute "
                             "cluster for node_count " + std::to_string(e.node_count));
  }
  for (const auto& [key, value] : e.script_params) {
    if (const auto* ref = std::get_if<DataReference>(&value)) {
      const auto where =
          key.empty() ? "inputs." + ref->data_reference_name : "script_params." + key;
      if (!ref->mirror_url.empty()) continue;  // the offline mirror's, checked when it was named
      std::optional<Datastore> ds;
      try {
        ds = Datastore::get(ws, ref->datastore_name);
      } catch (const NotFoundException&) {
        throw UserErrorException(where + ": datastore '" + ref->datastore_name +
                                 "' not found in workspace '" + ws.name() + "'");
      }
      // A link inside the datastore must not carry the run's mount outside it.
      if (!fs::is_within(ds->root(), ds->root() / ref->path_on_datastore)) {
        throw UserErrorException(where + ": path_on_datastore '" + ref->path_on_datastore +
                                 "' leaves datastore '" + ref->datastore_name + "'");
      }
    }
  }
}

}  // namespace

Experiment::Experiment(const Workspace& ws, const std::string& name) : ws_(ws), name_(name) {
  if (!matches(name, kRunName)) {
    throw UserErrorException("experiment_name '" + name +
                             "' is invalid: use 1 to 255 letters, digits, '_' or '-', starting "
                             "with a letter or digit");
  }
}

namespace {

// Starts the recorded run's supervisor; a run whose supervisor cannot start is Failed.
void start_supervisor(const Workspace& ws, const std::string& run_id) {
  try {
    launch::spawn_supervisor(ws, run_id);
  } catch (const std::exception& e) {
    history::RunStore(ws).set_status(
        run_id, RunStatus::Failed, now_iso(),
        {{"error", {{"code", "ServiceError"}, {"message", e.what()}}}});
  }
}

// The ordinary submission path, for top-level runs and child runs alike.
Run submit_run(const Workspace& ws, const std::string& experiment, const Estimator& estimator,
               const std::string& parent_run_id) {
  validate(ws, estimator);
  launch::announce_workspace(ws);  // the supervisor forked ahead gets ready meanwhile
  // The snapshot is stored once per content (and checked against the limits) before anything
  // about the run is written; a stored snapshot that no run uses is harmless and reusable.
  const std::string snapshot_id = submission::store_snapshot(
      estimator.source_directory, layout::snapshots(ws.state_dir()), {});
  const auto now = real_clock().wall();
  // A v2 job's `name` is its run id, and must be new.
  const std::string run_id =
      estimator.run_name.empty() ? make_run_id(experiment, epoch_seconds(now)) : estimator.run_name;
  if (!estimator.run_name.empty() && history::RunStore(ws).find(run_id)) {
    throw UserErrorException("name: a job named '" + run_id + "' already exists in workspace '" +
                             ws.name() + "'");
  }
  const auto run_dir = layout::run_dir(ws.state_dir(), run_id);
  try {
    stdfs::create_directories(layout::artifacts(ws.state_dir(), run_id) / layout::kLogsDir);
    history::RunRecord rec;
    rec.run_id = run_id;
    rec.experiment_name = experiment;
    rec.target = estimator.compute_target;
    rec.definition = run_definition(estimator, estimator.compute_target);
    rec.definition["snapshotId"] = snapshot_id;
    rec.properties = {{"ContentSnapshotId", snapshot_id},
                      {"ProcessInfoFile", "azureml-logs/process_info.json"},
                      {"ProcessStatusFile", "azureml-logs/process_status.json"},
                      {"azureml.runsource", "experiment"}};
    if (!estimator.display_name.empty()) rec.properties["displayName"] = estimator.display_name;
    if (!estimator.description.empty()) rec.properties["description"] = estimator.description;
    rec.tags = estimator.tags;
    rec.parent_run_id = parent_run_id;
    rec.job_definition = estimator.job_definition;
    history::RunStore(ws).insert_run(rec, iso_utc(now));
  } catch (...) {
    std::error_code ec;
    stdfs::remove_all(run_dir, ec);
    throw;
  }
  start_supervisor(ws, run_id);
  return Run(ws, run_id);
}

}  // namespace

Run Experiment::submit(const Estimator& estimator) const {
  return submit_run(ws_, name_, estimator, "");
}

Run Run::submit_child(const Estimator& config) const {
  return submit_run(ws_, experiment_name(), config, id_);
}

Run Experiment::submit_parent(const std::vector<nlohmann::ordered_json>& child_specs,
                              const stdfs::path& spec_directory, int max_concurrent_runs) const {
  if (child_specs.empty()) throw UserErrorException("children: a parent run needs child runs");
  if (max_concurrent_runs < 0) {
    throw UserErrorException("max_concurrent_runs must be 0 (all at once) or more");
  }
  nlohmann::json children = nlohmann::json::array();
  for (size_t i = 0; i < child_specs.size(); ++i) {
    const auto spec = parse_job_spec(child_specs[i], spec_directory,
                                     "children[" + std::to_string(i) + "]");
    validate(ws_, spec.estimator);
    children.push_back(child_specs[i].dump());  // as text: its keys keep their order
  }
  const auto now = real_clock().wall();
  history::RunRecord rec;
  rec.run_id = make_run_id(name_, epoch_seconds(now));
  rec.experiment_name = name_;
  rec.target = "local";
  rec.definition = {{"kind", "parent"},
                    {"children", children},
                    {"specDirectory", stdfs::absolute(spec_directory).string()},
                    {"maxConcurrentRuns", max_concurrent_runs},
                    {"maxRunDurationSeconds", 2592000}};
  rec.properties = {{"azureml.runsource", "parent"}};
  stdfs::create_directories(layout::artifacts(ws_.state_dir(), rec.run_id) / layout::kLogsDir);
  history::RunStore(ws_).insert_run(rec, iso_utc(now));
  start_supervisor(ws_, rec.run_id);
  return Run(ws_, rec.run_id);
}

Run Experiment::submit_sweep(const Estimator& trial_in, const nlohmann::json& sweep) const {
  // Checked again here (the C++ API may be called with any document): nothing is written
  // before every part is known good.
  const auto space = sweep::parse_space(sweep.at("searchSpace"), true, "search_space");
  const auto sampling = sweep.at("sampling").value("type", std::string("random"));
  const auto policy = sweep::parse_policy_v2(sweep.value("earlyTermination", nlohmann::json()), "early_termination");
  sweep::check_sampling(sampling, space, policy, "early_termination");
  const auto& objective = sweep.at("objective");
  const auto goal = sweep::parse_goal(objective.at("goal").get<std::string>(), "objective.goal");
  const auto metric = objective.at("primaryMetric").get<std::string>();
  const auto& limits = sweep.at("limits");
  Estimator trial = trial_in;
  validate(ws_, trial);
  // The trials' code is the code as it is now: stored once, and each trial's snapshot is made
  // from the stored copy (the same content, so the same snapshot).
  const auto snapshots = layout::snapshots(ws_.state_dir());
  trial.source_directory = submission::snapshot_dir(
      snapshots, submission::store_snapshot(trial.source_directory, snapshots, {}));
  const auto now = real_clock().wall();
  history::RunRecord rec;
  rec.run_id = trial.run_name.empty() ? make_run_id(name_, epoch_seconds(now)) : trial.run_name;
  history::RunStore store(ws_);
  if (store.find(rec.run_id)) {
    throw UserErrorException("name: a job named '" + rec.run_id + "' already exists in workspace '" +
                             ws_.name() + "'");
  }
  trial.run_name.clear();
  // A sweep made over REST keeps its job body on the parent; its trials are plain command runs.
  rec.job_definition = trial.job_definition;
  trial.job_definition = nullptr;
  rec.experiment_name = name_;
  rec.target = trial.compute_target;
  rec.definition = {{"kind", "sweep"},
                    {"trial", spec::estimator_to_json(trial)},
                    {"sweep", sweep},
                    {"maxRunDurationSeconds", limits.at("timeoutSeconds").get<long long>()}};
  rec.properties = {
      {"azureml.runsource", "hyperdrive"},
      {"runTemplate", "HyperDrive"},
      {"primary_metric_config",
       nlohmann::json{{"name", metric}, {"goal", goal == sweep::Goal::maximize ? "maximize" : "minimize"}}.dump()}};
  if (!trial.display_name.empty()) rec.properties["displayName"] = trial.display_name;
  if (!trial.description.empty()) rec.properties["description"] = trial.description;
  rec.tags = trial.tags;
  stdfs::create_directories(layout::artifacts(ws_.state_dir(), rec.run_id) / layout::kLogsDir);
  store.insert_run(rec, iso_utc(now));
  start_supervisor(ws_, rec.run_id);
  return Run(ws_, rec.run_id);
}

std::vector<Run> Experiment::get_runs(int max_results) const {
  std::vector<Run> out;
  for (const auto& r : history::RunStore(ws_).list(name_, max_results)) {
    out.emplace_back(ws_, r.run_id);
  }
  return out;
}

std::vector<Run> list_runs(const Workspace& ws, int max_results) {
  std::vector<Run> out;
  for (const auto& r : history::RunStore(ws).list(std::nullopt, max_results)) {
    out.emplace_back(ws, r.run_id);
  }
  return out;
}

std::vector<ExperimentInfo> list_experiments(const Workspace& ws) {
  return history::RunStore(ws).experiments();
}

std::vector<LoggedModelInfo> list_logged_models(const Workspace& ws) {
  return history::RunStore(ws).logged_models();
}

void set_logged_model_tags(const Workspace& ws, const std::string& model_id,
                           const std::map<std::string, std::string>& tags) {
  if (!history::RunStore(ws).set_logged_model_tags(model_id, tags)) {
    throw NotFoundException("Logged model with ID '" + model_id + "' not found.");
  }
}

void prepare_submission() { launch::prefork_supervisor(); }

}  // namespace amlemu
