#include "launch/supervisor_start.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>

#include "amlemu/run.hpp"
#include "common/clock.hpp"
#include "common/launcher.hpp"
#include "common/paths.hpp"
#include "common/proc.hpp"
#include "common/supervisor_signals.hpp"
#include "history/run_store.hpp"
#include "launch/supervisor.hpp"
#include "workspace/layout.hpp"
#include "workspace/upkeep.hpp"

namespace amlemu::launch {

namespace stdfs = std::filesystem;

namespace {

Interrupts g_interrupts;
int g_handoff = -1;  // the submitter's end of the socket to the process forked ahead
std::string g_announced;  // the state folder already handed to it, if any
int g_handoff_in = -1;  // the process forked ahead's end of that socket
int g_watchdog = -1;  // the supervisor's end of the pipe to its watchdog
pid_t g_watchdog_pid = -1;
std::string g_scope;  // the run's scope, once the supervisor has one
bool g_adopting = false;  // a child subreaper: the run's orphans are among its descendants

// What the supervisor tells its watchdog, one line each: the workspace's state folder (for the
// log fold), then, at a clean end, this word.
constexpr const char* kNothingLeft = "nothing-left";

// The submitter is done with the process forked ahead: its socket closed (end of file: the
// message is whole).
void end_handoff() {
  ::close(g_handoff);
  g_handoff = -1;
}

// The watchdog: a small process forked before the run starts anything. It holds the read end of
// a pipe whose only writer is the supervisor (close-on-exec, so no child inherits it); when the
// supervisor ends, however it ends (SIGKILL included), the pipe closes and the watchdog kills
// every process that still carries the run's scope: grandchildren that left their process group,
// MPI daemons, an environment build in flight. Nothing of a run outlives its supervisor.
// That search reads the environment of every process of the machine; a supervisor that ends
// normally spares it by saying, last thing, that its run left nothing (see say_nothing_left).
// Then, no longer in anyone's way, it folds the workspace's write-ahead log into the database
// (when it has grown), so that the next command has little log to read back when it opens it.
// The watchdog starts before the supervisor knows its workspace (a supervisor forked ahead
// starts it while the submitter is still reading its job); the workspace's state folder comes
// down the pipe as one line when it is known (tell_watchdog).
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
    if (g_handoff_in >= 0) ::close(g_handoff_in);  // the hand-off is the supervisor's alone
    ::prctl(PR_SET_NAME, "amlemu-watchdog");
    ::signal(SIGTERM, SIG_IGN);
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGUSR1, SIG_IGN);
    std::string said;
    char buf[512];
    for (;;) {
      const ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n > 0) {
        said.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;  // end of file: the supervisor is gone
    }
    if (said.find(std::string("\n") + kNothingLeft + "\n") == std::string::npos) kill_scope(scope);
    const auto nl = said.find('\n');
    if (nl != std::string::npos && nl > 0) upkeep::fold_log(said.substr(0, nl));
    ::_exit(0);
  }
  ::close(fds[0]);
  g_watchdog = fds[1];  // open for the supervisor's life
  g_watchdog_pid = pid;
}

void tell_watchdog(const stdfs::path& state_dir) {
  if (g_watchdog < 0) return;
  const std::string line = state_dir.string() + "\n";
  (void)!::write(g_watchdog, line.data(), line.size());
}

// The run is over: when no process of its scope is left among the supervisor's descendants, the
// watchdog is told so and spares the search of the whole machine. The supervisor is a child
// subreaper (begin_supervision): a process of the run that left its process group and lost its
// parent (a daemon's double fork) is handed to it, so it is still among its descendants. When
// one is alive, or the kernel cannot list descendants, nothing is said and the watchdog searches.
void say_nothing_left() {
  if (g_watchdog < 0 || g_scope.empty() || !g_adopting) return;
  if (!no_descendant_in_scope(::getpid(), g_scope, g_watchdog_pid)) return;
  const std::string line = std::string(kNothingLeft) + "\n";
  (void)!::write(g_watchdog, line.data(), line.size());
}

// The hand-off, one line at a time: "<state dir>\n", then "<run id>\n" (end of file before a
// whole line: no run was submitted).
class HandoffReader {
 public:
  explicit HandoffReader(int fd) : fd_(fd) {}
  bool line(std::string& out) {
    for (;;) {
      const auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        out = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return !out.empty();
      }
      char buf[4096];
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buffer_.append(buf, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  std::string buffer_;
};

// A supervisor's set-up, done before it knows its workspace: the scope and the watchdog, the
// signal handlers.
void begin_supervision() {
  // The run's orphans come to the supervisor instead of init (see say_nothing_left).
  g_adopting = ::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0;
  if (const auto start = process_start_ticks(::getpid())) {
    g_scope = run_scope(::getpid(), *start);
    start_watchdog(g_scope);
    ::setenv(kRunScopeVariable, g_scope.c_str(), 1);  // inherited by every process of the run
  }
  install_supervisor_handlers(g_interrupts);
}

// ... and once it knows it: the watchdog told, the workspace opened (none when it cannot be:
// the run then fails when it starts).
std::optional<Workspace> open_for_supervision(const stdfs::path& state_dir) {
  tell_watchdog(state_dir);
  try {
    return Workspace::open_state_dir(state_dir);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

int supervise_run(const std::optional<Workspace>& opened, const stdfs::path& state_dir,
                  const std::string& run_id) {
  try {
    const auto ws = opened ? *opened : Workspace::open_state_dir(state_dir);
    auto launcher = make_local_launcher();
    const int code = supervise(ws, run_id, *launcher, real_clock(), g_interrupts);
    say_nothing_left();
    return code;
  } catch (const std::exception& e) {
    std::cerr << "amlemu-runner: " << e.what() << "\n";
    try {
      const auto ws = Workspace::open_state_dir(state_dir);
      history::RunStore(ws).set_status(
          run_id, RunStatus::Failed, now_iso(),
          {{"error", {{"code", "ServiceError"}, {"message", e.what()}}}});
    } catch (...) {
    }
    return 1;
  }
}

// The process forked ahead, once detached: readies itself as soon as it knows the workspace
// (while the submitter stores the snapshot and records the run), waits for its run, then
// supervises it.
[[noreturn]] void waiting_supervisor(int fd) {
  HandoffReader handoff(fd);
  g_handoff_in = fd;
  std::string state_dir, run_id;
  begin_supervision();  // while the submitter still reads its job
  if (!handoff.line(state_dir)) ::_exit(0);
  const auto ws = open_for_supervision(state_dir);
  if (!handoff.line(run_id)) ::_exit(0);
  ::close(fd);
  g_handoff_in = -1;
  const auto log = layout::supervisor_log(state_dir, run_id);
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out >= 0) {
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
  }
  ::_exit(supervise_run(ws, state_dir, run_id));
}

bool send_all(int fd, const std::string& message) {
  return ::send(fd, message.data(), message.size(), MSG_NOSIGNAL) ==
         static_cast<ssize_t>(message.size());
}

void start_runner_program(const Workspace& ws, const std::string& run_id) {
  namespace bp = boost::process;
  const auto runner = runner_executable();
  const auto log = layout::supervisor_log(ws.state_dir(), run_id);
  std::error_code ec;
  // The runner forks once more and its first child exits, so the supervisor is reparented to
  // init and never becomes a zombie of a long-lived caller.
  // A run submitted from inside another run (a parent's children, a script that submits) is
  // its own: it must not carry the other run's scope, whose watchdog would kill it.
  auto env = boost::this_process::environment();
  env.erase(kRunScopeVariable);
  bp::child c(bp::exe = runner.string(),
              bp::args = {"--state-dir", ws.state_dir().string(), "--run-id", run_id,
                          "--detach"},
              bp::std_in<bp::null, (bp::std_out & bp::std_err)> log.string(), env, ec);
  if (ec) throw std::runtime_error("cannot start " + runner.string() + ": " + ec.message());
  c.wait(ec);
  if (c.exit_code() != 0) {
    throw std::runtime_error("the run supervisor " + runner.string() + " failed to start (see " +
                             log.string() + ")");
  }
}

}  // namespace

void prefork_supervisor() {
  static bool done = false;
  if (done) return;
  done = true;
  const char* mode = std::getenv("AMLEMU_SUPERVISOR");
  if (mode && std::string(mode) == "exec") return;
  // Inside a run, a forked process would keep that run's scope in its /proc environ, and that
  // run's watchdog would kill it: such submissions start the runner program without it.
  if (std::getenv(kRunScopeVariable)) return;
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return;
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return;
  }
  if (child == 0) {
    // A new session: the terminal's signals miss it. One fork, not two: it stays the
    // submitter's child, which is a program about to exit (the CLI) or to wait for the run
    // (Run::wait_for_completion reaps it); a second fork would cost its start the time of a
    // process that only exits.
    ::close(fds[0]);
    ::setsid();
    // The caller's stdout and stderr may be pipes it reads to the end: hold none of them.
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
      ::dup2(null, STDERR_FILENO);
    }
    waiting_supervisor(fds[1]);
  }
  ::close(fds[1]);
  g_handoff = fds[0];
}

void announce_workspace(const Workspace& ws) {
  if (g_handoff < 0 || !g_announced.empty()) return;
  const auto dir = ws.state_dir().string();
  if (send_all(g_handoff, dir + "\n")) {
    g_announced = dir;
  } else {
    end_handoff();  // gone: the runner program starts the run instead
  }
}

void spawn_supervisor(const Workspace& ws, const std::string& run_id) {
  if (g_handoff >= 0) {
    const auto dir = ws.state_dir().string();
    // A process readied for another workspace cannot take this run: end it (end of file).
    const bool ours = g_announced.empty() || g_announced == dir;
    const bool sent = ours && send_all(g_handoff, (g_announced.empty() ? dir + "\n" : "") + run_id + "\n");
    end_handoff();
    if (sent) return;
    // The process forked ahead is gone: start the program instead.
  }
  start_runner_program(ws, run_id);
}

void stop_adopting_orphans() {
  if (g_adopting) ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  g_adopting = false;
}

int run_supervisor_process(const stdfs::path& state_dir, const std::string& run_id) {
  begin_supervision();
  const auto ws = open_for_supervision(state_dir);
  return supervise_run(ws, state_dir, run_id);
}

}  // namespace amlemu::launch
