#include "submission/snapshot.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <stdexcept>
#include <type_traits>

#include <boost/uuid/detail/sha1.hpp>
#include <fmt/format.h>

#include "amlemu/errors.hpp"
#include "common/fs.hpp"
#include "common/ids.hpp"
#include "common/text.hpp"
#include "submission/ignore.hpp"

namespace amlemu::submission {

namespace stdfs = std::filesystem;

namespace {

using Sha1 = boost::uuids::detail::sha1;

constexpr std::size_t kChunk = 64 << 10;  // read and hash files 64 KiB at a time

// The SDK's prefix for every snapshot error: "While attempting to take snapshot of <dir>: ".
std::string snapshot_error(const stdfs::path& source, const std::string& what) {
  return "While attempting to take snapshot of " + source.string() + ": " + what;
}

// Collects the files under `source / rel_dir` that the rules keep. Ignored folders are not
// entered; symlinked folders are not followed; a symlink to a file counts as a file.
void walk(const stdfs::path& source, const std::string& rel_dir, const IgnoreRules& rules,
          std::vector<std::string>& out) {
  const stdfs::path dir = rel_dir.empty() ? source : source / rel_dir;
  for (const auto& entry : stdfs::directory_iterator(dir)) {  // throws, naming dir, if unreadable
    const std::string name = entry.path().filename().string();
    const std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
    std::error_code ec;
    if (stdfs::is_directory(entry.symlink_status(ec))) {  // a real folder, not a link to one
      if (!rules.is_ignored(rel, true)) walk(source, rel, rules, out);
    } else if (entry.is_regular_file(ec)) {  // a file, or a symlink to one
      if (!rules.is_ignored(rel, false)) out.push_back(rel);
    }
  }
}

// Sums the sizes of `files` and throws the SDK's errors when they exceed the limits.
SnapshotInfo measure(const stdfs::path& source, const std::vector<std::string>& files,
                     const SnapshotLimits& limits) {
  SnapshotInfo info;
  info.files = files.size();
  for (const auto& rel : files) {
    std::error_code ec;
    const auto size = stdfs::file_size(source / rel, ec);
    if (!ec) info.bytes += size;
  }
  if (info.bytes > limits.max_bytes) {
    throw UserErrorException(snapshot_error(
        source, fmt::format("Your total snapshot size exceeds the limit of {:.1f} MB",
                            static_cast<double>(limits.max_bytes) / (1024.0 * 1024.0))));
  }
  if (info.files > limits.max_files) {
    throw UserErrorException(snapshot_error(
        source, fmt::format("Your snapshot holds {} files, over the limit of {} files", info.files,
                            limits.max_files)));
  }
  return info;
}

// Lower-case hex of a SHA-1 digest, most significant byte first. Boost 1.74 returns five 32-bit
// words and later releases twenty bytes; this reads either.
std::string hex_digest(Sha1& sha) {
  Sha1::digest_type digest;
  sha.get_digest(digest);
  using Word = std::remove_extent_t<Sha1::digest_type>;
  std::string out;
  for (const Word word : digest) {
    for (int shift = static_cast<int>(sizeof(Word) - 1) * 8; shift >= 0; shift -= 8) {
      out += fmt::format("{:02x}", static_cast<unsigned>((word >> shift) & 0xffu));
    }
  }
  return out;
}

// Reads `from` and returns the hex SHA-1 of its content. With `to`, also writes the content
// there (a new file with the source's permission bits), fsynced before it returns, so what is
// hashed is exactly what was written.
std::string hash_file(const stdfs::path& from, const stdfs::path* to = nullptr) {
  fs::Fd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) fs::throw_errno("cannot read", from);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) fs::throw_errno("cannot read", from);
  fs::Fd out(to ? ::open(to->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777)
            : -1);
  if (to && out.get() < 0) fs::throw_errno("cannot write", *to);

  Sha1 sha;
  std::vector<char> buffer(kChunk);
  while (true) {
    const ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fs::throw_errno("cannot read", from);
    if (n == 0) break;
    sha.process_bytes(buffer.data(), static_cast<std::size_t>(n));
    if (to) fs::write_all(out.get(), buffer.data(), static_cast<std::size_t>(n), *to);
  }
  if (to && ::fsync(out.get()) != 0) fs::throw_errno("cannot write", *to);
  return hex_digest(sha);
}

// Snapshot ids. Each file contributes the line "<relative path>\0<hex SHA-1 of content>\n", in
// sorted path order (a path holds no NUL and a digest has a fixed length, so no two snapshots
// share a manifest); the id is the first 16 bytes of the manifest's SHA-1 as 8-4-4-4-12 hex.
void add_to_manifest(std::string& manifest, const std::string& rel, const std::string& digest) {
  manifest += rel;
  manifest += '\0';
  manifest += digest;
  manifest += '\n';
}

std::string id_of_manifest(const std::string& manifest) {
  Sha1 sha;
  sha.process_bytes(manifest.data(), manifest.size());
  const std::string h = hex_digest(sha);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

// Copies `files` from `source` into `staging` (created), fsyncing files and folders, and returns
// the id of what was copied.
std::string copy_to_staging(const stdfs::path& source, const std::vector<std::string>& files,
                            const stdfs::path& staging) {
  stdfs::create_directories(staging);
  std::set<stdfs::path> folders{staging};
  std::string manifest;
  for (const auto& rel : files) {
    const stdfs::path dst = staging / rel;
    stdfs::create_directories(dst.parent_path());
    for (auto p = dst.parent_path(); p != staging; p = p.parent_path()) folders.insert(p);
    add_to_manifest(manifest, rel, hash_file(source / rel, &dst));
  }
  for (const auto& folder : folders) fs::fsync_path(folder);
  return id_of_manifest(manifest);
}

bool is_snapshot_id(const std::string& id) {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const bool hyphen = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = id[i];
    if (hyphen ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> list_snapshot_files(const stdfs::path& source) {
  std::error_code ec;
  if (!stdfs::is_directory(source, ec)) {
    throw UserErrorException(snapshot_error(source, "not a directory"));
  }
  const IgnoreRules rules = IgnoreRules::load(source);
  std::vector<std::string> files;
  walk(source, "", rules, files);
  std::sort(files.begin(), files.end());
  // Run history records file names as JSON text, one per line in places: refuse names that
  // cannot be written there as they are.
  for (const auto& f : files) {
    const auto problem = file_name_problem(f);
    if (!problem.empty()) {
      throw UserErrorException(snapshot_error(source, "the file name '" + printable(f) + "' " +
                                                          problem +
                                                          "; rename it or list it in .amlignore"));
    }
  }
  return files;
}

SnapshotInfo check_snapshot(const stdfs::path& source, const SnapshotLimits& limits) {
  return measure(source, list_snapshot_files(source), limits);
}

SnapshotInfo take_snapshot(const stdfs::path& source, const stdfs::path& destination) {
  SnapshotInfo info;
  stdfs::create_directories(destination);
  for (const auto& rel : list_snapshot_files(source)) {
    const stdfs::path dst = destination / rel;
    stdfs::create_directories(dst.parent_path());
    fs::copy_file(source / rel, dst);
    ++info.files;
    info.bytes += stdfs::file_size(dst);
  }
  return info;
}

std::string store_snapshot(const stdfs::path& source, const stdfs::path& snapshots_root,
                           const SnapshotLimits& limits) {
  const auto files = list_snapshot_files(source);
  measure(source, files, limits);

  // First pass: hash in place. An unchanged folder is found here and nothing is copied.
  std::string manifest;
  for (const auto& rel : files) add_to_manifest(manifest, rel, hash_file(source / rel));
  const std::string id = id_of_manifest(manifest);
  std::error_code ec;
  if (stdfs::is_directory(snapshot_dir(snapshots_root, id), ec)) return id;

  // Second pass: copy into a private staging folder, hashing what is written, then publish it
  // with one rename. Readers see no snapshot or a whole one.
  stdfs::create_directories(snapshots_root);
  const stdfs::path staging = snapshots_root / (".staging-" + random_hex(16));
  try {
    const std::string stored_id = copy_to_staging(source, files, staging);
    const stdfs::path final_dir = snapshot_dir(snapshots_root, stored_id);
    stdfs::rename(staging, final_dir, ec);
    if (ec) {
      // Another process published the same snapshot first (rename refuses a non-empty target):
      // theirs is identical, keep it.
      if (!stdfs::is_directory(final_dir)) {
        throw stdfs::filesystem_error("cannot store snapshot", staging, final_dir, ec);
      }
      stdfs::remove_all(staging);
    }
    fs::fsync_path(snapshots_root);
    return stored_id;
  } catch (...) {
    stdfs::remove_all(staging, ec);
    throw;
  }
}

stdfs::path snapshot_dir(const stdfs::path& snapshots_root, const std::string& id) {
  if (!is_snapshot_id(id)) {
    throw UserErrorException("snapshot id '" + id +
                             "' is invalid: expected 8-4-4-4-12 lower-case hex digits");
  }
  return snapshots_root / id;
}

}  // namespace amlemu::submission
