// Time: one place that reads the clock, so logic can be tested with a fixed time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace amlemu {

using SystemTime = std::chrono::system_clock::time_point;

/// ISO-8601 UTC with milliseconds: 2026-11-26T06:00:00.123Z.
std::string iso_utc(SystemTime t);
/// The log-line stamp of the service's runtime: 2026-11-26T06:00:00.123456.
std::string log_stamp(SystemTime t);
std::string now_iso();
/// Seconds in an ISO 8601 duration as Azure writes them (PT1H, PT2M, P1DT2H3M4.5S); nullopt when
/// `text` is not one. Years and months are not accepted (their length varies).
std::optional<double> iso8601_duration_seconds(const std::string& text);
std::int64_t epoch_seconds(SystemTime t);

/// Time behind an interface, so logic that waits or stamps (the supervisor's grace periods,
/// time limits, status times and log lines; the cluster's provisioning and scale-down) can be
/// tested with a fake clock: monotonic `now()` for waits, `wall()` for what is recorded.
class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint now() = 0;
  virtual void sleep_for(std::chrono::milliseconds d) = 0;
  /// The time of day, for timestamps.
  virtual SystemTime wall() { return std::chrono::system_clock::now(); }
  /// ISO-8601 UTC of wall(), as run history records it.
  std::string wall_iso() { return iso_utc(wall()); }
  /// Milliseconds since the epoch of wall(), as the cluster store counts.
  std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(wall().time_since_epoch())
        .count();
  }
};

/// The real clock.
Clock& real_clock();

}  // namespace amlemu
