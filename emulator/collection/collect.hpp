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

/// A v2 named output as one node leaves it.
struct NamedOutput {
  std::string name;
  std::filesystem::path written;      // the folder the script wrote in
  std::filesystem::path destination;  // its folder on the datastore
  bool upload = false;  // written on the node, copied to `destination` now (else: already there)
  std::string file;     // a uri_file output with a path: the one file, else ""
};

/// v2 named outputs: an upload-mode output is copied to its datastore folder; every output is
/// copied into the run's artifacts as named-outputs/<name>/ (what `az ml job download` lays out).
/// Returns the number of files copied.
int collect_named_outputs(const std::vector<NamedOutput>& outputs,
                          const std::filesystem::path& artifacts, std::ostream& log);

/// True when `working_dir`/outputs, `working_dir`/logs and the outputs' folders together hold
/// few and small files: copying them takes about no time, so Finalizing need not be shown before.
bool little_to_collect(const std::filesystem::path& working_dir,
                       const std::vector<NamedOutput>& outputs);

/// Every file of a run's artifacts folder with its size, for the run_files table.
FileList list_artifacts(const std::filesystem::path& artifacts);

}  // namespace amlemu::collection
