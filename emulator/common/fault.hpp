// Crash points and fault points: named places where tests make a process fail at the worst
// moment, to prove that the workspace stays consistent.
//
// Crash points: `AMLEMU_CRASH_AT=<name>` makes the process that reaches crash point <name> kill
// itself with SIGKILL (no clean-up runs, as in a power cut of that process).
//
// Fault points: `AMLEMU_FAULT_AT=<name>:<file>` makes the filesystem operation at fault point
// <name> fail as on a full disk (ENOSPC) when the file it writes is <file> or ends in "/<file>";
// `AMLEMU_FAULT_AT=<name>` alone makes it fail for every file. This provokes a full disk without
// root (mounting a small filesystem needs it). Fault points:
//   fs.copy_file   fs::copy_file writes half of the file, then fails with
//                  "cannot write <file>: No space left on device".
//
// Unset, a crash point or a fault point costs one comparison (the variable is read once).
#pragma once

#include <signal.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

namespace amlemu {

inline void crash_point(const char* name) {
  static const char* const wanted = std::getenv("AMLEMU_CRASH_AT");
  if (wanted != nullptr && std::strcmp(wanted, name) == 0) ::raise(SIGKILL);
}

/// Whether the value of AMLEMU_FAULT_AT, `spec`, selects fault point `name` for the file `path`.
inline bool fault_selected(std::string_view spec, std::string_view name, std::string_view path) {
  if (spec.substr(0, name.size()) != name) return false;
  if (spec.size() == name.size()) return true;
  if (spec[name.size()] != ':') return false;
  const auto file = spec.substr(name.size() + 1);
  if (file.empty() || path.size() < file.size() || path.substr(path.size() - file.size()) != file) {
    return false;
  }
  return path.size() == file.size() || path[path.size() - file.size() - 1] == '/';
}

/// True when AMLEMU_FAULT_AT asks fault point `name` to fail for the file `path`; the caller then
/// fails as its operation would on a full disk.
inline bool fault_point(const char* name, std::string_view path) {
  static const char* const wanted = std::getenv("AMLEMU_FAULT_AT");
  return wanted != nullptr && fault_selected(wanted, name, path);
}

}  // namespace amlemu
