// Whether the machine has a Python interpreter of a minor version, found as Preparing finds it
// (PATH's python3.N, pyenv's versions): tests of environments that ask for one skip without it.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "environment/interpreters.hpp"

namespace amlemu::testing {

inline bool python_exists(const std::string& minor) {
  const char* path = std::getenv("PATH");
  const char* root = std::getenv("PYENV_ROOT");
  const char* home = std::getenv("HOME");
  const auto found = amlemu::environment::discover_interpreters(
      path ? path : "", root && *root ? std::filesystem::path(root)
                                      : std::filesystem::path(home ? home : "/") / ".pyenv");
  for (const auto& i : found) {
    if (amlemu::environment::minor_version(i.version) == minor) return true;
  }
  return false;
}

}  // namespace amlemu::testing
