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

namespace {

// Reads a /proc file whole with plain system calls (no stream, no locale): these run over every
// process of the machine when a run ends without saying it left nothing.
bool read_proc_file(const std::string& file, std::string& out) {
  out.clear();
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

// Whether /proc/<pid>/environ holds the entry `needle` (entries are NUL-separated; a whole
// entry matches). A zombie's environment reads empty.
bool environ_holds(long pid, const std::string& needle, std::string& scratch) {
  if (!read_proc_file("/proc/" + std::to_string(pid) + "/environ", scratch)) return false;
  for (size_t at = scratch.find(needle); at != std::string::npos; at = scratch.find(needle, at + 1)) {
    const size_t after = at + needle.size();
    if ((at == 0 || scratch[at - 1] == '\0') && (after == scratch.size() || scratch[after] == '\0')) {
      return true;
    }
  }
  return false;
}

std::string scope_entry(const std::string& scope) {
  return std::string(kRunScopeVariable) + "=" + scope;
}

}  // namespace

std::vector<long> processes_in_scope(const std::string& scope) {
  const std::string needle = scope_entry(scope);
  std::vector<long> out;
  DIR* proc = ::opendir("/proc");
  if (!proc) return out;
  const long self = ::getpid();
  std::string env;
  while (const dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == self) continue;
    if (environ_holds(pid, needle, env)) out.push_back(pid);
  }
  ::closedir(proc);
  return out;
}

std::optional<std::vector<long>> descendants(long pid) {
  std::vector<long> out;
  std::vector<long> todo = {pid};
  std::string text;
  while (!todo.empty()) {
    const long p = todo.back();
    todo.pop_back();
    // A process's children are listed per thread.
    const std::string tasks = "/proc/" + std::to_string(p) + "/task";
    DIR* dir = ::opendir(tasks.c_str());
    if (!dir) {
      if (p == pid) return std::nullopt;
      continue;  // gone meanwhile
    }
    bool listed = true;
    while (const dirent* e = ::readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      if (!read_proc_file(tasks + "/" + e->d_name + "/children", text)) {
        listed = false;  // a kernel without CONFIG_PROC_CHILDREN
        continue;
      }
      const char* at = text.c_str();
      char* end = nullptr;
      for (long child = std::strtol(at, &end, 10); end != at; child = std::strtol(at, &end, 10)) {
        out.push_back(child);
        todo.push_back(child);
        at = end;
      }
    }
    ::closedir(dir);
    if (!listed) return std::nullopt;
  }
  return out;
}

bool no_descendant_in_scope(long pid, const std::string& scope, long except) {
  const auto all = descendants(pid);
  if (!all) return false;
  const std::string needle = scope_entry(scope);
  std::string env;
  for (long d : *all) {
    if (d != except && environ_holds(d, needle, env)) return false;
  }
  return true;
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
