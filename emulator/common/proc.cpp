#include "common/proc.hpp"

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

}  // namespace amlemu
