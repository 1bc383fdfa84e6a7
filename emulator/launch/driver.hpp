// The supervisor's one object (private to launch/): a run's driver. Its state machine is in
// supervisor.cpp, parent runs and sweeps in drive_parents.cpp, the nodes' folders, environments,
// outputs and preemption in driver_nodes.cpp.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "amlemu/estimator.hpp"
#include "amlemu/workspace.hpp"
#include "collection/collect.hpp"
#include "common/clock.hpp"
#include "common/launcher.hpp"
#include "compute/node_source.hpp"
#include "environment/environment.hpp"
#include "history/run_store.hpp"
#include "launch/job_folder.hpp"
#include "launch/outcome.hpp"
#include "launch/process_set.hpp"
#include "launch/run_tasks.hpp"
#include "launch/service_logs.hpp"
#include "launch/supervisor.hpp"
#include "workspace/layout.hpp"

namespace amlemu::launch {

/// Random preemptions per node-hour of a low-priority node ($AMLEMU_PREEMPTION_RATE, 0 when unset).
double preemption_rate();

class Driver {
 public:
  Driver(const Workspace& ws, std::string run_id, Launcher& launcher, Clock& clock,
         const Interrupts& interrupts, const StopPolicy& policy)
      : ws_(ws), store_(ws), id_(std::move(run_id)), launcher_(launcher), clock_(clock),
        interrupts_(interrupts), policy_(policy),
        artifacts_(layout::artifacts(ws.state_dir(), id_)),
        logs_dir_(artifacts_ / layout::kLogsDir), logs_(logs_dir_, clock) {}

  int run();

 private:
  // ---- The state machine: one status after another. ----

  void drive(const history::RunRecord& rec);

  // A parent run: Running while its children run (each an ordinary run with its own
  // supervisor), then the status its children roll up to.
  void drive_parent(const history::RunRecord& rec);

  // A sweep's parent: Running while it samples trials and submits them as child runs (as many at
  // a time as its limits allow), ends the ones its early-termination policy names, then records
  // the best trial. azureml-logs/hyperdrive.txt says what it decided, in the service's format.
  void drive_sweep(const history::RunRecord& rec);

  // Preparing: the environment, built once and cached. Nothing when it cannot be prepared (the
  // run has failed).
  std::optional<environment::Prepared> prepare_environment(const nlohmann::json& def);

  // Queued: waiting for the nodes (a cluster scales up when it can). False when the run ended
  // meanwhile (canceled, or failed by the scheduler).
  bool acquire_nodes();

  // Running: the processes, until they end or are stopped. Returns why they stopped and the
  // process that failed first.
  std::pair<StopReason, std::optional<FailedProcess>> run_processes(const TaskPlan& plan,
                                                                    int max_seconds);

  // Finalizing: ./outputs and ./logs into run history, then the terminal status.
  // Finalizing shows while a large ./outputs is copied; when there is little to copy it goes out
  // with the file list and the terminal status, in one transaction.
  void finalize(const Outcome& outcome);

  // ---- The work each status hands out. ----

  // A terminal status is recorded once the run holds nothing: whoever sees it may reuse the
  // nodes, delete the environment or read a workspace that no longer changes.
  // Every status goes out with the ones held back before it, in one transaction.
  bool status(const char* s, const nlohmann::json& error = nullptr);
  void defer(const char* s) { deferred_.push_back({s, clock_.wall_iso(), nullptr}); }
  bool flush();
  // A trial of a parent that drives its children (a sweep, a parent of job specs) ends with
  // that parent: once the parent has ended or its supervisor is gone, nothing would watch it,
  // so it is canceled. Looked at once a second.
  bool parent_gone();
  bool canceled();
  void fail(const nlohmann::json& error);
  // The run's files, recorded with the next status.
  void register_files() { files_ = collection::list_artifacts(artifacts_); }

  NodeContext prepare_node(const history::RunRecord& rec, size_t i);

  // Each node's process environment, and the folders of its named outputs.
  void compose_node_environments(const history::RunRecord& rec, const environment::Prepared& env);

  // A named output's folder on its datastore, and a uri_file output's file name in it.
  std::pair<std::filesystem::path, std::string> output_place(
      const std::string& name, const std::map<std::string, OutputSettings>& settings) const;

  // Outputs that name a data asset become one when the run completes (the version the job
  // gave, else the next), pointing at where the output was written.
  void register_output_assets();

  // The process that failed first, as the run reports it; for MPI, the rank that did.
  std::optional<FailedProcess> failed_process(const ProcessSet& set, const TaskPlan& plan);

  // A low-priority node can be taken away: by `compute preempt` (which signals this process)
  // or at random at $AMLEMU_PREEMPTION_RATE preemptions per node-hour.
  bool node_preempted();
  void sync_user_logs(const std::filesystem::path& wd);

  std::filesystem::path scratch_dir() const { return layout::run_launch(ws_.state_dir(), id_); }

  std::filesystem::path snapshot_source(const history::RunRecord& rec) const;
  void cleanup();

  Workspace ws_;
  history::RunStore store_;
  std::map<std::string, std::string> properties_;  // held back like deferred_ statuses
  collection::FileList files_;                      // so are the run's files
  std::string id_;
  Launcher& launcher_;
  Clock& clock_;
  const Interrupts& interrupts_;
  StopPolicy policy_;
  std::filesystem::path artifacts_;
  std::filesystem::path logs_dir_;
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

}  // namespace amlemu::launch
