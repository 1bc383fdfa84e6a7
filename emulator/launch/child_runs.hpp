// A parent run's "processes" are child runs: each is an ordinary run, submitted through the
// ordinary submission path with its own supervisor, and seen by the parent's process set
// through the Process interface: it has ended when its status is terminal, and a stop signal
// cancels it. So a parent run waits, stops and rolls up exactly as a distributed run does.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "amlemu/estimator.hpp"
#include "amlemu/workspace.hpp"
#include "common/clock.hpp"
#include "common/launcher.hpp"
#include "launch/outcome.hpp"
#include "launch/process_set.hpp"

namespace amlemu::launch {

/// A child run as a process: poll() is its exit once terminal (Completed 0, Failed 1,
/// Canceled 128 + SIGTERM); any signal cancels it (once).
std::unique_ptr<Process> watch_child_run(const Workspace& ws, const std::string& run_id);

/// Where a parent's children come from, in order. The fixed list of a runDefinition's
/// `children` now; a sweep's sampler later.
class ChildSource {
 public:
  virtual ~ChildSource() = default;
  /// The next child's job spec, or nullopt when there is none (yet, or at all).
  virtual std::optional<JobSpec> next() = 0;
  /// Whether more children may still come.
  virtual bool exhausted() const = 0;
};

/// The children listed in a parent runDefinition: `children` (estimator-style job specs),
/// read relative to `specDirectory`. Throws UserErrorException naming the child when one
/// is not a valid spec.
std::unique_ptr<ChildSource> listed_children(const nlohmann::json& parent_definition);

/// How a parent's children ended.
struct ChildrenResult {
  StopReason reason = StopReason::Exited;
  std::optional<FailedChild> failed;  // the first child that failed, or a child not submitted
  int children = 0;                   // how many were submitted
};

/// Runs a parent's children: submits them from `source` (at most `max_concurrent` live at a
/// time; 0: no limit) as children of `parent_run_id`, waits for all of them (a failure does not
/// stop the others), and cancels the live ones when `stop()` asks for a stop (a cancel or the
/// time limit). `on_submit(run_id)` is told of each child; `on_poll`, when given, is called at
/// every poll, also once no child is left to submit (a sweep applies its policy there).
ChildrenResult run_children(const Workspace& ws, const std::string& parent_run_id,
                            ChildSource& source, int max_concurrent, Launcher& launcher,
                            Clock& clock, std::chrono::milliseconds poll,
                            std::chrono::milliseconds grace,
                            const std::function<std::optional<StopRequest>()>& stop,
                            const std::function<void(const std::string&)>& on_submit,
                            const std::function<void()>& on_poll = nullptr);

}  // namespace amlemu::launch
