// The snapshot: the source directory as it was at submit time, kept with the run. As on Azure ML,
// the files named by `.amlignore` (else `.gitignore`) are left out (see ignore.hpp) and the
// service's limits (300 MB, 2000 files) apply to what remains.
//
// What a snapshot holds: every regular file under the source directory that the ignore rules do
// not exclude, at the same relative path. The ignore file itself is included, as the SDK does
// (unless its own patterns match it). Symlinks to files are copied as the files they point to;
// symlinked folders are not followed and other special files are skipped; empty folders are not
// kept. A `.git` folder is not special: ignore it in the ignore file if it should stay out.
//
// Snapshots can also be kept in a content-addressed store, `store_snapshot`: one folder per
// snapshot id under a snapshots root, so runs of an unchanged source directory share one copy.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace amlemu::submission {

struct SnapshotLimits {
  std::uint64_t max_bytes = 300ull * 1024 * 1024;  // the service's 300 MB
  std::uint64_t max_files = 2000;
};

struct SnapshotInfo {
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
};

/// The files of `source` that go into its snapshot: sorted relative paths with '/' separators.
/// Throws UserErrorException ("While attempting to take snapshot of ...") when `source` is not a
/// directory, std::runtime_error (with the path) when a folder cannot be read.
std::vector<std::string> list_snapshot_files(const std::filesystem::path& source);

/// Measures what the snapshot of `source` would hold and throws UserErrorException ("While
/// attempting to take snapshot of ...") when it exceeds the limits. Writes nothing.
SnapshotInfo check_snapshot(const std::filesystem::path& source, const SnapshotLimits& limits);

/// Copies the snapshot files of `source` into `destination` (created; it should not exist yet).
/// Checks no limits: call check_snapshot first.
SnapshotInfo take_snapshot(const std::filesystem::path& source,
                           const std::filesystem::path& destination);

/// Stores the snapshot of `source` under `snapshots_root` (created if missing) and returns its
/// id. The id is a digest of the snapshot's relative paths and file contents (SHA-1), written
/// like a GUID, 8-4-4-4-12 lower-case hex, as Azure's ContentSnapshotId: equal contents give
/// equal ids. When `snapshots_root/<id>` already exists nothing is copied, so runs of an
/// unchanged folder share one snapshot. Otherwise the files are copied (and fsynced) into
/// `snapshots_root/.staging-<16 hex>`, which is then renamed to `snapshots_root/<id>`; if another
/// process stored the same id meanwhile, the staged copy is removed. A stored snapshot never
/// changes; if the source changes while it is being copied, the id returned is the copy's.
/// Throws UserErrorException when the limits are exceeded (nothing is written then), and
/// std::runtime_error when a file cannot be read or written (the staging folder is removed).
std::string store_snapshot(const std::filesystem::path& source,
                           const std::filesystem::path& snapshots_root,
                           const SnapshotLimits& limits);

/// The folder of a stored snapshot: `snapshots_root/<id>`. Throws UserErrorException when `id`
/// is not in the 8-4-4-4-12 hex form (so an id read from elsewhere cannot name another folder).
std::filesystem::path snapshot_dir(const std::filesystem::path& snapshots_root,
                                   const std::string& id);

}  // namespace amlemu::submission
