// Finalizing: copying what the script left in ./outputs and ./logs into run history.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

namespace amlemu::collection {

using FileList = std::vector<std::pair<std::string, long long>>;

/// Copies `working_dir`/outputs and `working_dir`/logs into `artifacts` (same names). Writes one
/// line per folder to `log`. Returns the number of files copied.
int collect_outputs(const std::filesystem::path& working_dir,
                    const std::filesystem::path& artifacts, std::ostream& log);

/// v2 named outputs: each folder under `named_outputs_dir` is copied into the run's artifacts as
/// named-outputs/<name>/ (what `az ml job download` lays out) and to `datastore_dir`/<name>/ on
/// the default datastore (Azure's default output location, azureml/<run id>/<name>/). Returns the
/// number of files copied.
int collect_named_outputs(const std::filesystem::path& named_outputs_dir,
                          const std::filesystem::path& artifacts,
                          const std::filesystem::path& datastore_dir, std::ostream& log);

/// True when `working_dir`/outputs, `working_dir`/logs and `named_outputs_dir` together hold
/// few and small files: copying them takes about no time, so Finalizing need not be shown before.
bool little_to_collect(const std::filesystem::path& working_dir,
                       const std::filesystem::path& named_outputs_dir);

/// Every file of a run's artifacts folder with its size, for the run_files table.
FileList list_artifacts(const std::filesystem::path& artifacts);

}  // namespace amlemu::collection
