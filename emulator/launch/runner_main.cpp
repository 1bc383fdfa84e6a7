// amlemu-runner: the detached supervisor of one run. Started by Experiment::submit; not meant to
// be run by hand.
//
//   amlemu-runner --state-dir DIR --run-id ID [--detach]
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>

#include "amlemu/workspace.hpp"
#include "common/clock.hpp"
#include "common/proc.hpp"
#include "common/supervisor_signals.hpp"
#include "history/run_store.hpp"
#include "common/launcher.hpp"
#include "launch/supervisor.hpp"

namespace {

amlemu::Interrupts g_interrupts;

// The watchdog: a small process forked before the run starts anything. It holds the read end of
// a pipe whose only writer is the supervisor (close-on-exec, so no child inherits it); when the
// supervisor ends, however it ends (SIGKILL included), the pipe closes and the watchdog kills
// every process that still carries the run's scope: grandchildren that left their process group,
// MPI daemons, an environment build in flight. Nothing of a run outlives its supervisor.
void start_watchdog(const std::string& scope) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return;
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return;
  }
  if (pid == 0) {
    ::close(fds[1]);
    ::prctl(PR_SET_NAME, "amlemu-watchdog");
    ::signal(SIGTERM, SIG_IGN);
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGUSR1, SIG_IGN);
    char byte;
    for (;;) {
      const ssize_t n = ::read(fds[0], &byte, 1);
      if (n > 0 || (n < 0 && errno == EINTR)) continue;
      break;  // end of file: the supervisor is gone
    }
    amlemu::kill_scope(scope);
    ::_exit(0);
  }
  ::close(fds[0]);  // the write end stays open for the supervisor's life
}

}  // namespace

int main(int argc, char** argv) {
  std::string state_dir;
  std::string run_id;
  bool detach = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--state-dir" && i + 1 < argc) {
      state_dir = argv[++i];
    } else if (a == "--run-id" && i + 1 < argc) {
      run_id = argv[++i];
    } else if (a == "--detach") {
      detach = true;
    } else {
      std::cerr << "amlemu-runner: unknown argument " << a << "\n";
      return 2;
    }
  }
  if (state_dir.empty() || run_id.empty()) {
    std::cerr << "usage: amlemu-runner --state-dir DIR --run-id ID [--detach]\n";
    return 2;
  }
  if (detach) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::cerr << "amlemu-runner: fork failed: " << std::strerror(errno) << "\n";
      return 1;
    }
    if (pid > 0) return 0;  // the submitter waits for this exit; the child carries on
    ::setsid();
  }
  if (const auto start = amlemu::process_start_ticks(::getpid())) {
    const auto scope = amlemu::run_scope(::getpid(), *start);
    start_watchdog(scope);
    ::setenv(amlemu::kRunScopeVariable, scope.c_str(), 1);  // inherited by every process of the run
  }
  amlemu::install_supervisor_handlers(g_interrupts);
  try {
    const auto ws = amlemu::Workspace::open_state_dir(state_dir);
    auto launcher = amlemu::launch::make_local_launcher();
    return amlemu::launch::supervise(ws, run_id, *launcher, amlemu::real_clock(), g_interrupts);
  } catch (const std::exception& e) {
    std::cerr << "amlemu-runner: " << e.what() << "\n";
    try {
      const auto ws = amlemu::Workspace::open_state_dir(state_dir);
      amlemu::history::RunStore(ws)
          .set_status(run_id, amlemu::RunStatus::Failed, amlemu::now_iso(),
                      {{"error", {{"code", "ServiceError"}, {"message", e.what()}}}});
    } catch (...) {
    }
    return 1;
  }
}
