#include "common/clock.hpp"

#include <ctime>
#include <regex>
#include <thread>

#include <fmt/format.h>

namespace amlemu {

namespace {
std::tm utc(SystemTime t) {
  const std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  return tm;
}
}  // namespace

std::string iso_utc(SystemTime t) {
  const auto tm = utc(t);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

std::string log_stamp(SystemTime t) {
  const auto tm = utc(t);
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count() %
      1000000;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us);
}

std::string now_iso() { return real_clock().wall_iso(); }

std::int64_t epoch_seconds(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

namespace {
class RealClock : public Clock {
 public:
  TimePoint now() override { return std::chrono::steady_clock::now(); }
  void sleep_for(std::chrono::milliseconds d) override { std::this_thread::sleep_for(d); }
};
}  // namespace

Clock& real_clock() {
  static RealClock clock;
  return clock;
}

std::optional<double> iso8601_duration_seconds(const std::string& text) {
  static const std::regex form(R"(^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$)");
  std::smatch m;
  if (text.size() < 3 || !std::regex_match(text, m, form) || text.back() == 'T') return std::nullopt;
  double s = 0;
  if (m[1].matched) s += 86400.0 * std::stod(m[1]);
  if (m[2].matched) s += 3600.0 * std::stod(m[2]);
  if (m[3].matched) s += 60.0 * std::stod(m[3]);
  if (m[4].matched) s += std::stod(m[4]);
  return s;
}

}  // namespace amlemu
