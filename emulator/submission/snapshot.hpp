// The snapshot: the source directory as it was at submit time, kept with the run.
#pragma once

#include <cstdint>
#include <filesystem>

namespace amlemu::submission {

struct SnapshotLimits {
  std::uint64_t max_bytes = 300ull * 1024 * 1024;  // the service's 300 MB
  std::uint64_t max_files = 2000;
};

struct SnapshotInfo {
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
};

/// Measures `source` and throws UserErrorException ("While attempting to take snapshot of ...")
/// when it exceeds the limits. Writes nothing.
SnapshotInfo check_snapshot(const std::filesystem::path& source, const SnapshotLimits& limits);

/// Copies `source` into `destination` (which must not exist yet).
SnapshotInfo take_snapshot(const std::filesystem::path& source,
                           const std::filesystem::path& destination);

}  // namespace amlemu::submission
