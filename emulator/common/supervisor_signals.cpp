#include "common/supervisor_signals.hpp"

#include <sys/types.h>

#include "common/proc.hpp"

namespace amlemu {

namespace {

Interrupts* g_interrupts = nullptr;

void on_cancel(int) { g_interrupts->cancel.store(true, std::memory_order_relaxed); }
void on_preempt(int) { g_interrupts->preempt.store(true, std::memory_order_relaxed); }

}  // namespace

bool send_to_supervisor(long pid, std::optional<std::int64_t> start_ticks,
                        SupervisorRequest request) {
  if (pid <= 0 || !process_alive(pid, start_ticks)) return false;
  return ::kill(static_cast<pid_t>(pid), signal_of(request)) == 0;
}

void install_supervisor_handlers(Interrupts& interrupts) {
  // A signal mask and ignored signals survive fork and exec: a supervisor started by a process
  // that blocks SIGTERM (the server takes its signals with sigwait) or ignores SIGPIPE would pass
  // both on, and a cancel would never reach it or the run's processes. Start from the defaults.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  g_interrupts = &interrupts;
  struct sigaction cancel {};
  cancel.sa_handler = on_cancel;
  ::sigaction(signal_of(SupervisorRequest::Cancel), &cancel, nullptr);
  ::sigaction(SIGINT, &cancel, nullptr);
  struct sigaction preempt {};
  preempt.sa_handler = on_preempt;
  ::sigaction(signal_of(SupervisorRequest::Preempt), &preempt, nullptr);
  ::signal(SIGHUP, SIG_IGN);
}

}  // namespace amlemu
