// Crash points: named places where a process can be made to die at once, so tests can prove that
// a crash at the worst moment leaves the workspace consistent. `AMLEMU_CRASH_AT=<name>` makes the
// process that reaches crash point <name> kill itself with SIGKILL (no clean-up runs, as in a
// power cut of that process). Unset, a crash point costs one comparison.
#pragma once

#include <signal.h>

#include <cstdlib>
#include <cstring>

namespace amlemu {

inline void crash_point(const char* name) {
  static const char* const wanted = std::getenv("AMLEMU_CRASH_AT");
  if (wanted != nullptr && std::strcmp(wanted, name) == 0) ::raise(SIGKILL);
}

}  // namespace amlemu
