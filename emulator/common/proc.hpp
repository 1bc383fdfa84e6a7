// Process identity: a pid plus its start time, so a pid reused after a restart is not mistaken
// for the process that wrote it down.
#pragma once

#include <cstdint>
#include <optional>

namespace amlemu {

/// The process's start time in clock ticks since boot (/proc/<pid>/stat, field 22), or nullopt
/// when there is no such process.
std::optional<std::int64_t> process_start_ticks(long pid);

/// True when `pid` runs and, if `start_ticks` is given, started at that time.
bool process_alive(long pid, std::optional<std::int64_t> start_ticks);

}  // namespace amlemu
