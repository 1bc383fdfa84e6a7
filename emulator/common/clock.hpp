// Time: one place that reads the clock, so logic can be tested with a fixed time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace amlemu {

using SystemTime = std::chrono::system_clock::time_point;

/// ISO-8601 UTC with milliseconds: 2026-11-26T06:00:00.123Z.
std::string iso_utc(SystemTime t);
/// The log-line stamp of the service's runtime: 2026-11-26T06:00:00.123456.
std::string log_stamp(SystemTime t);
std::string now_iso();
std::int64_t epoch_seconds(SystemTime t);

/// Monotonic time and sleeping, behind an interface so logic that waits (the supervisor's
/// grace periods and time limits) can be tested with a fake clock in microseconds.
class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint now() = 0;
  virtual void sleep_for(std::chrono::milliseconds d) = 0;
};

/// The real clock.
Clock& real_clock();

}  // namespace amlemu
