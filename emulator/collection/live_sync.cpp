#include "collection/live_sync.hpp"

#include "common/fs.hpp"
#include "workspace/layout.hpp"

namespace amlemu::collection {

namespace stdfs = std::filesystem;

std::vector<std::pair<std::string, long long>> sync_user_logs(const stdfs::path& wd,
                                                              const stdfs::path& artifacts) {
  const auto from = wd / layout::kUserLogsDir;
  const auto to = artifacts / layout::kUserLogsDir;
  std::vector<std::pair<std::string, long long>> copied;
  std::error_code ec;
  for (const auto& rel : fs::list_files(from)) {
    const auto src = from / rel;
    const auto dst = to / rel;
    if (stdfs::exists(dst, ec) && stdfs::file_size(src, ec) == stdfs::file_size(dst, ec) &&
        stdfs::last_write_time(src, ec) <= stdfs::last_write_time(dst, ec)) {
      continue;
    }
    stdfs::create_directories(dst.parent_path(), ec);
    stdfs::copy_file(src, dst, stdfs::copy_options::overwrite_existing, ec);
    if (ec) continue;
    copied.emplace_back(std::string(layout::kUserLogsDir) + "/" + rel,
                        static_cast<long long>(stdfs::file_size(dst, ec)));
  }
  return copied;
}

}  // namespace amlemu::collection
