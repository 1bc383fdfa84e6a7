#include "common/paths.hpp"

#include <cstdlib>
#include <system_error>

namespace amlemu {

namespace stdfs = std::filesystem;

namespace {
stdfs::path self_dir() {
  std::error_code ec;
  auto exe = stdfs::read_symlink("/proc/self/exe", ec);
  return ec ? stdfs::path() : exe.parent_path();
}

stdfs::path first_existing(std::initializer_list<stdfs::path> candidates) {
  std::error_code ec;
  for (const auto& c : candidates) {
    if (!c.empty() && stdfs::exists(c, ec)) return c;
  }
  return *(candidates.end() - 1);
}
}  // namespace

stdfs::path share_dir() {
  if (const char* env = std::getenv("AMLEMU_SHARE_DIR"); env && *env) return env;
  const auto self = self_dir();
  return first_existing({self.empty() ? stdfs::path() : self / ".." / "share" / "amlemu",
                         stdfs::path(AMLEMU_BUILD_SHARE_DIR),
                         stdfs::path(AMLEMU_INSTALL_SHARE_DIR)});
}

stdfs::path runner_executable() {
  if (const char* env = std::getenv("AMLEMU_RUNNER"); env && *env) return env;
  const auto self = self_dir();
  return first_existing({self.empty() ? stdfs::path() : self / "amlemu-runner",
                         stdfs::path(AMLEMU_BUILD_BIN_DIR) / "amlemu-runner",
                         stdfs::path(AMLEMU_INSTALL_BIN_DIR) / "amlemu-runner"});
}

stdfs::path server_executable() {
  if (const char* env = std::getenv("AMLEMU_SERVER"); env && *env) return env;
  const auto self = self_dir();
  return first_existing({self.empty() ? stdfs::path() : self / "amlemu-server",
                         stdfs::path(AMLEMU_BUILD_BIN_DIR) / "amlemu-server",
                         stdfs::path(AMLEMU_INSTALL_BIN_DIR) / "amlemu-server"});
}

stdfs::path cli_executable() {
  if (const char* env = std::getenv("AMLEMU_CLI"); env && *env) return env;
  const auto self = self_dir();
  return first_existing({self.empty() ? stdfs::path() : self / "amlemu",
                         stdfs::path(AMLEMU_BUILD_BIN_DIR) / "amlemu",
                         stdfs::path(AMLEMU_INSTALL_BIN_DIR) / "amlemu"});
}

}  // namespace amlemu
