#include "submission/snapshot.hpp"

#include <fmt/format.h>

#include "amlemu/errors.hpp"
#include "common/fs.hpp"

namespace amlemu::submission {

namespace stdfs = std::filesystem;

SnapshotInfo check_snapshot(const stdfs::path& source, const SnapshotLimits& limits) {
  SnapshotInfo info;
  std::error_code ec;
  for (const auto& rel : fs::list_files(source)) {
    ++info.files;
    info.bytes += stdfs::file_size(source / rel, ec);
  }
  const std::string where = "While attempting to take snapshot of " + source.string() + ": ";
  if (info.bytes > limits.max_bytes) {
    throw UserErrorException(where + fmt::format("Your total snapshot size exceeds the limit of "
                                                 "{:.1f} MB",
                                                 limits.max_bytes / (1024.0 * 1024.0)));
  }
  if (info.files > limits.max_files) {
    throw UserErrorException(where + fmt::format("Your snapshot holds {} files, over the limit "
                                                 "of {} files",
                                                 info.files, limits.max_files));
  }
  return info;
}

SnapshotInfo take_snapshot(const stdfs::path& source, const stdfs::path& destination) {
  SnapshotInfo info;
  info.bytes = fs::copy_tree(source, destination);
  info.files = fs::list_files(destination).size();
  return info;
}

}  // namespace amlemu::submission
