#include "launch/supervisor.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <fstream>
#include <regex>
#include <random>
#include <sstream>
#include <thread>

#include "amlemu/compute.hpp"
#include "amlemu/errors.hpp"
#include "collection/collect.hpp"
#include "compute/cluster_store.hpp"
#include "compute/gpu.hpp"
#include "common/fs.hpp"
#include "common/hash.hpp"
#include "common/paths.hpp"
#include "common/proc.hpp"
#include "environment/environment.hpp"
#include "history/run_store.hpp"
#include "launch/run_tasks.hpp"
#include "submission/snapshot.hpp"
#include "workspace/layout.hpp"
#include "workspace/workspace_impl.hpp"

namespace amlemu::launch {

namespace stdfs = std::filesystem;

namespace {

constexpr int kTailLines = 20;
constexpr std::chrono::milliseconds kQueuePoll{50};

std::string read_tail(const stdfs::path& file, std::streamoff max_bytes) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff start = size > max_bytes ? size - max_bytes : 0;
  in.seekg(start);
  std::string out(static_cast<size_t>(size - start), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

std::string stamp() { return log_stamp(std::chrono::system_clock::now()); }

// One of the service's per-node logs: each line stamped. Lines written before the node is known
// (Preparing happens before a node is given) are kept and written once the file is named.
class NodeLog {
 public:
  void open(stdfs::path file) {
    file_ = std::move(file);
    std::ofstream out(file_, std::ios::app);
    for (const auto& l : pending_) out << l << "\n";
    pending_.clear();
  }
  void line(const std::string& text) {
    const std::string l = stamp() + "|" + text;
    if (file_.empty()) {
      pending_.push_back(l);
    } else {
      std::ofstream(file_, std::ios::app) << l << "\n";
    }
  }

 private:
  stdfs::path file_;
  std::vector<std::string> pending_;
};

nlohmann::json service_error(const std::string& code, const std::string& message) {
  return {{"error", {{"code", code}, {"message", message}}}};
}

struct Mounted {
  std::map<std::string, std::string> paths;  // data reference name -> path on the node
  std::vector<std::pair<std::string, std::string>> binds;
};

// Mount mode: the datastore appears read-only under mounts/<datastore> (a bind mount in the
// script's own mount namespace). Download mode: a copy in the working directory.
Mounted mount_data(const Workspace& ws, const nlohmann::json& refs, const stdfs::path& mounts,
                   const stdfs::path& wd, NodeLog& exec_log, NodeLog& prep_log) {
  Mounted m;
  for (const auto& [name, ref] : refs.items()) {
    const std::string ds = ref["dataStoreName"];
    const std::string on_ds = ref.value("pathOnDataStore", "");
    const auto ds_root = layout::datastore(ws.state_dir(), ds);
    if (!stdfs::is_directory(ds_root)) {
      throw UserErrorException("data reference '" + name + "': datastore '" + ds +
                               "' not found");
    }
    if (ref["mode"] == "Mount") {
      // One mount point per run, the same on every node (as the job folder's path is on
      // Azure), so a path one process hands to another stays valid on its node.
      const auto point = mounts / ds;
      stdfs::create_directories(point);
      if (std::none_of(m.binds.begin(), m.binds.end(),
                       [&](const auto& b) { return b.second == point.string(); })) {
        m.binds.emplace_back(ds_root.string(), point.string());
        exec_log.line("Mounting datastore " + ds + " read-only at " + point.string());
      }
      m.paths[name] = (on_ds.empty() ? point : point / on_ds).string();
    } else {
      const auto src = on_ds.empty() ? ds_root : ds_root / on_ds;
      const std::string on_compute = ref["pathOnCompute"].is_string()
                                         ? ref["pathOnCompute"].get<std::string>()
                                         : (on_ds.empty() ? ds : ds + "/" + on_ds);
      const auto dst = wd / on_compute;
      if (stdfs::is_directory(src)) {
        fs::copy_tree(src, dst);
      } else if (stdfs::is_regular_file(src)) {
        stdfs::create_directories(dst.parent_path());
        fs::copy_file(src, dst);
      } else {
        throw UserErrorException("data reference '" + name + "': path '" + on_ds +
                                 "' not found on datastore '" + ds + "'");
      }
      prep_log.line("Downloaded " + ds + "/" + on_ds + " to " + dst.string());
      m.paths[name] = dst.string();
    }
  }
  return m;
}

std::string experiment_id(const Workspace& ws, const std::string& experiment) {
  auto st = ws.impl().db.prepare("SELECT id FROM experiments WHERE name = ?");
  st.bind(1, experiment);
  return st.step() ? st.text(0) : "";
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

// The Azure Batch variables of a node running the run's single task.
void batch_environment(std::map<std::string, std::string>& env, const compute::NodeInfo& node,
                       const std::string& run_id, const stdfs::path& wd) {
  env["AZ_BATCH_NODE_ID"] = node.node_id;
  env["AZ_BATCH_NODE_IS_DEDICATED"] = node.dedicated ? "true" : "false";
  env["AZ_BATCH_NODE_ROOT_DIR"] = node.root.string();
  env["AZ_BATCH_NODE_SHARED_DIR"] = (node.root / "shared").string();
  env["AZ_BATCH_NODE_STARTUP_DIR"] = (node.root / "startup").string();
  env["AZ_BATCH_NODE_MOUNTS_DIR"] = (node.root / "fsmounts").string();
  env["AZ_BATCH_TASK_WORKING_DIR"] = wd.string();
  env["AZ_BATCH_JOB_ID"] = run_id;
  env["AZ_BATCH_TASK_ID"] = "task-0";
  env["AZ_BATCH_MASTER_NODE"] = node.address + ":6000";
  env["AZ_BATCH_HOST_LIST"] = node.address;
  env["AZ_BATCH_NODE_LIST"] = node.address;
  env["AZ_BATCH_IS_CURRENT_NODE_MASTER"] = "true";
  env["AMLEMU_NODE_ADDRESS"] = node.address;
  // A cluster node sees only its own GPUs; CPU sizes and virtual GPU mode see none. The local
  // target is the machine itself, with whatever GPUs it has.
  if (node.target != "local") env["CUDA_VISIBLE_DEVICES"] = join(node.gpus, ",");
  if (node.size.gpus > 0 && node.gpus.empty()) {
    env["AMLEMU_VIRTUAL_GPUS"] = std::to_string(node.size.gpus);
  }
}

std::map<std::string, std::string> run_environment(const Workspace& ws,
                                                   const history::RunRecord& run,
                                                   const Mounted& mounted,
                                                   const stdfs::path& python) {
  auto env = current_environment();
  // Variables of the caller that would confuse the run's own context.
  for (auto it = env.begin(); it != env.end();) {
    it = it->first.rfind("AZUREML_", 0) == 0 ? env.erase(it) : std::next(it);
  }
  const auto& def = run.definition;
  const std::string py = (share_dir() / "python").string();
  env["PYTHONPATH"] = env.count("PYTHONPATH") ? py + ":" + env["PYTHONPATH"] : py;
  env["PYTHONUNBUFFERED"] = "1";
  if (stdfs::exists(python.parent_path().parent_path() / "pyvenv.cfg")) {
    // A built environment (a virtual environment): its bin first on PATH, as activation does.
    env["PATH"] = python.parent_path().string() + (env.count("PATH") ? ":" + env["PATH"] : "");
    env["VIRTUAL_ENV"] = python.parent_path().parent_path().string();
  }
  const auto details = ws.get_details();
  env["AZUREML_RUN_ID"] = run.run_id;
  env["AZUREML_ARM_SUBSCRIPTION"] = ws.subscription_id();
  env["AZUREML_ARM_RESOURCEGROUP"] = ws.resource_group();
  env["AZUREML_ARM_WORKSPACE_NAME"] = ws.name();
  env["AZUREML_ARM_PROJECT_NAME"] = run.experiment_name;
  env["AZUREML_EXPERIMENT_ID"] = experiment_id(ws, run.experiment_name);
  env["AZUREML_WORKSPACE_ID"] = details["workspaceid"];
  env["AZUREML_SERVICE_ENDPOINT"] = "http://localhost";
  env["AZUREML_RUN_TOKEN"] = "amlemu-local";
  env["AZUREML_RUN_TOKEN_EXPIRY"] = std::to_string(
      epoch_seconds(std::chrono::system_clock::now()) + def.value("maxRunDurationSeconds", 0));
  env["AMLEMU_DATABASE"] = layout::database(ws.state_dir()).string();
  env["AMLEMU_RUN_ARTIFACTS"] = layout::artifacts(ws.state_dir(), run.run_id).string();
  for (const auto& [name, path] : mounted.paths) env["AZUREML_DATAREFERENCE_" + name] = path;
  if (def.contains("environment") && def["environment"].contains("environmentVariables")) {
    for (const auto& [k, v] : def["environment"]["environmentVariables"].items()) {
      env[k] = v.get<std::string>();
    }
  }
  return env;
}

// Copies files of `from` that are new or changed into `to`; returns the relative names copied.
std::vector<std::string> sync_tree(const stdfs::path& from, const stdfs::path& to) {
  std::vector<std::string> copied;
  std::error_code ec;
  for (const auto& rel : fs::list_files(from)) {
    const auto src = from / rel;
    const auto dst = to / rel;
    if (stdfs::exists(dst, ec) && stdfs::file_size(src, ec) == stdfs::file_size(dst, ec) &&
        stdfs::last_write_time(src, ec) <= stdfs::last_write_time(dst, ec)) {
      continue;
    }
    stdfs::create_directories(dst.parent_path(), ec);
    stdfs::copy_file(src, dst, stdfs::copy_options::overwrite_existing, ec);
    if (!ec) copied.push_back(rel);
  }
  return copied;
}

class Supervisor {
 public:
  Supervisor(const Workspace& ws, std::string run_id, Launcher& launcher, Clock& clock,
             const Interrupts& interrupts, const StopPolicy& policy)
      : ws_(ws), store_(ws.impl().db), id_(std::move(run_id)), launcher_(launcher),
        clock_(clock), interrupts_(interrupts), policy_(policy),
        artifacts_(layout::artifacts(ws.state_dir(), id_)),
        logs_(artifacts_ / layout::kLogsDir) {}

  int run() {
    auto rec = store_.find(id_);
    if (!rec) return 1;
    stdfs::create_directories(logs_);
    try {
      drive(*rec);
    } catch (const std::exception& e) {
      fail(service_error("ServiceError", e.what()));
    }
    cleanup();
    return 0;
  }

 private:
  enum class Reason { Exited, Canceled, TimedOut, Preempted };

  // A started task and how it ended.
  struct Running {
    Task task;
    std::unique_ptr<Process> process;
    std::optional<int> code;
    bool stopped_by_us = false;
    std::string ended;  // when its exit was seen
  };

  bool status(const char* s, const nlohmann::json& error = nullptr) {
    return store_.set_status(id_, s, now_iso(), error);
  }
  bool cancel_requested() const { return interrupts_.cancel; }
  bool canceled() {
    if (!cancel_requested()) return false;
    status(RunStatus::Canceled);
    return true;
  }
  void fail(const nlohmann::json& error) {
    register_files();
    status(RunStatus::Failed, error);
  }
  void register_files() { store_.add_files(id_, collection::list_artifacts(artifacts_)); }

  // The node logs (55, 65, 75) are per node; lines from before the nodes were known go to all.
  void node_line(const std::string& text) {
    if (exec_logs_.empty()) {
      pending_exec_.push_back(text);
    } else {
      for (auto& l : exec_logs_) l.line(text);
    }
  }
  void open_node_logs(const std::vector<std::string>& node_ids) {
    for (const auto& id : node_ids) {
      exec_logs_.emplace_back();
      prep_logs_.emplace_back();
      for (const auto& l : pending_exec_) exec_logs_.back().line(l);
      exec_logs_.back().open(logs_ / ("55_azureml-execution-" + id + ".txt"));
      prep_logs_.back().open(logs_ / ("65_job_prep-" + id + ".txt"));
    }
    pending_exec_.clear();
  }

  void drive(const history::RunRecord& rec) {
    const auto& def = rec.definition;
    target_ = rec.target;

    // Preparing: the environment, built once and cached.
    if (!status(RunStatus::Preparing) || canceled()) return;
    environment::Prepared env;
    try {
      const auto spec = environment::resolve(def);
      env = environment::prepare(spec, layout::environments(ws_.state_dir()),
                                 logs_ / "20_image_build_log.txt");
      if (spec.user_managed) {
        node_line("user_managed_dependencies: using " + env.python.string() + " as it is");
      } else if (env.built) {
        node_line("Environment " + env.id + " built in " + fmt_seconds(env.seconds));
      } else {
        node_line("Environment " + env.id + " found in the cache, reused in " +
                  fmt_ms(env.seconds));
      }
    } catch (const UserErrorException& e) {
      node_line(std::string("Preparing failed: ") + e.what());
      open_node_logs({placeholder_node_id()});
      fail(service_error("UserError", std::string("Preparing failed: ") + e.what()));
      return;
    }

    // Queued: waiting for the cluster's nodes (it scales up when it can).
    if (!status(RunStatus::Queued) || canceled()) return;
    if (!acquire_nodes(def.value("nodeCount", 1))) return;
    std::vector<std::string> ids;
    for (const auto& n : held_) ids.push_back(n.node_id);
    open_node_logs(ids);
    for (size_t i = 0; i < held_.size(); ++i) contexts_.push_back(prepare_node(rec, i));

    // Running: the script, once per process of the run's topology.
    if (!status(RunStatus::Running) || canceled()) return;
    // v1: python <entry script> <arguments>; v2: the job's command, through the shell, which
    // expands each node's own ${AZURE_ML_INPUT_x} and ${AZURE_ML_OUTPUT_x}.
    std::vector<std::string> command;
    if (!def.value("command", "").empty()) {
      command = {"/bin/sh", "-c", def["command"].get<std::string>()};
    } else {
      command = {env.python.string(), def["script"].get<std::string>()};
      const auto args = def["arguments"].get<std::vector<std::string>>();
      command.insert(command.end(), args.begin(), args.end());
    }
    for (const auto& w : def.value("warnings", std::vector<std::string>{})) node_line("Warning: " + w);
    if (!def.value("environmentNote", "").empty()) node_line(def["environmentNote"].get<std::string>());
    const auto outputs = def.value("outputs", nlohmann::json::object());
    std::vector<NodeContext> nodes;
    for (auto& c : contexts_) {
      c.context.env = run_environment(ws_, rec, c.mounted, env.python);
      batch_environment(c.context.env, c.context.node, id_, c.context.wd);
      c.context.placeholders = c.mount_paths;
      for (const auto& [name, path] : c.mount_paths) c.context.env["AZURE_ML_INPUT_" + name] = path;
      for (const auto& [name, mode] : outputs.items()) {
        const auto dir = c.context.job_dir / "named-outputs" / name;
        stdfs::create_directories(dir);
        c.context.env["AZURE_ML_OUTPUT_" + name] = dir.string();
      }
      if (held_.size() > 1) {
        std::vector<std::string> addresses;
        for (const auto& n : held_) addresses.push_back(n.address);
        c.context.env["AZ_BATCH_HOST_LIST"] = join(addresses, ",");
        c.context.env["AZ_BATCH_NODE_LIST"] = join(addresses, ";");
        c.context.env["AZ_BATCH_MASTER_NODE"] = addresses.front() + ":6000";
        c.context.env["AZ_BATCH_IS_CURRENT_NODE_MASTER"] =
            c.context.node.index == held_.front().index ? "true" : "false";
      }
      nodes.push_back(c.context);
    }
    TaskPlan plan;
    try {
      plan = plan_tasks(def, nodes, command, logs_, scratch_dir());
    } catch (const UserErrorException& e) {
      node_line(e.what());
      fail(service_error("UserError", e.what()));
      return;
    }
    primary_log_ = logs_ / plan.primary_log;
    const auto started = now_iso();
    std::vector<Running> running;
    bool capped = false;
    for (const auto& t : plan.tasks) {
      auto spec = t.spec;
      const double gb = held_[static_cast<size_t>(t.node)].size.memory_gb;
      if (memory_cap_enabled() && gb > 0) {
        spec.memory_limit_bytes = static_cast<std::uint64_t>(gb * 1073741824.0);
        capped = true;
      }
      running.push_back({t, launcher_.start(spec), std::nullopt, false, {}});
    }
    if (capped) node_line("Memory of each process capped at the VM size's memory (AMLEMU_NODE_MEMORY_CAP)");
    write_process_info(running, started);
    wait_for(running, def.value("maxRunDurationSeconds", 2592000));
    write_process_status(running, started);
    end_run(def, running, plan);
  }

  // Decides the run's outcome from how its processes ended.
  void end_run(const nlohmann::json& def, std::vector<Running>& running, const TaskPlan& plan) {
    if (reason_ == Reason::Preempted) {
      append_primary("The node was preempted. Finalizing run...");
      finalize(service_error("ServiceError",
                             "AzureMLCompute job failed. JobPreempted: the low-priority node " +
                                 preempted_node_ + " running this job was preempted; resubmit "
                                 "the job"));
    } else if (reason_ == Reason::Canceled) {
      append_primary("The run was canceled. Finalizing run...");
      finalize(nullptr, /*canceled=*/true);
    } else if (reason_ == Reason::TimedOut) {
      // A time limit cancels the run, as the service does, and the error says why.
      const std::string why = "The run exceeded max_run_duration_seconds (" +
                              std::to_string(def.value("maxRunDurationSeconds", 0)) +
                              " s) and was canceled";
      append_primary(why + ". Finalizing run...");
      finalize(service_error("UserError", why), /*canceled=*/true);
    } else if (!failed_) {
      append_primary("The experiment completed successfully. Finalizing run...");
      finalize(nullptr);
    } else {
      // The process that failed first names the failure; for MPI, the rank that did.
      const Running& f = running[*failed_];
      std::string who = f.task.name;
      stdfs::path log = logs_ / f.task.log;
      int code = f.code.value_or(1);
      if (!plan.rank_status_dir.empty()) {
        int rank_code = 0;
        int rank = first_failed_rank(plan.rank_status_dir, &rank_code);
        if (rank < 0) {
          rank = rank_with_traceback(logs_, plan.ranks);
          rank_code = 1;
        }
        if (rank >= 0) {
          who = "rank " + std::to_string(rank);
          log = logs_ / ("70_driver_log_" + std::to_string(rank) + ".txt");
          code = rank_code;
        }
      }
      auto error = user_program_error(read_tail(log, 16384), code);
      if (!who.empty()) {
        error["error"]["message"] =
            error["error"]["message"].get<std::string>() + " (" + who + " failed first)";
        error["error"]["failedProcess"] = who;
      }
      append_primary("The experiment failed. Finalizing run...");
      finalize(error);
    }
  }

  // Finalizing: ./outputs and ./logs into run history, then the terminal status.
  void finalize(const nlohmann::json& error, bool canceled = false) {
    if (!canceled && !status(RunStatus::Finalizing)) return;
    nlohmann::json collect_error;
    for (size_t i = 0; i < contexts_.size(); ++i) {
      NodeLog post;
      post.open(logs_ / ("75_job_post-" + held_[i].node_id + ".txt"));
      // Every node's ./outputs and ./logs land in one run history, as on the service.
      std::ostringstream collected;
      try {
        collection::collect_outputs(contexts_[i].context.wd, artifacts_, collected);
        collection::collect_named_outputs(
            contexts_[i].context.job_dir / "named-outputs", artifacts_,
            layout::datastore(ws_.state_dir(), "workspaceblobstore") / "azureml" / id_, collected);
      } catch (const std::exception& e) {
        // A full disk (or any copy failure) fails the run; what was copied stays in history.
        if (collect_error.is_null()) {
          collect_error = service_error(
              "ServiceError",
              std::string("Collecting the run's outputs into run history failed: ") + e.what());
        }
        collected << "Collecting outputs failed: " << e.what() << "\n";
      }
      std::istringstream lines(collected.str());
      for (std::string line; std::getline(lines, line);) post.line(line);
      post.line("Job release finished");
    }
    register_files();
    if (canceled) {
      status(RunStatus::Canceled, error);
    } else if (error.is_null() && collect_error.is_null()) {
      status(RunStatus::Completed);
    } else {
      status(RunStatus::Failed, error.is_null() ? collect_error : error);
    }
  }

  // Waits for the processes: the run goes on until every non-server process has exited; the
  // first failure, a cancel, the time limit or a preemption stops them all (SIGTERM, then
  // SIGKILL after the grace period); servers are stopped once the others are done.
  void wait_for(std::vector<Running>& running, int max_seconds) {
    const auto deadline = clock_.now() + std::chrono::seconds(max_seconds);
    auto next_sync = clock_.now() + policy_.logs_sync;
    std::optional<Clock::TimePoint> kill_at;
    bool stopping = false;
    for (;;) {
      bool all_exited = true;
      bool primaries_done = true;
      for (size_t i = 0; i < running.size(); ++i) {
        auto& r = running[i];
        if (!r.code) {
          r.code = r.process->poll();
          if (r.code) {
            r.ended = now_iso();
            r.process->signal_group(SIGKILL);  // leftovers of its group never outlive it
            // Servers (parameter servers) never exit on their own: one that does, failing,
            // fails the run like any other process.
            if (*r.code != 0 && !r.stopped_by_us && !failed_ && !stopping) {
              failed_ = i;
            }
          }
        }
        if (!r.code) all_exited = false;
        if (!r.code && !r.task.server) primaries_done = false;
      }
      if (all_exited) return;
      const auto now = clock_.now();
      auto stop_all = [&](int sig) {
        for (auto& r : running) {
          if (!r.code) {
            r.stopped_by_us = true;
            r.process->signal_group(sig);
          }
        }
      };
      if (!stopping) {
        if (reason_ == Reason::Exited && node_preempted()) {
          reason_ = Reason::Preempted;
          stop_all(SIGKILL);  // a preempted VM just goes away
          stopping = true;
          kill_at = now;
        } else if (cancel_requested() || now >= deadline) {
          reason_ = cancel_requested() ? Reason::Canceled : Reason::TimedOut;
          if (reason_ == Reason::TimedOut) status(RunStatus::CancelRequested);
          stopping = true;
        } else if (failed_ || primaries_done) {
          stopping = true;  // a failure ends the rest; done workers end the servers
        }
        if (stopping && !kill_at) {
          stop_all(SIGTERM);
          kill_at = now + policy_.grace;
        }
      } else if (kill_at && now >= *kill_at) {
        stop_all(SIGKILL);
      }
      if (now >= next_sync) {
        for (const auto& c : contexts_) sync_user_logs(c.context.wd);
        next_sync = now + policy_.logs_sync;
      }
      // Woken at once when a process exits (pidfds), else after one poll interval.
      std::vector<Process*> live;
      for (auto& r : running) {
        if (!r.code) live.push_back(r.process.get());
      }
      if (!launcher_.wait_any(live, policy_.poll)) clock_.sleep_for(policy_.poll);
    }
  }

  // A lowpriority node can be taken away: by `compute preempt` (which signals this process) or
  // at random at $AMLEMU_PREEMPTION_RATE preemptions per node-hour.
  bool node_preempted() {
    if (target_ == "local" || held_.empty() || held_.front().dedicated) return false;
    if (interrupts_.preempt) {
      for (const auto& n : compute::ClusterStore(ws_).nodes(target_, compute::now_ms())) {
        if (n.state == compute::NodeState::Preempted) {
          for (const auto& h : held_) {
            if (h.index == n.index) preempted_node_ = h.node_id;
          }
        }
      }
      if (preempted_node_.empty()) preempted_node_ = held_.front().node_id;
      return true;
    }
    if (preemption_rate_ > 0) {
      const double p = preemption_rate_ * static_cast<double>(policy_.poll.count()) *
                       static_cast<double>(held_.size()) / 3.6e6;
      if (std::uniform_real_distribution<double>(0, 1)(rng_) < p) {
        const auto& victim = held_[rng_() % held_.size()];
        compute::ClusterStore(ws_).preempt(target_, std::to_string(victim.index),
                                           compute::now_ms());
        preempted_node_ = victim.node_id;
        return true;
      }
    }
    return false;
  }

  // Waits in Queued until the cluster gives the run its nodes. False when canceled meanwhile.
  bool acquire_nodes(int node_count) {
    if (target_ == "local") {
      held_ = {local_node()};
      return true;
    }
    compute::ClusterStore cluster(ws_);
    cluster.enqueue(id_, target_, node_count, compute::now_ms());
    for (;;) {
      held_ = cluster.step(target_, compute::now_ms(), id_);
      if (!held_.empty()) return true;
      // The scheduler may have ended the run (its GPUs cannot be had under the "fail" policy).
      if (RunStatus::is_terminal(store_.status(id_).value_or(RunStatus::Failed))) return false;
      if (cancel_requested()) {
        cluster.release(id_, compute::now_ms());
        status(RunStatus::Canceled);
        return false;
      }
      clock_.sleep_for(kQueuePoll);
    }
  }

  struct PreparedNode {
    NodeContext context;
    Mounted mounted;
    std::map<std::string, std::string> mount_paths;
  };

  // A node's job folder: its copy of the snapshot, its mounts, its CPUs, its log lines.
  PreparedNode prepare_node(const history::RunRecord& rec, size_t i) {
    const auto& def = rec.definition;
    const auto& node = held_[i];
    NodeLog& exec = exec_logs_[i];
    NodeLog& prep = prep_logs_[i];
    PreparedNode p;
    p.context.node = node;
    if (target_ != "local") {
      const auto ids = machine_cpus();
      for (int position : compute::node_cpus(node.index, node.size.vcpus, static_cast<int>(ids.size()))) {
        p.context.cpus.push_back(ids[static_cast<size_t>(position)]);
      }
    }
    exec.line("Run " + id_ + " placed on node " + node.node_id + " (" + node.address +
              ") of compute target " + target_ +
              (node.size.name.empty() ? "" : " (" + node.size.name + ")"));
    exec.line(node.dedicated ? "IsDedicatedCompute == True, won't poll for Low Pri Preemption"
                             : "IsDedicatedCompute == False, polling for Low Pri Preemption");
    if (!node.size.name.empty() && node.size.gpus == 0) {
      exec.line("The vmsize " + to_lower(node.size.name) +
                " is not a GPU VM, skipping get GPU count by running nvidia-smi command.");
      if (def.value("useGpu", false)) {
        exec.line("Warning: use_gpu is set but " + node.size.name + " has no GPU");
      }
    } else if (node.size.gpus > 0 && node.gpus.empty()) {
      std::string why;
      compute::machine_gpus(&why);
      exec.line("Warning: no GPU on this machine (" + why + "); running " + node.size.name +
                " in virtual GPU mode with " + std::to_string(node.size.gpus) +
                " virtual GPU(s) and an empty CUDA_VISIBLE_DEVICES");
    } else if (!node.gpus.empty()) {
      exec.line("GPUs of this node: " + join(node.gpus, ","));
    }
    if (!p.context.cpus.empty()) {
      std::vector<std::string> c;
      for (int x : p.context.cpus) c.push_back(std::to_string(x));
      exec.line("CPUs of this node: " + join(c, ","));
    }
    p.context.job_dir = layout::node_job_dir(node.root, ws_.name(), id_);
    p.context.wd = layout::node_job_working_dir(p.context.job_dir, id_);
    fs::copy_tree(snapshot_source(rec), p.context.wd);
    prep.line("Extracted snapshot " + rec.properties.value("ContentSnapshotId", "") + " (" +
              std::to_string(fs::list_files(p.context.wd).size()) + " files) to " +
              p.context.wd.string());
    p.mounted = mount_data(ws_, def.value("dataReferences", nlohmann::json::object()),
                           layout::run_mounts(ws_.state_dir(), id_), p.context.wd, exec,
                           prep);
    p.context.binds = p.mounted.binds;
    p.mount_paths = p.mounted.paths;
    stdfs::create_directories(p.context.wd / layout::kOutputsDir);
    stdfs::create_directories(p.context.wd / layout::kUserLogsDir);
    prep.line("Job preparation finished");
    return p;
  }

  compute::NodeInfo local_node() const {
    compute::NodeInfo n;
    n.target = "local";
    n.node_id = compute::node_id(ws_.get_details()["workspaceid"], "local", 0);
    n.address = "127.0.0.1";
    n.state = compute::NodeState::Running;
    n.run_id = id_;
    n.root = ws_.state_dir() / "compute" / "local" / n.node_id;
    return n;
  }

  std::string placeholder_node_id() const {
    return compute::node_id(ws_.get_details()["workspaceid"], target_, 0);
  }

  stdfs::path scratch_dir() const { return layout::run_launch(ws_.state_dir(), id_); }

  // The CPUs this process may use, by id (a cpuset may leave gaps).
  static std::vector<int> machine_cpus() {
    std::vector<int> ids;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) == 0) {
      for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (CPU_ISSET(c, &set)) ids.push_back(c);
      }
    }
    if (ids.empty()) {
      for (unsigned c = 0; c < std::thread::hardware_concurrency(); ++c) ids.push_back(static_cast<int>(c));
    }
    return ids;
  }

  // ./logs reaches run history while the run is running, not only at the end.
  void sync_user_logs(const stdfs::path& wd) {
    const auto copied = sync_tree(wd / layout::kUserLogsDir, artifacts_ / layout::kUserLogsDir);
    if (copied.empty()) return;
    std::vector<std::pair<std::string, long long>> files;
    std::error_code ec;
    for (const auto& rel : copied) {
      const auto name = std::string(layout::kUserLogsDir) + "/" + rel;
      files.emplace_back(name, static_cast<long long>(stdfs::file_size(artifacts_ / name, ec)));
    }
    store_.add_files(id_, files);
  }

  void append_primary(const std::string& text) {
    std::ofstream(primary_log_, std::ios::app) << "[" << stamp() << "] " << text << "\n";
  }

  nlohmann::json process_entry(const Running& r) const {
    const auto& node = held_[static_cast<size_t>(r.task.node)];
    nlohmann::json cmd = nlohmann::json::array({r.task.spec.program.string()});
    for (const auto& a : r.task.spec.args) cmd.push_back(a);
    return {{"name", r.task.name.empty() ? "rank 0" : r.task.name},
            {"node", node.node_id},
            {"address", node.address},
            {"processId", r.process->pid()},
            {"command", cmd},
            {"workingDirectory", r.task.spec.cwd.string()},
            {"log", std::string(layout::kLogsDir) + "/" + r.task.log}};
  }

  void write_process_info(const std::vector<Running>& running, const std::string& started) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : running) {
      auto e = process_entry(r);
      e["startTime"] = started;
      list.push_back(e);
    }
    fs::atomic_write(logs_ / "process_info.json",
                     nlohmann::json{{"processes", list}}.dump(2) + "\n", fs::Durability::unsynced);
  }

  void write_process_status(const std::vector<Running>& running, const std::string& started) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : running) {
      auto e = process_entry(r);
      const int code = r.code.value_or(-1);
      e["exitCode"] = code;
      e["status"] = r.stopped_by_us ? "Stopped" : (code == 0 ? "Completed" : "Failed");
      e["startTime"] = started;
      e["endTime"] = r.ended;
      list.push_back(e);
    }
    fs::atomic_write(logs_ / "process_status.json",
                     nlohmann::json{{"processes", list}}.dump(2) + "\n", fs::Durability::unsynced);
  }

  stdfs::path snapshot_source(const history::RunRecord& rec) const {
    return submission::snapshot_dir(layout::snapshots(ws_.state_dir()),
                                    rec.definition.at("snapshotId").get<std::string>());
  }

  void cleanup() {
    std::error_code ec;
    for (const auto& c : contexts_) stdfs::remove_all(c.context.job_dir, ec);
    stdfs::remove_all(scratch_dir(), ec);
    stdfs::remove_all(layout::run_mounts(ws_.state_dir(), id_), ec);  // empty points
    if (!target_.empty() && target_ != "local") {
      try {
        compute::ClusterStore(ws_).release(id_, compute::now_ms());
      } catch (const std::exception&) {
      }
    }
  }

  static std::string fmt_seconds(double s) { return std::to_string(s).substr(0, 5) + " s"; }
  static std::string fmt_ms(double s) { return std::to_string(static_cast<int>(s * 1000)) + " ms"; }

  // $AMLEMU_NODE_MEMORY_CAP=1 caps each process's address space at the VM size's memory.
  static bool memory_cap_enabled() {
    const char* env = std::getenv("AMLEMU_NODE_MEMORY_CAP");
    return env && std::string(env) == "1";
  }

  static double preemption_rate() {
    const char* env = std::getenv("AMLEMU_PREEMPTION_RATE");
    return env && *env ? std::atof(env) : 0.0;
  }

  Workspace ws_;
  history::RunStore store_;
  std::string id_;
  Launcher& launcher_;
  Clock& clock_;
  const Interrupts& interrupts_;
  StopPolicy policy_;
  stdfs::path artifacts_;
  stdfs::path logs_;
  stdfs::path primary_log_;
  std::string target_;
  std::vector<std::string> pending_exec_;
  std::vector<NodeLog> exec_logs_;
  std::vector<NodeLog> prep_logs_;
  std::vector<compute::NodeInfo> held_;
  std::vector<PreparedNode> contexts_;
  std::optional<size_t> failed_;
  std::string preempted_node_;
  double preemption_rate_ = preemption_rate();
  std::mt19937_64 rng_{std::random_device{}()};
  Reason reason_ = Reason::Exited;
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

nlohmann::json user_program_error(const std::string& log_tail, int exit_code) {
  // The last "Type: message" line after a traceback names the exception, as the service does.
  static const std::regex exception_line(
      R"(^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)?): ?(.*)$)");
  std::string message;
  const auto tb = log_tail.rfind("Traceback (most recent call last):");
  if (tb != std::string::npos) {
    std::istringstream lines(log_tail.substr(tb));
    std::string line;
    std::smatch m;
    while (std::getline(lines, line)) {
      if (!line.empty() && line[0] != ' ' && std::regex_match(line, m, exception_line)) {
        message = "User program failed with " + m[1].str() + ": " + m[2].str();
      }
    }
  }
  if (message.empty()) {
    message = exit_code > 128
                  ? "User program was killed by signal " + std::to_string(exit_code - 128) +
                        " (" + strsignal(exit_code - 128) + ")"
                  : "User program failed with exit code " + std::to_string(exit_code);
  }
  // The last lines the program printed.
  std::vector<std::string> lines;
  std::istringstream in(log_tail);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string tail;
  for (size_t i = lines.size() > kTailLines ? lines.size() - kTailLines : 0; i < lines.size(); ++i) {
    tail += lines[i] + "\n";
  }
  nlohmann::json details = nlohmann::json::array();
  if (!tail.empty()) details.push_back({{"code", "UserProgramOutput"}, {"message", tail}});
  return {{"error",
           {{"code", "UserError"},
            {"message", message},
            {"details", details},
            {"exitCode", exit_code}}}};
}

int supervise(const Workspace& ws, const std::string& run_id, Launcher& launcher, Clock& clock,
              const Interrupts& interrupts, const StopPolicy& policy) {
  history::RunStore(ws.impl().db).set_supervisor(run_id, ::getpid(), process_start_ticks(::getpid()));
  return Supervisor(ws, run_id, launcher, clock, interrupts, policy).run();
}

void spawn_supervisor(const Workspace& ws, const std::string& run_id) {
  namespace bp = boost::process;
  const auto runner = runner_executable();
  const auto log = layout::supervisor_log(ws.state_dir(), run_id);
  std::error_code ec;
  // The runner forks once more and its first child exits, so the supervisor is reparented to
  // init and never becomes a zombie of a long-lived caller.
  bp::child c(bp::exe = runner.string(),
              bp::args = {"--state-dir", ws.state_dir().string(), "--run-id", run_id,
                          "--detach"},
              bp::std_in<bp::null, (bp::std_out & bp::std_err)> log.string(), ec);
  if (ec) throw std::runtime_error("cannot start " + runner.string() + ": " + ec.message());
  c.wait(ec);
  if (c.exit_code() != 0) {
    throw std::runtime_error("the run supervisor " + runner.string() + " failed to start (see " +
                             log.string() + ")");
  }
}

}  // namespace amlemu::launch
