// Fuzz target: the CLI v2 command-job YAML reader, with and without a --set override. Any
// input must either parse or be refused with a UserErrorException naming the file; any other
// exception, crash or sanitizer report is a bug.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "amlemu/errors.hpp"
#include "amlemu/job_yaml.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto file = std::filesystem::temp_directory_path() /
                           ("amlemu-fuzz-" + std::to_string(::getpid()) + ".yml");
  // The first line, when it starts with "#set ", is a --set override; the rest is the file.
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> overrides;
  if (text.rfind("#set ", 0) == 0) {
    const auto nl = text.find('\n');
    overrides.push_back(text.substr(5, nl == std::string::npos ? std::string::npos : nl - 5));
  }
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
  }
  try {
    amlemu::load_command_job(file, overrides);
  } catch (const amlemu::UserErrorException& e) {
    const std::string what = e.what();
    if (what.find(file.string()) == std::string::npos && what.find("--set") == std::string::npos) {
      __builtin_trap();  // every refusal names the file (or the --set at fault)
    }
  }
  std::error_code ec;
  std::filesystem::remove(file, ec);
  return 0;
}
