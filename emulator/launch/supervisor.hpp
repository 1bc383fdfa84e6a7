// The run driver: the detached process's logic that drives one run from Starting to its
// terminal status, one status after another, writing every change to run history and the
// service's log files. The work of each status lives in its own room (environment, compute,
// datastore, process set, outcome, collection); this file only sequences it.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "amlemu/workspace.hpp"
#include "common/clock.hpp"
#include "common/supervisor_signals.hpp"
#include "common/launcher.hpp"
#include "launch/outcome.hpp"

namespace amlemu::launch {

/// How the supervisor stops a script: SIGTERM to its process group, then SIGKILL after the grace
/// period. Polling intervals decide how fast status and logs follow the script.
struct StopPolicy {
  std::chrono::milliseconds grace{5000};
  std::chrono::milliseconds poll{20};
  std::chrono::milliseconds logs_sync{1000};  // ./logs copied to run history while running
  std::chrono::milliseconds queue_poll{50};   // how often a queued run asks for its nodes
};

using amlemu::Interrupts;

/// Drives the run through Preparing, Queued, Running and Finalizing to Completed, Failed or
/// Canceled. Returns 0 when the run reached a terminal status (whatever it is), 1 otherwise.
/// `interrupts` are polled; a cancel stops the run's processes, a preemption kills them.
int supervise(const Workspace& ws, const std::string& run_id, Launcher& launcher, Clock& clock,
              const Interrupts& interrupts, const StopPolicy& policy = {});

/// Replaces every `$AZUREML_DATAREFERENCE_<name>` in the arguments by its path.
std::vector<std::string> substitute_data_references(
    const std::vector<std::string>& args, const std::map<std::string, std::string>& paths);

}  // namespace amlemu::launch
