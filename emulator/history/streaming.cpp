// Run::wait_for_completion: the SDK's console framing over a live log.
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <iostream>
#include <string_view>

#include "amlemu/errors.hpp"
#include "amlemu/run.hpp"
#include "common/clock.hpp"
#include "common/fs.hpp"
#include "common/proc.hpp"
#include "common/text.hpp"
#include "history/run_store.hpp"
#include "workspace/layout.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;

namespace {

// The log's size and the run's status (one primary-key read, tens of microseconds) are checked
// after a wait that grows with the time spent waiting: a tenth of it, from 1 ms up to 20 ms. A
// quick run's end shows within a few milliseconds, and a long run costs 50 checks a second. The
// log folder is listed at most every fifth check.
//
// No inotify watch: the kernel waits for an RCU grace period when a process holding one exits or
// closes it, 10 to 20 ms added to every `job create --stream` and `job stream`.
constexpr auto kMinWait = std::chrono::milliseconds(1);
constexpr auto kMaxWait = std::chrono::milliseconds(20);
constexpr int kLogListEvery = 5;
// Once the supervisor is watched, its exit is what ends the wait: the run's status is read at
// most every tenth check meanwhile (a safety net), not at every one.
constexpr int kStatusEvery = 10;

std::chrono::milliseconds next_wait(std::chrono::steady_clock::duration waited) {
  const auto tenth = std::chrono::duration_cast<std::chrono::milliseconds>(waited / 10);
  return std::clamp(tenth, kMinWait, kMaxWait);
}

// The SDK follows the highest-priority log: the last of azureml-logs/NN*.txt in string order;
// when several logs share that NN (distributed runs), the one of rank 0, the chief or worker 0.
// A run with azureml-logs/hyperdrive.txt (a sweep's parent) follows that.
// Post-processing logs (75_ and up) are not followed: the SDK stops streaming once the driver
// log reports the end of the script, so they never show on its console.
std::string pick_log(const stdfs::path& artifacts) {
  // NN<anything>.txt, NN under 75.
  const auto numbered = [](const std::string& f) {
    return f.size() > 6 && ascii_digit(f[0]) && ascii_digit(f[1]) && f.ends_with(".txt") &&
           (f[0] - '0') * 10 + (f[1] - '0') < 75;
  };
  std::vector<std::string> logs;
  bool sweep = false;
  for (const auto& f : fs::list_files(artifacts / layout::kLogsDir)) {
    sweep = sweep || f == "hyperdrive.txt";
    if (f.find('/') == std::string::npos && numbered(f)) {
      logs.push_back(f);
    }
  }
  // A sweep's parent follows its hyperdrive.txt, as the SDK does (a Bayesian sweep also has the
  // build log of its sampler's environment, which hyperdrive.txt sums up).
  if (sweep) return std::string(layout::kLogsDir) + "/hyperdrive.txt";
  if (logs.empty()) return "";
  const std::string prefix = logs.back().substr(0, 3);
  std::string best = logs.back();
  int best_rank = 99;
  for (const auto& f : logs) {
    if (f.rfind(prefix, 0) != 0) continue;
    const auto ends = [&](const std::string& tail) {
      return f.size() >= tail.size() && f.compare(f.size() - tail.size(), tail.size(), tail) == 0;
    };
    const int rank = f == "70_driver_log.txt" ? 0
                     : ends("_chief_0.txt")     ? 1
                     : ends("_worker_0.txt")    ? 2
                     : ends("_log_0.txt")       ? 3
                                                : 99;
    if (rank < best_rank) {
      best_rank = rank;
      best = f;
    }
  }
  return std::string(layout::kLogsDir) + "/" + best;
}

// Prints what the log gained since `offset`, whole lines only unless `flush_all`; returns the
// new offset. The log is read through `block` (one buffer for the whole stream, so following a
// log allocates nothing), so a script that prints gigabytes never makes the console hold more
// than one block.
constexpr std::streamoff kBlock = 64 << 10;

std::streamoff pump(const stdfs::path& file, std::streamoff offset, std::ostream& out,
                    bool flush_all, std::string& block) {
  std::error_code ec;
  const auto size = static_cast<std::streamoff>(stdfs::file_size(file, ec));
  if (ec || size <= offset) return offset;
  std::ifstream in(file, std::ios::binary);
  in.seekg(offset);
  block.resize(static_cast<size_t>(kBlock));
  while (offset < size) {
    in.read(block.data(), std::min(kBlock, size - offset));
    const auto got = static_cast<size_t>(in.gcount());
    if (got == 0) break;
    size_t n = got;
    if (!flush_all && offset + static_cast<std::streamoff>(got) >= size) {
      // The last block: hold back a partial line, unless the block is all one long line.
      const auto nl = std::string_view(block.data(), got).rfind('\n');
      if (nl != std::string_view::npos) {
        n = nl + 1;
      } else if (static_cast<std::streamoff>(got) < kBlock) {
        break;
      }
    }
    out.write(block.data(), static_cast<std::streamsize>(n));
    offset += static_cast<std::streamoff>(n);
    if (n < got) break;
  }
  out.flush();
  return offset;
}

// The run's supervisor, watched through a pidfd: it records the terminal status once the run
// holds nothing more and then exits, so its exit is the moment to look, rather than the end of
// a back-off. Pidfds need no watch to be dropped at exit (inotify's cost 10 to 20 ms).
class SupervisorWatch {
 public:
  ~SupervisorWatch() {
    if (fd_ >= 0) ::close(fd_);
  }
  /// Opens the pidfd once the run has recorded its live supervisor.
  void attach(const std::optional<std::pair<long long, std::optional<std::int64_t>>>& who) {
    if (fd_ >= 0 || gone_ || !who) return;
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, who->first, 0));
    if (fd < 0) {
      if (errno == ESRCH) gone_ = true;  // it died before the first look
      return;
    }
    // Opened after the check, so a pid reused meanwhile is not taken for the supervisor.
    if (!process_alive(who->first, who->second)) {
      ::close(fd);
      gone_ = true;
      return;
    }
    fd_ = fd;
  }
  bool attached() const { return fd_ >= 0; }
  /// Waits up to `d`, returning early when the supervisor exits (then it is watched no more).
  void wait(std::chrono::milliseconds d, Clock& clock) {
    if (fd_ < 0) {
      clock.sleep_for(d);
      return;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(d.count())) > 0) {
      // A supervisor this process forked (prepare_submission) is its child: reaped here.
      // Anyone else's child is not this process's to reap (ECHILD).
      siginfo_t info{};
      ::waitid(P_PIDFD, static_cast<id_t>(fd_), &info, WEXITED | WNOHANG);
      ::close(fd_);
      fd_ = -1;
      gone_ = true;
    }
  }
  bool gone() const { return gone_; }

 private:
  int fd_ = -1;
  bool gone_ = false;
};

}  // namespace

nlohmann::json Run::wait_for_completion(bool show_output, bool raise_on_error) const {
  return wait_for_completion(show_output, raise_on_error, std::cout);
}

nlohmann::json Run::wait_for_completion(bool show_output, bool raise_on_error,
                                        std::ostream& out) const {
  history::RunStore store(ws_);
  const auto artifacts = layout::artifacts(ws_.state_dir(), id_);
  if (show_output) out << "RunId: " << id_ << "\n" << std::flush;
  std::string followed;
  std::streamoff offset = 0;
  std::string status;
  std::string block;
  auto& clock = real_clock();
  const auto began = clock.now();
  SupervisorWatch supervisor;
  for (int tick = 0;; ++tick) {
    // Once the supervisor has exited, the full look (get_status) also records a run whose
    // supervisor died without finishing it.
    if (!supervisor.attached() || tick % kStatusEvery == 0) {
      const auto s = supervisor.gone() ? std::optional<std::string>(get_status()) : store.status(id_);
      if (!s) throw NotFoundException("Run '" + id_ + "' not found");
      status = *s;
    }
    if (!supervisor.attached() && !supervisor.gone()) supervisor.attach(store.supervisor(id_));
    const bool done = RunStatus::is_terminal(status);
    std::string log = followed;
    if (show_output && (tick % kLogListEvery == 0 || done)) log = pick_log(artifacts);
    if (show_output) {
      if (!log.empty() && log != followed) {
        if (!followed.empty()) offset = pump(artifacts / followed, offset, out, true, block);
        followed = log;
        offset = 0;
        out << "\nStreaming " << log << "\n" << std::string(log.size() + 10, '=') << "\n\n";
      }
      if (!followed.empty()) offset = pump(artifacts / followed, offset, out, done, block);
    }
    if (done) break;
    supervisor.wait(next_wait(clock.now() - began), clock);
  }
  const auto details = get_details();
  if (show_output) {
    out << "\nExecution Summary\n=================\nRunId: " << id_ << "\n";
    if (details.contains("warnings")) {
      out << "\nWarnings:\n";
      for (const auto& w : details["warnings"]) out << w.get<std::string>() << "\n";
      out << "\n";
    }
    if (details.contains("error")) out << "\nError:\n" << details["error"].dump(4) << "\n";
    out << "\n" << std::flush;
  }
  if (raise_on_error && details.contains("error")) {
    throw ActivityFailedException(id_, details["error"]);
  }
  if (raise_on_error && details["status"] == RunStatus::Canceled) {
    throw ActivityFailedException(
        id_, {{"error", {{"code", "UserError"}, {"message", "The run was canceled."}}}});
  }
  return details;
}

}  // namespace amlemu
