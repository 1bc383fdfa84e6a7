#include "common/launcher.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pthread.h>

#include <cerrno>
#include <cstring>

#include "common/clock.hpp"
#include "common/fs.hpp"

extern char** environ;

namespace amlemu {

namespace {

// Runs in the child between fork and exec: only system calls, no allocation.
void write_all(int fd, const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  while (n > 0) {
    const ssize_t w = ::write(fd, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

bool enter_mount_namespace(const char* uid_map, const char* gid_map) {
  if (::unshare(CLONE_NEWNS) != 0) {
    // Not privileged: a user namespace lets us mount anyway.
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return false;
    int fd = ::open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      write_all(fd, "deny");
      ::close(fd);
    }
    fd = ::open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    write_all(fd, uid_map);
    ::close(fd);
    fd = ::open("/proc/self/gid_map", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    write_all(fd, gid_map);
    ::close(fd);
  }
  return ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
}

void bind_read_only(const std::vector<std::pair<std::string, std::string>>& binds, bool ns_ok) {
  for (const auto& [source, target] : binds) {
    if (ns_ok && ::mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) == 0) {
      if (::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) == 0) {
        continue;
      }
      ::umount2(target.c_str(), MNT_DETACH);
    }
    ::rmdir(target.c_str());
    if (::symlink(source.c_str(), target.c_str()) == 0) {
      write_all(2, "amlemu: read-only mounts are not available here; ");
      write_all(2, target.c_str());
      write_all(2, " is a writable link to the datastore\n");
    }
  }
}

class LocalProcess : public Process {
 public:
  explicit LocalProcess(pid_t pid)
      : pid_(pid),
        // A pidfd turns "has it exited?" into something poll() can wait on (Linux 5.3+).
        pidfd_(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))) {}
  ~LocalProcess() override {
    if (!code_) {
      signal_group(SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    if (pidfd_ >= 0) ::close(pidfd_);
  }
  int pid() const override { return pid_; }
  int exit_handle() const override { return pidfd_; }

  std::optional<int> poll() override {
    if (code_) return code_;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR)) return std::nullopt;
    if (r < 0) {
      code_ = 255;  // reaped elsewhere: its code is lost
    } else {
      code_ = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }
    return code_;
  }

  void signal_group(int sig) override { ::kill(-pid_, sig); }

 private:
  pid_t pid_;
  int pidfd_ = -1;
  std::optional<int> code_;
};

// What the child does between vfork and execve. Only system calls: the child shares the
// parent's memory (vfork copies no page tables, which for a large supervisor is most of the
// cost of starting a process) and the parent is suspended until the execve.
struct ChildSetup {
  const char* program;
  char* const* argv;
  char* const* envp;
  const char* cwd;
  int out_fd;
  int null_fd;
  pid_t parent;
  const sigset_t* mask;  // the mask to run the program with
  bool pin;
  cpu_set_t cpus;
  bool cap;
  struct rlimit memory;
  const std::vector<std::pair<std::string, std::string>>* binds;
  const char* uid_map;  // "0 <uid> 1" for a user namespace, when there are binds
  const char* gid_map;
};

// Never inlined into the caller: it runs on the stack below the suspended parent's frame, whose
// locals stay as the parent left them.
[[noreturn]] __attribute__((noinline)) void child_after_vfork(const ChildSetup& c, volatile int* exec_errno) {
  // The parent's handlers must not run here: back to the default for every caught signal
  // (the handler table is the child's own), then the mask the program gets.
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction sa {};
    if (::sigaction(sig, nullptr, &sa) == 0 && sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN) {
      ::signal(sig, SIG_DFL);
    }
  }
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != c.parent) ::_exit(137);  // the parent died before prctl took hold
  if (c.pin) ::sched_setaffinity(0, sizeof c.cpus, &c.cpus);
  if (c.cap) ::setrlimit(RLIMIT_AS, &c.memory);
  if (!c.binds->empty()) bind_read_only(*c.binds, enter_mount_namespace(c.uid_map, c.gid_map));
  // dup2 onto itself keeps close-on-exec: the flag is cleared by hand there.
  const auto onto = [](int from, int to) {
    if (from == to) {
      ::fcntl(to, F_SETFD, 0);
    } else {
      ::dup2(from, to);
    }
  };
  onto(c.null_fd, STDIN_FILENO);
  onto(c.out_fd, STDOUT_FILENO);
  onto(c.out_fd, STDERR_FILENO);
  if (c.cwd[0] != '\0' && ::chdir(c.cwd) != 0) {
    *exec_errno = errno;
    ::_exit(127);
  }
  ::sigprocmask(SIG_SETMASK, c.mask, nullptr);
  ::execve(c.program, c.argv, c.envp);
  *exec_errno = errno;
  ::_exit(127);
}

class LocalLauncher : public Launcher {
 public:
  std::unique_ptr<Process> start(const ProcessSpec& spec) override {
    // The child's environment and arguments are exactly spec's, prepared before the vfork.
    std::vector<std::string> env_entries;
    env_entries.reserve(spec.env.size());
    for (const auto& [k, v] : spec.env) env_entries.push_back(k + "=" + v);
    std::vector<char*> envp;
    envp.reserve(env_entries.size() + 1);
    for (auto& e : env_entries) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string program = spec.program.string();
    std::vector<std::string> args = {program};
    args.insert(args.end(), spec.args.begin(), spec.args.end());
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string cwd = spec.cwd.string();
    const fs::Fd out(::open(spec.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (out.get() < 0) throw std::runtime_error("cannot open " + spec.output_file.string());
    const fs::Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    const bool binds = !spec.read_only_binds.empty();
    const std::string uid_map = binds ? "0 " + std::to_string(::getuid()) + " 1" : "";
    const std::string gid_map = binds ? "0 " + std::to_string(::getgid()) + " 1" : "";

    ChildSetup c{};
    c.program = program.c_str();
    c.argv = argv.data();
    c.envp = envp.data();
    c.cwd = cwd.c_str();
    c.out_fd = out.get();
    c.null_fd = null.get();
    c.parent = ::getpid();
    CPU_ZERO(&c.cpus);
    for (int cpu : spec.cpus) CPU_SET(cpu, &c.cpus);
    c.pin = !spec.cpus.empty();
    c.memory.rlim_cur = c.memory.rlim_max = static_cast<rlim_t>(spec.memory_limit_bytes);
    c.cap = spec.memory_limit_bytes > 0;
    c.binds = &spec.read_only_binds;
    c.uid_map = uid_map.c_str();
    c.gid_map = gid_map.c_str();

    // Every signal blocked across the vfork: no handler may run in the child before it has
    // reset them.
    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    c.mask = &old;
    volatile int exec_errno = 0;
    const pid_t pid = ::vfork();
    if (pid == 0) child_after_vfork(c, &exec_errno);
    const int fork_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (pid < 0) {
      throw std::runtime_error("cannot start " + program + ": " + std::strerror(fork_errno));
    }
    if (exec_errno != 0) {
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      throw std::runtime_error("cannot start " + program + ": " + std::strerror(exec_errno));
    }
    return std::make_unique<LocalProcess>(pid);
  }
};

}  // namespace

std::unique_ptr<Launcher> make_local_launcher() { return std::make_unique<LocalLauncher>(); }

bool Launcher::wait_any(const std::vector<Process*>& processes, std::chrono::milliseconds timeout) {
  std::vector<pollfd> fds;
  for (const auto* p : processes) {
    const int fd = p->exit_handle();
    if (fd < 0) return false;
    fds.push_back({fd, POLLIN, 0});
  }
  if (fds.empty()) return false;
  ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
  return true;
}

std::map<std::string, std::string> current_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    const auto eq = kv.find('=');
    if (eq != std::string::npos) out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

std::filesystem::path find_program(const std::string& name, const char* path_variable) {
  if (!path_variable || name.empty()) return {};
  const std::string_view all(path_variable);
  for (size_t start = 0;;) {
    const auto colon = all.find(':', start);
    const auto dir = all.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start);
    const std::string candidate = (dir.empty() ? std::string(".") : std::string(dir)) + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string_view::npos) return {};
    start = colon + 1;
  }
}

std::filesystem::path find_program(const std::string& name) { return find_program(name, std::getenv("PATH")); }

int run_to_end(Launcher& launcher, const ProcessSpec& spec) {
  auto p = launcher.start(spec);
  for (;;) {
    if (const auto code = p->poll()) return *code;
    if (!launcher.wait_any({p.get()}, std::chrono::milliseconds(100))) {
      real_clock().sleep_for(std::chrono::milliseconds(5));
    }
  }
}

}  // namespace amlemu
