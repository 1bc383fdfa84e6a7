// Where the installed (or built) amlemu keeps its programs and data.
#pragma once

#include <filesystem>

namespace amlemu {

/// share/amlemu: the Python compatibility package and the VM size catalog. $AMLEMU_SHARE_DIR,
/// else beside the running executable (../share/amlemu), else the build or install tree.
std::filesystem::path share_dir();
/// The supervisor executable `amlemu-runner`: $AMLEMU_RUNNER, else beside the running
/// executable, else the build or install tree.
std::filesystem::path runner_executable();
/// The service plane's program `amlemu-server`: $AMLEMU_SERVER, else beside the running
/// executable, else the build or install tree.
std::filesystem::path server_executable();
/// The amlemu CLI: $AMLEMU_CLI, else `amlemu` beside this executable, else the build tree's, else
/// the installed one. Runs get it as $AMLEMU_CLI (MLflow's model registry store calls it).
std::filesystem::path cli_executable();

}  // namespace amlemu
