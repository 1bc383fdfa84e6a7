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

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <cstdio>

#include "common/clock.hpp"

extern char** environ;

namespace amlemu {

namespace bp = boost::process;

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

bool enter_mount_namespace(uid_t uid, gid_t gid, const char* uid_map, const char* gid_map) {
  if (::unshare(CLONE_NEWNS) != 0) {
    // Not privileged: a user namespace lets us mount anyway.
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return false;
    (void)uid;
    (void)gid;
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
  explicit LocalProcess(bp::child child)
      : child_(std::move(child)),
        // A pidfd turns "has it exited?" into something poll() can wait on (Linux 5.3+).
        pidfd_(static_cast<int>(::syscall(SYS_pidfd_open, child_.id(), 0))) {}
  ~LocalProcess() override {
    std::error_code ec;
    if (child_.running(ec)) {
      signal_group(SIGKILL);
      child_.wait(ec);
    }
    if (pidfd_ >= 0) ::close(pidfd_);
  }
  int pid() const override { return child_.id(); }
  int exit_handle() const override { return pidfd_; }

  std::optional<int> poll() override {
    if (code_) return code_;
    std::error_code ec;
    if (child_.running(ec)) return std::nullopt;
    const int status = child_.native_exit_code();
    code_ = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    return code_;
  }

  void signal_group(int sig) override { ::kill(-child_.id(), sig); }

 private:
  bp::child child_;
  int pidfd_ = -1;
  std::optional<int> code_;
};

class LocalLauncher : public Launcher {
 public:
  std::unique_ptr<Process> start(const ProcessSpec& spec) override {
    // The child's environment is exactly spec.env, handed to execve as a prepared array
    // (bp::environment's lookups read past the end of shorter entries).
    std::vector<std::string> env_entries;
    env_entries.reserve(spec.env.size());
    for (const auto& [k, v] : spec.env) env_entries.push_back(k + "=" + v);
    std::vector<char*> env_array;
    env_array.reserve(env_entries.size() + 1);
    for (auto& e : env_entries) env_array.push_back(e.data());
    env_array.push_back(nullptr);
    FILE* out = std::fopen(spec.output_file.c_str(), "a");
    if (!out) throw std::runtime_error("cannot open " + spec.output_file.string());
    const pid_t parent = ::getpid();
    const uid_t uid = ::getuid();
    const gid_t gid = ::getgid();
    const std::string uid_map = "0 " + std::to_string(uid) + " 1";
    const std::string gid_map = "0 " + std::to_string(gid) + " 1";
    const auto& binds = spec.read_only_binds;
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    for (int c : spec.cpus) CPU_SET(c, &cpus);
    const bool pin = !spec.cpus.empty();
    struct rlimit memory {};
    memory.rlim_cur = memory.rlim_max = static_cast<rlim_t>(spec.memory_limit_bytes);
    const bool cap = spec.memory_limit_bytes > 0;
    std::error_code ec;
    bp::child child(
        bp::exe = spec.program.string(), bp::args = spec.args, bp::start_dir = spec.cwd.string(),
        bp::std_in<bp::null, (bp::std_out & bp::std_err)> out, ec,
        bp::extend::on_setup = [&](auto& exec) { exec.env = env_array.data(); },
        bp::extend::on_exec_setup = [&](auto&) {
          ::setpgid(0, 0);
          ::prctl(PR_SET_PDEATHSIG, SIGKILL);
          if (::getppid() != parent) ::_exit(137);  // the parent died before prctl took hold
          if (pin) ::sched_setaffinity(0, sizeof cpus, &cpus);
          if (cap) ::setrlimit(RLIMIT_AS, &memory);
          if (!binds.empty()) {
            bind_read_only(binds,
                           enter_mount_namespace(uid, gid, uid_map.c_str(), gid_map.c_str()));
          }
        });
    std::fclose(out);
    if (ec) {
      throw std::runtime_error("cannot start " + spec.program.string() + ": " + ec.message());
    }
    return std::make_unique<LocalProcess>(std::move(child));
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
