#include "launch/supervisor.hpp"

#include "launch/driver.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <sstream>

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
#include "launch/supervisor_start.hpp"
#include "workspace/layout.hpp"

namespace amlemu::launch {

namespace stdfs = std::filesystem;

namespace {

std::string fmt_seconds(double s) { return std::to_string(s).substr(0, 5) + " s"; }
std::string fmt_ms(double s) { return std::to_string(static_cast<int>(s * 1000)) + " ms"; }

// $AMLEMU_NODE_MEMORY_CAP=1 caps each process's address space at the VM size's memory.
bool memory_cap_enabled() {
  const char* env = std::getenv("AMLEMU_NODE_MEMORY_CAP");
  return env && std::string(env) == "1";
}

// The command every process of the run starts from. v1: python <entry script> <arguments>;
// v2: the job's command, through the shell, which expands each node's own ${AZURE_ML_INPUT_x}
// and ${AZURE_ML_OUTPUT_x}.
std::vector<std::string> script_command(const nlohmann::json& def, const stdfs::path& python) {
  if (!def.value("command", "").empty()) return {"/bin/sh", "-c", def["command"].get<std::string>()};
  std::vector<std::string> command = {python.string(), def["script"].get<std::string>()};
  const auto args = def["arguments"].get<std::vector<std::string>>();
  command.insert(command.end(), args.begin(), args.end());
  return command;
}

}  // namespace

int Driver::run() {
  auto rec = store_.find(id_);
  if (!rec) return 1;
  stdfs::create_directories(logs_dir_);
  try {
    drive(*rec);
  } catch (const std::exception& e) {
    fail(service_error("ServiceError", e.what()));
  }
  cleanup();
  return 0;
}

void Driver::drive(const history::RunRecord& rec) {
  const auto& def = rec.definition;
  // A run canceled (or failed) before its supervisor started has nothing left to do.
  if (RunStatus::is_terminal(store_.status(id_).value_or(RunStatus::Failed))) return;
  const auto run_kind = def.value("kind", "");
  if (run_kind == "parent" || run_kind == "sweep") {
    stop_adopting_orphans();
    return run_kind == "parent" ? drive_parent(rec) : drive_sweep(rec);
  }
  if (!rec.parent_run_id.empty()) {
    const auto parent = store_.find(rec.parent_run_id);
    const auto kind = parent ? parent->definition.value("kind", "") : "";
    if (kind == "sweep" || kind == "parent") driving_parent_ = rec.parent_run_id;
  }
  nodes_source_ = compute::make_node_source(ws_, id_, rec.target, def.value("nodeCount", 1),
                                            clock_);
  target_ = rec.target;

  // Preparing and Queued are held back, each with its own time, and written with the next
  // status in one transaction, unless this run has to wait in them (an environment to build,
  // no node free, data to download): then they are written before the wait.
  defer(RunStatus::Preparing);
  if (canceled()) return;
  auto& env = env_ = prepare_environment(def);
  if (!env) return;

  defer(RunStatus::Queued);
  if (canceled() || !acquire_nodes()) return;
  if (datastore::any_download(def.value("dataReferences", nlohmann::json::object())) &&
      !flush()) {
    return;
  }
  for (size_t i = 0; i < held_.size(); ++i) nodes_.push_back(prepare_node(rec, i));

  if (!status(RunStatus::Running) || canceled()) return;
  for (const auto& w : def.value("warnings", std::vector<std::string>{})) {
    logs_.execution("Warning: " + w);
  }
  if (!def.value("environmentNote", "").empty()) {
    logs_.execution(def["environmentNote"].get<std::string>());
  }
  compose_node_environments(rec, *env);
  TaskPlan plan;
  try {
    plan = plan_tasks(def, nodes_, script_command(def, env->python), logs_dir_, scratch_dir());
  } catch (const UserErrorException& e) {
    logs_.execution(e.what());
    fail(service_error("UserError", e.what()));
    return;
  }
  const auto [reason, failed] = run_processes(plan, def.value("maxRunDurationSeconds", 2592000));
  plan.ports.reset();  // the servers' ports go back now, not after the terminal status

  const auto outcome = decide_outcome(
      reason, failed, def.value("maxRunDurationSeconds", 0), preempted_node_,
      [&](const std::string& log) { return fs::read_tail(logs_dir_ / log, 16384); });
  logs_.close_primary(logs_dir_ / plan.primary_log, outcome.closing_line);
  finalize(outcome);
}

std::optional<environment::Prepared> Driver::prepare_environment(const nlohmann::json& def) {
  try {
    const auto spec = environment::resolve(def, launcher_);
    for (const auto& note : spec.notes) logs_.execution(note);
    if (!environment::is_ready(spec, layout::environments(ws_.state_dir())) && !flush()) {
      return std::nullopt;  // the run ended meanwhile (a cancel)
    }
    auto env = environment::prepare(spec, layout::environments(ws_.state_dir()),
                                    logs_dir_ / "20_image_build_log.txt", launcher_);
    logs_.execution("Interpreter: " + spec.interpreter);
    std::map<std::string, std::string> recorded = {{"amlemu.interpreter", spec.interpreter}};
    if (!env.id.empty()) recorded["amlemu.environmentId"] = env.id;
    properties_.insert(recorded.begin(), recorded.end());  // written with the next status
    if (spec.user_managed) {
      logs_.execution("user_managed_dependencies: using " + env.python.string() + " as it is");
    } else if (env.built) {
      logs_.execution("Environment " + env.id + " built in " + fmt_seconds(env.seconds));
    } else {
      logs_.execution("Environment " + env.id + " found in the cache, reused in " +
                      fmt_ms(env.seconds));
    }
    return env;
  } catch (const UserErrorException& e) {
    logs_.execution(std::string("Preparing failed: ") + e.what());
    logs_.open_nodes({compute::node_id(ws_.get_details()["workspaceid"], target_, 0)});
    fail(service_error("UserError", std::string("Preparing failed: ") + e.what()));
    return std::nullopt;
  }
}

bool Driver::acquire_nodes() {
  // A cluster's scheduler may end the run in its first step (the "fail" GPU policy): what is
  // held back is written first, so the run's history keeps Preparing and Queued.
  if (target_ != "local" && !flush()) return false;
  for (;;) {
    held_ = nodes_source_->try_acquire();
    if (!held_.empty()) break;
    if (!flush()) return false;  // waiting: Queued shows
    // The scheduler may have ended the run (its GPUs cannot be had under the "fail" policy).
    if (RunStatus::is_terminal(store_.status(id_).value_or(RunStatus::Failed))) return false;
    if (interrupts_.cancel || parent_gone()) {
      nodes_source_->release();
      status(RunStatus::Canceled);
      return false;
    }
    clock_.sleep_for(policy_.queue_poll);
  }
  std::vector<std::string> ids;
  for (const auto& n : held_) ids.push_back(n.node_id);
  logs_.open_nodes(ids);
  return true;
}

std::pair<StopReason, std::optional<FailedProcess>> Driver::run_processes(const TaskPlan& plan,
                                                                  int max_seconds) {
  ProcessSet set(launcher_, clock_, policy_.poll, policy_.grace);
  processes_started_ = true;
  const auto started = clock_.wall();
  bool capped = false;
  for (const auto& t : plan.tasks) {
    Member m{t, nullptr, std::nullopt, false, {}};
    const double gb = held_[static_cast<size_t>(t.node)].size.memory_gb;
    if (memory_cap_enabled() && gb > 0) {
      m.spec.memory_limit_bytes = static_cast<std::uint64_t>(gb * 1073741824.0);
      capped = true;
    }
    set.start(std::move(m));
  }
  if (capped) {
    logs_.execution("Memory of each process capped at the VM size's memory (AMLEMU_NODE_MEMORY_CAP)");
  }
  std::vector<std::string> ids, addresses;
  for (const auto& n : held_) {
    ids.push_back(n.node_id);
    addresses.push_back(n.address);
  }
  logs_.process_info(set.members(), ids, addresses, started);

  const auto deadline = clock_.now() + std::chrono::seconds(max_seconds);
  auto next_sync = clock_.now() + policy_.logs_sync;
  const auto reason = set.wait(
      [&]() -> std::optional<StopRequest> {
        if (node_preempted()) return StopRequest{StopReason::Preempted, immediate_stop()};
        if (interrupts_.cancel || parent_gone()) {
          return StopRequest{StopReason::Canceled, graceful_stop(policy_.grace)};
        }
        if (clock_.now() >= deadline) {
          status(RunStatus::CancelRequested);
          return StopRequest{StopReason::TimedOut, graceful_stop(policy_.grace)};
        }
        return std::nullopt;
      },
      [&] {
        if (clock_.now() < next_sync) return;
        for (const auto& n : nodes_) sync_user_logs(n.wd);
        next_sync = clock_.now() + policy_.logs_sync;
      });
  logs_.process_status(set.members(), ids, addresses, started);
  return {reason, failed_process(set, plan)};
}

void Driver::finalize(const Outcome& outcome) {
  if (outcome.through_finalizing) {
    const bool little = std::all_of(nodes_.begin(), nodes_.end(), [](const NodeContext& n) {
      return collection::little_to_collect(n.wd, n.outputs);
    });
    if (little) {
      defer(RunStatus::Finalizing);
    } else if (!status(RunStatus::Finalizing)) {
      return;
    }
  }
  nlohmann::json collect_error;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    // Every node's ./outputs and ./logs land in one run history, as on the service.
    std::ostringstream collected;
    try {
      collection::collect_outputs(nodes_[i].wd, artifacts_, collected);
      collection::collect_named_outputs(nodes_[i].outputs, artifacts_, collected);
    } catch (const std::exception& e) {
      // A full disk (or any copy failure) fails the run; what was copied stays in history.
      if (collect_error.is_null()) {
        collect_error = service_error(
            "ServiceError",
            std::string("Collecting the run's outputs into run history failed: ") + e.what());
      }
      collected << "Collecting outputs failed: " << e.what() << "\n";
    }
    std::vector<std::string> lines;
    std::istringstream in(collected.str());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    lines.push_back("Job release finished");
    logs_.post(i, lines);
  }
  register_files();
  if (outcome.status == RunStatus::Completed && collect_error.is_null()) register_output_assets();
  const bool recorded = outcome.status == RunStatus::Completed && !collect_error.is_null()
                            ? status(RunStatus::Failed, collect_error)
                            : status(outcome.status.c_str(), outcome.error);
  // A cancel asked for while the run was finishing: it ends Canceled, as asked.
  if (!recorded && store_.status(id_).value_or("") == RunStatus::CancelRequested) {
    store_.set_status(id_, RunStatus::Canceled, clock_.wall_iso());
  }
}

bool Driver::status(const char* s, const nlohmann::json& error) {
  if (RunStatus::is_terminal(s)) cleanup();
  deferred_.push_back({s, clock_.wall_iso(), error});
  return flush();
}

bool Driver::flush() {
  if (deferred_.empty()) return true;
  const bool ok = store_.set_statuses(id_, deferred_, properties_, files_);
  deferred_.clear();
  properties_.clear();
  files_.clear();
  // Before the processes start, a cancel asked for meanwhile (CancelRequested) refuses the
  // way forward: the run ends Canceled, as asked, not abandoned in CancelRequested.
  if (!ok && !processes_started_ &&
      store_.status(id_).value_or("") == RunStatus::CancelRequested) {
    cleanup();
    store_.set_status(id_, RunStatus::Canceled, clock_.wall_iso());
  }
  return ok;
}

bool Driver::parent_gone() {
  if (parent_ended_) return true;
  if (driving_parent_.empty() || clock_.now() < next_parent_look_) return false;
  next_parent_look_ = clock_.now() + std::chrono::seconds(1);
  const auto parent = store_.find(driving_parent_);
  if (parent && !RunStatus::is_terminal(parent->status) && !history::RunStore::supervisor_gone(*parent)) {
    return false;
  }
  logs_.execution("The parent run " + driving_parent_ + " has ended or its supervisor is gone: this run is canceled");
  parent_ended_ = true;
  return true;
}

bool Driver::canceled() {
  if (!interrupts_.cancel) return false;
  status(RunStatus::Canceled);
  return true;
}

void Driver::fail(const nlohmann::json& error) {
  register_files();
  status(RunStatus::Failed, error);
}

std::vector<std::string> substitute_data_references(
    const std::vector<std::string>& args, const std::map<std::string, std::string>& paths) {
  std::vector<std::string> out;
  for (auto arg : args) {
    for (const auto& [name, path] : paths) {
      const std::string token = "$AZUREML_DATAREFERENCE_" + name;
      for (size_t pos = arg.find(token); pos != std::string::npos;
           pos = arg.find(token, pos + path.size())) {
        arg.replace(pos, token.size(), path);
      }
    }
    out.push_back(arg);
  }
  return out;
}

int supervise(const Workspace& ws, const std::string& run_id, Launcher& launcher, Clock& clock,
              const Interrupts& interrupts, const StopPolicy& policy) {
  history::RunStore(ws).set_supervisor(run_id, ::getpid(), process_start_ticks(::getpid()));
  return Driver(ws, run_id, launcher, clock, interrupts, policy).run();
}

}  // namespace amlemu::launch
