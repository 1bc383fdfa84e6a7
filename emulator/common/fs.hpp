// Filesystem helpers shared by every room: atomic small-file writes, tree copies and path checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

namespace amlemu::fs {

namespace stdfs = std::filesystem;

/// Whether atomic_write makes the new content survive a power loss (fsync of the file and its
/// folder) or only guarantees that readers never see a half-written file. Logs and scratch files
/// a run rewrites need no more than the second, and a sync can take tens of milliseconds.
enum class Durability { synced, unsynced };

/// Writes `content` to `path` atomically: a temporary file beside it, fsync, rename, fsync of the
/// folder (no fsyncs when `unsynced`). Readers see the old content or the new one, never a mix.
void atomic_write(const stdfs::path& path, const std::string& content,
                  Durability durability = Durability::synced);

/// Reads a whole file; throws std::runtime_error naming the path when it cannot.
std::string read_file(const stdfs::path& path);
/// The last `max_bytes` of a file ("" when it cannot be read).
std::string read_tail(const stdfs::path& path, std::streamoff max_bytes);
/// The last `lines` lines of a text file, each ending with '\n' (all of them when `lines` is 0;
/// "" when it cannot be read).
std::string tail_lines(const stdfs::path& path, std::size_t lines);

/// Takes the write permission off every file under `dir` (folders stay writable, so the tree can
/// still be removed).
void make_read_only(const stdfs::path& dir);

/// Files (not folders) under `root`, as sorted relative paths with '/' separators. Symlinks to
/// files count as files; symlinked folders are not followed.
std::vector<std::string> list_files(const stdfs::path& root);

/// A file descriptor that closes itself.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  int get() const { return fd_; }
  /// Gives up ownership (to close it and check the result).
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

/// Throws std::system_error for errno: "<what> <path>: <the system's reason>".
[[noreturn]] void throw_errno(const std::string& what, const stdfs::path& path);

/// Writes all of `data` to `fd` (retrying short writes and EINTR); throws as throw_errno
/// ("cannot write <path>") on failure.
void write_all(int fd, const char* data, std::size_t size, const stdfs::path& path);

/// Copies the file `from` to `to`, replacing it, with `from`'s permission bits. Errors are
/// std::system_error naming the file and the system's reason ("No space left on device"),
/// which std::filesystem::copy_file does not always keep. Fault point `fs.copy_file`
/// (common/fault.hpp) makes it fail with ENOSPC after writing half of the file.
void copy_file(const stdfs::path& from, const stdfs::path& to);

/// Copies the tree `from` into `to` (created), regular files only, preserving relative paths.
/// Returns the number of bytes copied. A file whose copy fails (a full disk) is removed before
/// the error is thrown, so no half file is left under its name.
std::uint64_t copy_tree(const stdfs::path& from, const stdfs::path& to);

/// Normalises a relative path given by a user ("./a//b/", "/a") into "a/b". Returns an empty
/// string for the root. Throws std::invalid_argument when it would leave its folder ("..") or
/// contains characters a file name cannot hold (NUL, newline).
std::string clean_relative(const std::string& path);

/// True when `child`, once symlinks are resolved, lies inside `parent`.
bool is_within(const stdfs::path& parent, const stdfs::path& child);

/// Fsyncs a file or folder; errors are ignored (best effort on filesystems that refuse).
void fsync_path(const stdfs::path& path);

/// A fresh entry name `<dir>/<pid>-<random>` for work in flight (`dir` must exist). Entries of
/// processes that died are removed by remove_stale_staging.
stdfs::path staging_entry(const stdfs::path& dir);

/// Removes the entries of `dir` left by processes that are no longer running (a crash). Entries
/// not named as staging_entry names them (`<pid>-...`) are left alone.
void remove_stale_staging(const stdfs::path& dir);

}  // namespace amlemu::fs
