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

int collect_named_outputs(const std::vector<NamedOutput>& outputs, const stdfs::path& artifacts,
                          std::ostream& log) {
  int count = 0;
  for (const auto& out : outputs) {
    std::error_code ec;
    const auto in_history = artifacts / "named-outputs" / out.name;
    if (!out.file.empty()) {
      // One file: the output's whole content, whatever else shares its folder.
      const auto written = out.written / out.file;
      if (!stdfs::is_regular_file(written, ec)) continue;
      if (out.upload) {
        stdfs::create_directories(out.destination);
        fs::copy_file(written, out.destination / out.file);
      }
      stdfs::create_directories(in_history);
      fs::copy_file(written, in_history / out.file);
      ++count;
      log << "Uploaded output " << out.name << " to " << (out.destination / out.file).string() << "\n";
      continue;
    }
    if (!stdfs::is_directory(out.written, ec)) continue;
    const auto files = fs::list_files(out.written);
    if (out.upload) fs::copy_tree(out.written, out.destination);
    fs::copy_tree(out.written, in_history);
    count += static_cast<int>(files.size());
    log << (out.upload ? "Uploaded " : "Recorded ") << files.size() << " files of output "
        << out.name << (out.upload ? " to " : " written to ") << out.destination.string() << "\n";
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

bool little_to_collect(const stdfs::path& working_dir, const std::vector<NamedOutput>& outputs) {
  constexpr int kFewFiles = 64;
  constexpr std::uintmax_t kSmallBytes = 16u << 20;
  int files = 0;
  std::uintmax_t bytes = 0;
  std::vector<stdfs::path> roots = {working_dir / "outputs", working_dir / "logs"};
  for (const auto& out : outputs) roots.push_back(out.file.empty() ? out.written : out.written / out.file);
  for (const auto& root : roots) {
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
