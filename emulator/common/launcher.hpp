// Starting processes: the processes of a run, and the helpers of its stages (environment
// builds, module probes). One small interface, so that process groups, the parent-death
// signal, the environment and output redirection live in one place and logic tests can swap in
// a fake.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace amlemu {

struct ProcessSpec {
  std::filesystem::path program;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // the whole environment of the child
  std::filesystem::path cwd;
  std::filesystem::path output_file;  // stdout and stderr, appended
  /// Folders made visible read-only at `target` (an existing empty folder) in a private mount
  /// namespace of the child. Where namespaces are not allowed, `target` becomes a symlink to
  /// `source` and the child prints a warning on stderr.
  std::vector<std::pair<std::string, std::string>> read_only_binds;
  /// CPUs the child (and its descendants) may run on; empty: all.
  std::vector<int> cpus;
  /// Address-space cap of each process (RLIMIT_AS) in bytes; 0: none.
  std::uint64_t memory_limit_bytes = 0;
};

class Process {
 public:
  virtual ~Process() = default;
  virtual int pid() const = 0;
  /// The exit code once the process has ended (128 + signal when killed), else nullopt.
  virtual std::optional<int> poll() = 0;
  /// Sends `signal` to the process's whole group.
  virtual void signal_group(int signal) = 0;
  /// A descriptor that becomes readable when the process exits (a pidfd), or -1.
  virtual int exit_handle() const { return -1; }
};

/// Where the web requests of a process amlemu starts go when it may not reach out (a run, a
/// scoring instance): a loopback port nothing serves, so a download fails at once (connection
/// refused) instead of hanging.
inline constexpr const char* kNoRouteProxy = "http://127.0.0.1:9";

class Launcher {
 public:
  virtual ~Launcher() = default;
  /// Starts the process in its own process group; it is killed when the calling thread's
  /// process dies. Throws std::runtime_error naming the program when it cannot start.
  virtual std::unique_ptr<Process> start(const ProcessSpec& spec) = 0;
  /// Waits up to `timeout`, returning early when one of `processes` exits or a signal arrives.
  /// Returns false, without waiting, when some process has no exit handle (the caller then
  /// sleeps on its clock).
  bool wait_any(const std::vector<Process*>& processes, std::chrono::milliseconds timeout);
};

/// Real processes, started with vfork and execve (no copy of the caller's memory).
std::unique_ptr<Launcher> make_local_launcher();

/// The current process's environment as a map.
std::map<std::string, std::string> current_environment();

/// The first executable regular file named `name` in the folders of `path_variable` (a PATH
/// value: folders separated by ':'; an empty entry is the current folder), or an empty path.
/// Plain stat and access calls: no locale, no path conversions (Boost.Process's search_path
/// loads the user's locale, every category of it, on the run's start path).
std::filesystem::path find_program(const std::string& name, const char* path_variable);
/// The same on this process's $PATH.
std::filesystem::path find_program(const std::string& name);

/// Starts `spec` and waits for it to end; returns its exit code (128 + signal when killed).
/// For short helper processes (environment builds, module probes).
int run_to_end(Launcher& launcher, const ProcessSpec& spec);

}  // namespace amlemu

// The run driver's rooms name these as launch::*.
namespace amlemu::launch {
using amlemu::current_environment;
using amlemu::Launcher;
using amlemu::make_local_launcher;
using amlemu::Process;
using amlemu::ProcessSpec;
}  // namespace amlemu::launch
