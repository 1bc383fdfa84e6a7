// The run supervisor: the detached process that drives one run from Starting to its terminal
// status, writing every change to run history and the service's log files.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "amlemu/workspace.hpp"
#include "common/clock.hpp"
#include "launch/launcher.hpp"

namespace amlemu::launch {

/// How the supervisor stops a script: SIGTERM to its process group, then SIGKILL after the grace
/// period. Polling intervals decide how fast status and logs follow the script.
struct StopPolicy {
  std::chrono::milliseconds grace{5000};
  std::chrono::milliseconds poll{20};
  std::chrono::milliseconds logs_sync{1000};  // ./logs copied to run history while running
};

/// What the runner's signal handlers set: SIGTERM asks to cancel, SIGUSR1 says the run's
/// lowpriority node was preempted.
struct Interrupts {
  volatile bool cancel = false;
  volatile bool preempt = false;
};

/// Drives the run through Preparing, Queued, Running and Finalizing to Completed, Failed or
/// Canceled. Returns 0 when the run reached a terminal status (whatever it is), 1 otherwise.
/// `interrupts` are polled; a cancel stops the run's processes, a preemption kills them.
int supervise(const Workspace& ws, const std::string& run_id, Launcher& launcher, Clock& clock,
              const Interrupts& interrupts, const StopPolicy& policy = {});

/// Replaces every `$AZUREML_DATAREFERENCE_<name>` in the arguments by its path.
std::vector<std::string> substitute_data_references(
    const std::vector<std::string>& args, const std::map<std::string, std::string>& paths);

/// The run's error object for a user program that exited with `exit_code` (128 + n when killed
/// by signal n), from the tail of its log: `{"error": {"code": "UserError", "message": "User
/// program failed with <Type>: <msg>", "details": [{"code": "UserProgramOutput", "message":
/// <last lines>}], "exitCode": n}}`.
nlohmann::json user_program_error(const std::string& log_tail, int exit_code);

/// Starts `amlemu-runner` for the run, detached from the caller (its own session, reparented to
/// init), and returns once it has started. Throws std::runtime_error when it cannot start.
void spawn_supervisor(const Workspace& ws, const std::string& run_id);

}  // namespace amlemu::launch
