// The processes of one run, started together and waited on together. How they are stopped is
// data: a stop sequence of signals and waits (cancel: SIGTERM, the grace period, SIGKILL;
// preemption: SIGKILL), the way reproc keeps its stop actions. No file, no database: the
// launcher and the clock are the only ways out, so fakes test every path.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/launcher.hpp"
#include "launch/run_tasks.hpp"
#include "launch/outcome.hpp"

namespace amlemu::launch {

/// One step of stopping: send `signal` to every process still running, then give them `wait`
/// before the next step. The last step is repeated each turn until every process has ended.
struct StopStep {
  int signal;
  std::chrono::milliseconds wait{0};
};
using StopSequence = std::vector<StopStep>;

/// SIGTERM, `grace`, then SIGKILL: a cancel, a time limit, a failure that ends the others.
StopSequence graceful_stop(std::chrono::milliseconds grace);
/// SIGKILL at once: a preempted VM just goes away.
StopSequence immediate_stop();

/// A request to stop every process, and how.
struct StopRequest {
  StopReason reason;
  StopSequence sequence;
};

/// A process of the run (the task planned for it) and how it ended.
struct Member : Task {
  std::unique_ptr<Process> process;
  std::optional<int> code;
  bool stopped_by_us = false;
  SystemTime ended{};  // when its exit was seen
};

class ProcessSet {
 public:
  ProcessSet(Launcher& launcher, Clock& clock, std::chrono::milliseconds poll,
             std::chrono::milliseconds grace)
      : launcher_(launcher), clock_(clock), poll_(poll), grace_(grace) {}

  /// Starts a process. Throws what the launcher throws.
  void start(Member member);
  /// Takes a member whose `process` was started elsewhere (a child run).
  void adopt(Member member) { members_.push_back(std::move(member)); }
  /// Whether the first failure stops the others (a distributed run: yes; a parent's child
  /// runs: no, each goes on).
  void set_failure_stops_others(bool stops) { failure_stops_others_ = stops; }

  /// Waits until every process has ended. The run goes on until every non-server process has
  /// exited; the first failure stops the rest, and servers are stopped once the others are
  /// done (both gracefully). Each turn, while nothing is stopping yet, `interrupt()` may ask
  /// for a stop and `top_up()` may start (or adopt) more members, returning whether it has more
  /// to come; `tick()` runs every turn. Returns why the processes stopped.
  StopReason wait(const std::function<std::optional<StopRequest>()>& interrupt,
                  const std::function<void()>& tick,
                  const std::function<bool()>& top_up = nullptr);

  /// The process that failed on its own first (not one stopped by the set), if any.
  std::optional<size_t> first_failure() const { return failed_; }
  const std::vector<Member>& members() const { return members_; }

 private:
  void signal_live(int signal);

  Launcher& launcher_;
  Clock& clock_;
  std::chrono::milliseconds poll_;
  std::chrono::milliseconds grace_;
  std::vector<Member> members_;
  std::optional<size_t> failed_;
  bool failure_stops_others_ = true;
};

}  // namespace amlemu::launch
