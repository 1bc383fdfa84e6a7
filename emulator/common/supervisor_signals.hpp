// The signal protocol between amlemu's commands and a run's supervisor, in one place: which
// signal asks for what, how a command sends it (only to the recorded supervisor, never to a pid
// reused after a restart), and the flags the supervisor's handlers set.
#pragma once

#include <signal.h>

#include <atomic>
#include <cstdint>
#include <optional>

namespace amlemu {

/// What a command asks of a run's supervisor.
enum class SupervisorRequest {
  Cancel,   // SIGTERM: stop the run's processes (SIGTERM, grace, SIGKILL), then Canceled
  Preempt,  // SIGUSR1: the run's low-priority node was taken away; kill the processes, Failed
};

/// The signal that carries `request`.
constexpr int signal_of(SupervisorRequest request) {
  return request == SupervisorRequest::Cancel ? SIGTERM : SIGUSR1;
}

/// Sends `request` to the supervisor `pid` that started at `start_ticks` (see proc.hpp), when
/// that process is still alive. Returns false when it is gone or the signal could not be sent.
bool send_to_supervisor(long pid, std::optional<std::int64_t> start_ticks,
                        SupervisorRequest request);

/// What the supervisor's signal handlers set, read by its wait loop. Lock-free atomics, the
/// only objects besides `volatile std::sig_atomic_t` that a handler may write.
struct Interrupts {
  std::atomic<bool> cancel{false};
  std::atomic<bool> preempt{false};
};
static_assert(std::atomic<bool>::is_always_lock_free);

/// Installs the supervisor's handlers: SIGTERM and SIGINT set `cancel`, SIGUSR1 sets `preempt`;
/// SIGHUP is ignored (the supervisor outlives the terminal that submitted the run). Every signal
/// is unblocked and SIGPIPE is back to its default first, whatever the starting process had (the
/// run's processes inherit that state from the supervisor).
/// `interrupts` must outlive the process's handlers (a static object).
void install_supervisor_handlers(Interrupts& interrupts);

}  // namespace amlemu
