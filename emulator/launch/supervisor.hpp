// The run supervisor: the detached process that drives one run from Starting to its terminal
// status, writing every change to run history.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "amlemu/workspace.hpp"
#include "launch/launcher.hpp"

namespace amlemu::launch {

/// Drives the run through Preparing, Queued, Running and Finalizing to Completed, Failed or
/// Canceled. Returns 0 when the run reached a terminal status (whatever it is), 1 otherwise.
/// `cancel_requested` is polled; when it turns true the run's processes are ended.
int supervise(const Workspace& ws, const std::string& run_id, Launcher& launcher,
              const volatile bool& cancel_requested);

/// Replaces every `$AZUREML_DATAREFERENCE_<name>` in the arguments by its path.
std::vector<std::string> substitute_data_references(
    const std::vector<std::string>& args, const std::map<std::string, std::string>& paths);

/// The run's error object for a user program that exited with `exit_code`, from the tail of its
/// log: `{"error": {"code": "UserError", "message": "User program failed with <Type>: <msg>"}}`.
nlohmann::json user_program_error(const std::string& log_tail, int exit_code);

/// Starts `amlemu-runner` for the run, detached from the caller (its own session, reparented to
/// init), and returns once it has started. Throws std::runtime_error when it cannot start.
void spawn_supervisor(const Workspace& ws, const std::string& run_id);

}  // namespace amlemu::launch
