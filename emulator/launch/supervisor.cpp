#include "launch/supervisor.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <random>
#include <set>
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
#include "launch/bayesian_sampler.hpp"
#include "launch/child_runs.hpp"
#include "launch/sweep_runs.hpp"
#include "launch/job_folder.hpp"
#include "launch/process_environment.hpp"
#include "launch/process_set.hpp"
#include "launch/run_tasks.hpp"
#include "launch/service_logs.hpp"
#include "submission/snapshot.hpp"
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

double preemption_rate() {
  const char* env = std::getenv("AMLEMU_PREEMPTION_RATE");
  return env && *env ? std::atof(env) : 0.0;
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

class Driver {
 public:
  Driver(const Workspace& ws, std::string run_id, Launcher& launcher, Clock& clock,
         const Interrupts& interrupts, const StopPolicy& policy)
      : ws_(ws), store_(ws), id_(std::move(run_id)), launcher_(launcher), clock_(clock),
        interrupts_(interrupts), policy_(policy),
        artifacts_(layout::artifacts(ws.state_dir(), id_)),
        logs_dir_(artifacts_ / layout::kLogsDir), logs_(logs_dir_, clock) {}

  int run() {
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

 private:
  // ---- The state machine: one status after another. ----

  void drive(const history::RunRecord& rec) {
    const auto& def = rec.definition;
    // A run canceled (or failed) before its supervisor started has nothing left to do.
    if (RunStatus::is_terminal(store_.status(id_).value_or(RunStatus::Failed))) return;
    if (def.value("kind", "") == "parent") return drive_parent(rec);
    if (def.value("kind", "") == "sweep") return drive_sweep(rec);
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

  // A parent run: Running while its children run (each an ordinary run with its own
  // supervisor), then the status its children roll up to.
  void drive_parent(const history::RunRecord& rec) {
    const auto& def = rec.definition;
    target_ = rec.target;
    if (!status(RunStatus::Running) || canceled()) return;
    const auto parent_log = logs_dir_ / "parent_log.txt";
    const int max_seconds = def.value("maxRunDurationSeconds", 2592000);
    const auto deadline = clock_.now() + std::chrono::seconds(max_seconds);
    auto source = listed_children(def);
    const auto result = run_children(
        ws_, id_, *source, def.value("maxConcurrentRuns", 0), launcher_, clock_, policy_.poll,
        policy_.grace,
        [&]() -> std::optional<StopRequest> {
          if (interrupts_.cancel) return StopRequest{StopReason::Canceled, graceful_stop(policy_.grace)};
          if (clock_.now() >= deadline) {
            status(RunStatus::CancelRequested);
            return StopRequest{StopReason::TimedOut, graceful_stop(policy_.grace)};
          }
          return std::nullopt;
        },
        [&](const std::string& child) { logs_.close_primary(parent_log, "Child run " + child + " submitted"); });
    const auto outcome = roll_up_children(result.reason, result.failed, result.children, max_seconds);
    logs_.close_primary(parent_log, outcome.closing_line);
    register_files();
    status(outcome.status.c_str(), outcome.error);
  }

  // A sweep's parent: Running while it samples trials and submits them as child runs (as many at
  // a time as its limits allow), ends the ones its early-termination policy names, then records
  // the best trial. azureml-logs/hyperdrive.txt says what it decided, in the service's format.
  void drive_sweep(const history::RunRecord& rec) {
    const auto& def = rec.definition;
    const auto& sw = def.at("sweep");
    target_ = rec.target;
    if (!status(RunStatus::Running) || canceled()) return;
    const auto log_file = logs_dir_ / "hyperdrive.txt";
    const auto say = [&](const char* source, const std::string& message) {
      std::ofstream(log_file, std::ios::app)
          << hyperdrive_line(iso_utc(clock_.wall()), source, message) << "\n" << std::flush;
    };
    const auto goal = sweep::parse_goal(sw.at("objective").at("goal").get<std::string>(), "goal");
    const auto metric = sw.at("objective").at("primaryMetric").get<std::string>();
    const auto policy = sweep::parse_policy_v2(sw.value("earlyTermination", nlohmann::json()), "early_termination");
    const auto& limits = sw.at("limits");
    SweepTrials source(def, id_, rec.experiment_name);
    say("API", "Experiment created");
    std::vector<std::string> children;
    std::set<std::string> terminated;
    bool metric_missing = false;
    auto last_look = clock_.now() - std::chrono::seconds(1);
    // Every trial's primary metric so far (numbers only), and whether it has ended.
    const auto look = [&] {
      std::vector<sweep::Trial> trials;
      for (const auto& c : children) {
        sweep::Trial t;
        t.id = c;
        t.finished = RunStatus::is_terminal(store_.status(c).value_or(RunStatus::Failed));
        for (const auto& p : store_.metric_history(c, metric)) {
          if (p.value.is_number()) t.values.push_back(p.value.get<double>());
        }
        trials.push_back(std::move(t));
      }
      return trials;
    };
    // hyperdrive.txt says when each trial ends (job stream shows it as it happens).
    std::set<std::string> announced;
    const auto announce_ends = [&](const std::vector<sweep::Trial>& trials) {
      for (const auto& t : trials) {
        if (!t.finished || !announced.insert(t.id).second) continue;
        say("SCHEDULER", "Run '" + t.id + "' ended " + store_.status(t.id).value_or("?") +
                             (t.values.empty() ? "" : ", " + metric + " " + nlohmann::json(t.values.back()).dump()));
      }
    };
    // Bayesian sampling: each point from Optuna's TPE given the trials so far, in an
    // environment with Optuna that Preparing builds once and caches.
    std::optional<environment::Prepared> sampler_env;
    std::optional<BayesianSampler> bayesian;
    if (source.bayesian()) {
      say("GENERATOR", std::string("Bayesian sampling: Optuna's TPE sampler (") + kBayesianRequirement + ")");
      sampler_env = prepare_environment(
          {{"environment", {{"python", {{"pipPackages", nlohmann::json::array({kBayesianRequirement})}}}}}});
      if (!sampler_env) return;  // failed (Preparing says why) or canceled
      say("GENERATOR", "The sampler's environment " + sampler_env->id +
                           (sampler_env->built ? " was built (azureml-logs/20_image_build_log.txt)"
                                               : " was found in the cache"));
      bayesian.emplace(sampler_env->python, share_dir() / "python", layout::run_dir(ws_.state_dir(), id_) / "sampler",
                       logs_dir_ / "bayesian_sampler.txt", launcher_);
      source.set_sampler([&] {
        return bayesian->next(bayesian_request(sw.at("searchSpace"), goal, source.seed(), look(), source.points()));
      });
    }
    const auto on_poll = [&] {
      if (clock_.now() - last_look < std::chrono::milliseconds(250)) return;
      last_look = clock_.now();
      const auto trials = look();
      announce_ends(trials);
      for (const auto& end : sweep::evaluate(policy, goal, trials)) {
        if (!terminated.insert(end.id).second) continue;
        say("SCHEDULER", "Run '" + end.id + "' is being canceled by the early termination policy: " + end.reason);
        store_.merge_properties(end.id, {{"azureml.earlyTermination", end.reason}});
        Run(ws_, end.id).cancel();
      }
      // Two trials (or all, if fewer) completed without the primary metric: it is misnamed.
      int completed = 0, with_metric = 0;
      for (const auto& t : trials) {
        if (!t.values.empty()) ++with_metric;
        if (t.finished && store_.status(t.id) == std::optional<std::string>(RunStatus::Completed)) ++completed;
      }
      if (with_metric == 0 && completed >= std::min<long long>(2, limits.at("maxTotalTrials").get<long long>())) {
        metric_missing = true;
      }
    };
    const long long max_seconds = def.value("maxRunDurationSeconds", 604800LL);
    const auto deadline = clock_.now() + std::chrono::seconds(max_seconds);
    say("GENERATOR", "Trying to sample '" + std::to_string(limits.at("maxConcurrentTrials").get<int>()) +
                         "' jobs from the hyperparameter space");
    const auto result = run_children(
        ws_, id_, source, limits.at("maxConcurrentTrials").get<int>(), launcher_, clock_, policy_.poll,
        policy_.grace,
        [&]() -> std::optional<StopRequest> {
          if (interrupts_.cancel) return StopRequest{StopReason::Canceled, graceful_stop(policy_.grace)};
          if (metric_missing) return StopRequest{StopReason::Canceled, graceful_stop(policy_.grace)};
          if (clock_.now() >= deadline) {
            status(RunStatus::CancelRequested);
            return StopRequest{StopReason::TimedOut, graceful_stop(policy_.grace)};
          }
          return std::nullopt;
        },
        [&](const std::string& child) {
          children.push_back(child);
          say("SCHEDULER", "Scheduling job, id='" + child + "', hyperparameters " +
                               nlohmann::json(source.points().at(child)).dump());
        },
        on_poll);
    const auto trials = look();
    announce_ends(trials);
    const auto best = best_trial(trials, goal);
    int failed = 0;
    for (const auto& c : children) failed += store_.status(c) == std::optional<std::string>(RunStatus::Failed) ? 1 : 0;
    register_files();
    if (best) {
      store_.merge_properties(id_, {{"best_child_run_id", best->run_id},
                                    {"score", nlohmann::json(best->score).dump()},
                                    {"best_metric_status", "Succeeded"}});
      say("SCHEDULER", "Best trial '" + best->run_id + "', " + metric + " " + nlohmann::json(best->score).dump());
    }
    if (result.reason == StopReason::TimedOut || (result.reason == StopReason::Canceled && !metric_missing)) {
      say("SCHEDULER", result.reason == StopReason::TimedOut ? "The sweep's timeout was reached; its trials were canceled"
                                                             : "The sweep was canceled; its trials were canceled");
      status(RunStatus::Canceled);
      return;
    }
    if (metric_missing || !best) {
      const auto message = "The primary metric '" + metric + "' was logged by none of the " +
                           std::to_string(children.size()) +
                           " trials that ran: objective.primary_metric must name a metric the trial logs";
      say("SCHEDULER", message);
      status(RunStatus::Failed, service_error("UserError", message));
      return;
    }
    if (failed == static_cast<int>(children.size())) {
      const auto message = "All " + std::to_string(failed) + " trials failed" +
                           (result.failed ? "; the first: " + result.failed->run_id + ": " + result.failed->message : "");
      status(RunStatus::Failed, service_error("UserError", message));
      return;
    }
    say("SCHEDULER", "The sweep completed: " + std::to_string(children.size()) + " trials, " +
                         std::to_string(terminated.size()) + " ended by the early termination policy");
    status(RunStatus::Completed);
  }

  // Preparing: the environment, built once and cached. Nothing when it cannot be prepared (the
  // run has failed).
  std::optional<environment::Prepared> prepare_environment(const nlohmann::json& def) {
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

  // Queued: waiting for the nodes (a cluster scales up when it can). False when the run ended
  // meanwhile (canceled, or failed by the scheduler).
  bool acquire_nodes() {
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

  // Running: the processes, until they end or are stopped. Returns why they stopped and the
  // process that failed first.
  std::pair<StopReason, std::optional<FailedProcess>> run_processes(const TaskPlan& plan,
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

  // Finalizing: ./outputs and ./logs into run history, then the terminal status.
  // Finalizing shows while a large ./outputs is copied; when there is little to copy it goes out
  // with the file list and the terminal status, in one transaction.
  void finalize(const Outcome& outcome) {
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

  // ---- The work each status hands out. ----

  // A terminal status is recorded once the run holds nothing: whoever sees it may reuse the
  // nodes, delete the environment or read a workspace that no longer changes.
  // Every status goes out with the ones held back before it, in one transaction.
  bool status(const char* s, const nlohmann::json& error = nullptr) {
    if (RunStatus::is_terminal(s)) cleanup();
    deferred_.push_back({s, clock_.wall_iso(), error});
    return flush();
  }
  void defer(const char* s) { deferred_.push_back({s, clock_.wall_iso(), nullptr}); }
  bool flush() {
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
  // A trial of a parent that drives its children (a sweep, a parent of job specs) ends with
  // that parent: once the parent has ended or its supervisor is gone, nothing would watch it,
  // so it is canceled. Looked at once a second.
  bool parent_gone() {
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
  bool canceled() {
    if (!interrupts_.cancel) return false;
    status(RunStatus::Canceled);
    return true;
  }
  void fail(const nlohmann::json& error) {
    register_files();
    status(RunStatus::Failed, error);
  }
  // The run's files, recorded with the next status.
  void register_files() { files_ = collection::list_artifacts(artifacts_); }

  NodeContext prepare_node(const history::RunRecord& rec, size_t i) {
    JobFolder folder{ws_.state_dir(), ws_.name(), id_, target_, snapshot_source(rec),
                     rec.properties.value("ContentSnapshotId", ""),
                     rec.definition.value("dataReferences", nlohmann::json::object()),
                     rec.definition.value("useGpu", false)};
    return prepare_job_folder(folder, held_[i], i, logs_);
  }

  // Each node's process environment, and the folders of its named outputs.
  void compose_node_environments(const history::RunRecord& rec, const environment::Prepared& env) {
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

  // A named output's folder on its datastore, and a uri_file output's file name in it.
  std::pair<stdfs::path, std::string> output_place(
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

  // Outputs that name a data asset become one when the run completes (the version the job
  // gave, else the next), pointing at where the output was written.
  void register_output_assets() {
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

  // The process that failed first, as the run reports it; for MPI, the rank that did.
  std::optional<FailedProcess> failed_process(const ProcessSet& set, const TaskPlan& plan) {
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

  // A low-priority node can be taken away: by `compute preempt` (which signals this process)
  // or at random at $AMLEMU_PREEMPTION_RATE preemptions per node-hour.
  bool node_preempted() {
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

  void sync_user_logs(const stdfs::path& wd) {
    const auto copied = collection::sync_user_logs(wd, artifacts_);
    if (!copied.empty()) store_.add_files(id_, copied);
  }

  stdfs::path scratch_dir() const { return layout::run_launch(ws_.state_dir(), id_); }

  stdfs::path snapshot_source(const history::RunRecord& rec) const {
    return submission::snapshot_dir(layout::snapshots(ws_.state_dir()),
                                    rec.definition.at("snapshotId").get<std::string>());
  }

  void cleanup() {
    env_.reset();  // the environment's in-use lock
    std::error_code ec;
    for (const auto& c : nodes_) stdfs::remove_all(c.job_dir, ec);
    stdfs::remove_all(scratch_dir(), ec);
    stdfs::remove_all(layout::run_mounts(ws_.state_dir(), id_), ec);  // empty points
    if (nodes_source_) {
      try {
        nodes_source_->release();
      } catch (const std::exception&) {
      }
    }
  }

  Workspace ws_;
  history::RunStore store_;
  std::map<std::string, std::string> properties_;  // held back like deferred_ statuses
  collection::FileList files_;                      // so are the run's files
  std::string id_;
  Launcher& launcher_;
  Clock& clock_;
  const Interrupts& interrupts_;
  StopPolicy policy_;
  stdfs::path artifacts_;
  stdfs::path logs_dir_;
  ServiceLogs logs_;
  std::string target_;
  std::string driving_parent_;  // the sweep or parent run this run is a child of, if any
  std::chrono::steady_clock::time_point next_parent_look_{};
  bool parent_ended_ = false;
  std::unique_ptr<compute::NodeSource> nodes_source_;
  std::optional<environment::Prepared> env_;
  std::map<std::string, OutputSettings> output_settings_;  // the run's named outputs' settings
  std::vector<history::StatusUpdate> deferred_;  // statuses not written yet, with their times
  bool processes_started_ = false;
  std::vector<compute::NodeInfo> held_;
  std::vector<NodeContext> nodes_;  // one record per held node: its context and folders
  std::string preempted_node_;
  double preemption_rate_ = preemption_rate();
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace

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
