// Preparing: turning a run's environment definition into an interpreter that can run it.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

namespace amlemu::environment {

struct PreparedEnvironment {
  std::filesystem::path python;  // absolute path of the interpreter
};

/// The base interpreter: $AMLEMU_PYTHON, else the first python3 on PATH. Throws
/// UserErrorException when there is none.
std::filesystem::path base_python();

/// Makes the run's environment ready. This version runs every job on the base interpreter and
/// checks that the requested pip packages are importable there (nothing is downloaded).
/// Progress goes to `log`. Throws UserErrorException naming the missing package.
PreparedEnvironment prepare(const nlohmann::json& environment_definition, std::ostream& log);

}  // namespace amlemu::environment
