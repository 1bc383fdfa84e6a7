// Experiments: named groups of runs, created on first use.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "amlemu/estimator.hpp"
#include "amlemu/run.hpp"
#include "amlemu/workspace.hpp"

namespace amlemu {

class Experiment {
 public:
  /// Names follow the service's rule: 1-255 characters, letters, digits, '_' and '-', starting
  /// with a letter or digit; a bad name throws UserErrorException. Nothing is written until the
  /// first submit.
  Experiment(const Workspace& ws, const std::string& name);

  const std::string& name() const { return name_; }
  const Workspace& workspace() const { return ws_; }

  /// Validates the estimator against the workspace (entry script present, compute target known,
  /// node counts within the cluster), snapshots the source directory, records the run as
  /// Starting and hands it to a detached supervisor process that drives it to a terminal
  /// status. Returns at once; the run outlives the calling process.
  /// Throws UserErrorException / ComputeTargetException with nothing recorded on bad input.
  Run submit(const Estimator& estimator) const;

  /// Submits a parent run whose children are the given job specs (estimator-style JSON, the
  /// documents `amlemu job create --file` takes; relative paths from `spec_directory`). The
  /// parent's supervisor submits each as a child run through the ordinary path (at most
  /// `max_concurrent_runs` live at a time; 0: all at once), cancels them when the parent is
  /// canceled, and rolls their statuses up: Completed when every child completed, Failed
  /// naming the first child that failed (the others go on), Canceled when canceled. Every spec
  /// is checked before anything is written. The seam for sweeps and pipelines.
  Run submit_parent(const std::vector<nlohmann::ordered_json>& child_specs,
                    const std::filesystem::path& spec_directory,
                    int max_concurrent_runs = 0) const;

  /// Submits a sweep: a parent run whose supervisor samples the search space (random, seeded or
  /// not, or grid), submits each trial (a copy of `trial` whose command has its
  /// ${{search_space.<name>}} replaced by the sampled values) as a child run named
  /// <parent>_<n> through the ordinary path (at most maxConcurrentTrials at a time, maxTotalTrials
  /// in all), ends the trials its early-termination policy names (Canceled, the reason in the
  /// child's properties and in azureml-logs/hyperdrive.txt), and records the best trial
  /// (best_child_run_id, score). `sweep` is the document load_command_job gives for a
  /// `type: sweep` file (CommandJob::sweep). The trial's code is stored at submit. Throws
  /// UserErrorException with nothing recorded on bad input.
  Run submit_sweep(const Estimator& trial, const nlohmann::json& sweep) const;
  /// Runs of this experiment, newest first; at most `max_results` (0: all), limited in the
  /// query, so listing the last few runs costs the same however many the experiment has.
  std::vector<Run> get_runs(int max_results = 0) const;

 private:
  Workspace ws_;
  std::string name_;
};

/// Optional, for a program about to submit a run (the CLI's `job create`): forks, before any
/// workspace is opened, the process that will supervise the next run this process submits, so
/// that the run starts without loading a second program. Call it while the program has one
/// thread. Without it (or with $AMLEMU_SUPERVISOR=exec), submit starts the amlemu-runner
/// program. If no run is submitted, the forked process ends when this one does. The forked
/// process is this process's child: Run::wait_for_completion reaps it once the run is over;
/// otherwise it is reaped when this process exits. A long-lived program that submits and does
/// not wait should not call this.
void prepare_submission();

/// Runs of every experiment of the workspace, newest first; at most `max_results` (0: all).
std::vector<Run> list_runs(const Workspace& ws, int max_results = 0);
/// Every experiment of the workspace (those with at least one run), oldest first.
std::vector<ExperimentInfo> list_experiments(const Workspace& ws);
/// Every logged model (MLflow 3's log_model in runs), oldest first.
std::vector<LoggedModelInfo> list_logged_models(const Workspace& ws);
/// Sets tags of a logged model (existing keys take the new value). Throws NotFoundException
/// when there is no such model.
void set_logged_model_tags(const Workspace& ws, const std::string& model_id,
                           const std::map<std::string, std::string>& tags);

}  // namespace amlemu
