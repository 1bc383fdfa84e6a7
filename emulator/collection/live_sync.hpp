// Running: the script's ./logs reaches run history while the run runs, not only at the end.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace amlemu::collection {

/// Copies the files of `working_dir`/logs that are new or changed into `artifacts`/logs.
/// Returns the run-file names copied (logs/<relative path>) with their sizes, for run history.
std::vector<std::pair<std::string, long long>> sync_user_logs(
    const std::filesystem::path& working_dir, const std::filesystem::path& artifacts);

}  // namespace amlemu::collection
