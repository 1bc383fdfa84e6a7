#include "collection/collect.hpp"

#include <ostream>

#include "common/fault.hpp"
#include "common/fs.hpp"
#include "workspace/layout.hpp"

namespace amlemu::collection {

namespace stdfs = std::filesystem;

int collect_outputs(const stdfs::path& working_dir, const stdfs::path& artifacts,
                    std::ostream& log) {
  int count = 0;
  for (const char* dir : {layout::kOutputsDir, layout::kUserLogsDir}) {
    const auto src = working_dir / dir;
    const auto files = fs::list_files(src);
    if (files.empty()) continue;
    fs::copy_tree(src, artifacts / dir);
    crash_point("collection.copied");
    count += static_cast<int>(files.size());
    log << "Uploaded " << files.size() << " files from ./" << dir << " to run history\n";
  }
  return count;
}

int collect_named_outputs(const stdfs::path& named_outputs_dir, const stdfs::path& artifacts,
                          const stdfs::path& datastore_dir, std::ostream& log) {
  int count = 0;
  std::error_code ec;
  if (!stdfs::is_directory(named_outputs_dir, ec)) return 0;
  for (const auto& entry : stdfs::directory_iterator(named_outputs_dir, ec)) {
    if (!entry.is_directory()) continue;
    const auto name = entry.path().filename().string();
    const auto files = fs::list_files(entry.path());
    fs::copy_tree(entry.path(), artifacts / "named-outputs" / name);
    fs::copy_tree(entry.path(), datastore_dir / name);
    count += static_cast<int>(files.size());
    log << "Uploaded " << files.size() << " files of output " << name << " to "
        << (datastore_dir / name).string() << "\n";
  }
  return count;
}

FileList list_artifacts(const stdfs::path& artifacts) {
  FileList out;
  std::error_code ec;
  for (const auto& name : fs::list_files(artifacts)) {
    const auto size = stdfs::file_size(artifacts / name, ec);
    out.emplace_back(name, ec ? 0 : static_cast<long long>(size));
  }
  return out;
}

bool little_to_collect(const stdfs::path& working_dir, const stdfs::path& named_outputs_dir) {
  constexpr int kFewFiles = 64;
  constexpr std::uintmax_t kSmallBytes = 16u << 20;
  int files = 0;
  std::uintmax_t bytes = 0;
  for (const auto& root : {working_dir / "outputs", working_dir / "logs", named_outputs_dir}) {
    std::error_code ec;
    for (stdfs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code size_ec;
      if (!it->is_regular_file(size_ec)) continue;
      bytes += it->file_size(size_ec);
      if (++files > kFewFiles || bytes > kSmallBytes) return false;
    }
  }
  return true;
}

}  // namespace amlemu::collection
