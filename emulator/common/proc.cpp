#include "common/proc.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace amlemu {

std::optional<std::int64_t> process_start_ticks(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!in || !std::getline(in, text)) return std::nullopt;
  // The command name (field 2) may hold spaces; fields after it are plain.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 22) return std::stoll(field);
  }
  return std::nullopt;
}

bool process_alive(long pid, std::optional<std::int64_t> start_ticks) {
  const auto start = process_start_ticks(pid);
  if (!start) return false;
  // A zombie has exited: treat it as gone.
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(in, text);
  const auto close = text.rfind(')');
  if (close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z') return false;
  return !start_ticks || *start == *start_ticks;
}

std::string run_scope(long pid, std::int64_t start_ticks) {
  return std::to_string(pid) + "." + std::to_string(start_ticks);
}

std::vector<long> processes_in_scope(const std::string& scope) {
  const std::string needle = std::string(kRunScopeVariable) + "=" + scope;
  std::vector<long> out;
  DIR* proc = ::opendir("/proc");
  if (!proc) return out;
  const long self = ::getpid();
  while (const dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == self) continue;
    // Read with plain system calls: this runs over every process of the machine when each run
    // ends.
    const std::string file = std::string("/proc/") + e->d_name + "/environ";
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    std::string env;
    char buf[16384];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      env.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    // Entries are NUL-separated; match a whole entry.
    for (size_t at = env.find(needle); at != std::string::npos; at = env.find(needle, at + 1)) {
      const size_t after = at + needle.size();
      if ((at == 0 || env[at - 1] == '\0') && (after == env.size() || env[after] == '\0')) {
        out.push_back(pid);
        break;
      }
    }
  }
  ::closedir(proc);
  return out;
}

int kill_scope(const std::string& scope) {
  int killed = 0;
  for (int pass = 0; pass < 100; ++pass) {
    const auto pids = processes_in_scope(scope);
    if (pids.empty()) break;
    for (long pid : pids) {
      if (::kill(static_cast<pid_t>(pid), SIGKILL) == 0) ++killed;
    }
    ::usleep(2000);
  }
  return killed;
}

}  // namespace amlemu
