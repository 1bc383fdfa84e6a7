// Asking an interpreter about itself by running it: the requirements its own packages meet,
// and the default interpreter's executable, version and TensorFlow release.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/launcher.hpp"
#include "environment/interpreters.hpp"

namespace amlemu::environment {

/// Runs `python -c code args...` and returns its output lines (empty when it fails).
std::vector<std::string> probe(Launcher& launcher, const std::filesystem::path& python,
                               const std::string& code, const std::vector<std::string>& args);

/// The requirements the interpreter's own packages already meet, as pip would find them through
/// --system-site-packages (uv does not look there): requirement -> "distribution version".
/// A tensorflow requirement is also met by tensorflow-cpu and tensorflow-intel.
std::map<std::string, std::string> met_by_interpreter(Launcher& launcher, const std::filesystem::path& python,
                                                      const std::vector<std::string>& reqs);

/// The default interpreter as it runs: its executable (a pyenv shim resolved), its version, and
/// its TensorFlow release if it has one.
struct DefaultInterpreter {
  Interpreter interpreter;
  std::string tensorflow;
};

std::optional<DefaultInterpreter> probe_default(Launcher& launcher, const std::filesystem::path& python);

}  // namespace amlemu::environment
