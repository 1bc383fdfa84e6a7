// Process identity: a pid plus its start time, so a pid reused after a restart is not mistaken
// for the process that wrote it down.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace amlemu {

/// The process's start time in clock ticks since boot (/proc/<pid>/stat, field 22), or nullopt
/// when there is no such process.
std::optional<std::int64_t> process_start_ticks(long pid);

/// True when `pid` runs and, if `start_ticks` is given, started at that time.
bool process_alive(long pid, std::optional<std::int64_t> start_ticks);

/// The environment variable every process of a run carries: its value names the run's supervisor
/// (pid and start time), so the run's processes can be found even after they left its process
/// groups (setsid, daemons, MPI's remote daemons).
inline constexpr const char* kRunScopeVariable = "AMLEMU_RUN_SCOPE";

/// The scope value of the supervisor `pid` that started at `start_ticks`.
std::string run_scope(long pid, std::int64_t start_ticks);

/// Pids of the live processes whose environment holds `AMLEMU_RUN_SCOPE=<scope>`.
std::vector<long> processes_in_scope(const std::string& scope);

/// Every descendant of `pid` (children, theirs, and so on; zombies included), from
/// /proc/<pid>/task/*/children; nullopt when the kernel cannot list them or `pid` is gone.
/// Processes forking meanwhile may be missed: call it when the tree is meant to be still.
std::optional<std::vector<long>> descendants(long pid);

/// True when no descendant of `pid` but `except` carries `AMLEMU_RUN_SCOPE=<scope>`; false
/// when one does or the descendants cannot be listed.
bool no_descendant_in_scope(long pid, const std::string& scope, long except);

/// Sends SIGKILL to every process of the scope, again until none is left (a process may fork
/// while it is being killed); returns how many were killed.
int kill_scope(const std::string& scope);

}  // namespace amlemu
