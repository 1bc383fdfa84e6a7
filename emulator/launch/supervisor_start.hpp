// Starting a run's supervisor: the detached process that drives the run, wherever it is
// started from. Two ways, behind one entry point:
// - forked ahead of time: a program about to submit one run calls prefork_supervisor() before
//   it opens any workspace; a small process is forked there (no SQLite state, one thread) and
//   waits, detached, until the submission hands it the run, then supervises it. Nothing is
//   executed and nothing loaded, so the run starts sooner.
// - the amlemu-runner program, started by the submitter (when nothing was forked ahead, or the
//   forked process is gone).
#pragma once

#include <filesystem>
#include <string>

#include "amlemu/workspace.hpp"

namespace amlemu::launch {

/// Forks the waiting supervisor (at most once per process; later calls do nothing), in a
/// session of its own but as the caller's child (one fork: see prepare_submission). Call it
/// from a single-threaded program before it opens a workspace: SQLite's state must not cross a
/// fork. $AMLEMU_SUPERVISOR=exec turns it off (every supervisor is then the runner program).
void prefork_supervisor();

/// Hands the workspace a run is about to be submitted to to the process forked ahead, so that it
/// gets ready (opens the workspace, starts its watchdog) while the submitter stores the snapshot
/// and records the run. Does nothing when nothing was forked ahead or it was told already.
void announce_workspace(const Workspace& ws);

/// Starts the run's supervisor, detached from the caller (its own session; the runner program's
/// is reparented to init, the process forked ahead stays the caller's child),
/// through the process forked ahead when there is one, else the runner program. Returns once it
/// has the run. Throws std::runtime_error when it cannot start.
void spawn_supervisor(const Workspace& ws, const std::string& run_id);

/// What a supervisor process does once it is on its own: it marks every process it starts with
/// the run's scope, starts the watchdog that kills that scope when the supervisor ends however
/// it ends, installs its signal handlers, opens the workspace and supervises the run (recording
/// Failed when it cannot). Returns the process's exit code.
int run_supervisor_process(const std::filesystem::path& state_dir, const std::string& run_id);

/// For a parent run (a sweep, a job-spec parent), whose children are runs with supervisors of
/// their own: those, detached, would otherwise be handed to it when their starter exits, and
/// stay its zombies until it ends. Its watchdog then searches the machine when it ends.
void stop_adopting_orphans();

}  // namespace amlemu::launch
