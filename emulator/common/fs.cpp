#include "common/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "common/fault.hpp"
#include "common/ids.hpp"
#include "common/proc.hpp"

namespace amlemu::fs {

void fsync_path(const stdfs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void atomic_write(const stdfs::path& path, const std::string& content, Durability durability) {
  stdfs::path tmp = path;
  tmp += ".tmp-" + random_hex(8);
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) throw_errno("cannot write", tmp);
    try {
      write_all(fd.get(), content.data(), content.size(), tmp);
    } catch (...) {
      ::unlink(tmp.c_str());
      throw;
    }
    if (durability == Durability::synced) ::fsync(fd.get());
  }
  stdfs::rename(tmp, path);
  if (durability == Durability::synced) {
    fsync_path(path.parent_path().empty() ? stdfs::path(".") : path.parent_path());
  }
}

std::string read_file(const stdfs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> list_files(const stdfs::path& root) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!stdfs::is_directory(root, ec)) return out;
  const std::string root_text = root.generic_string();
  for (auto it = stdfs::recursive_directory_iterator(root, ec);
       it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file(ec)) {
      // The iterator's paths start with `root` as given; stdfs::relative would resolve both
      // through the filesystem, one readlink per component of every file.
      std::string rel = it->path().generic_string().substr(root_text.size());
      rel.erase(0, rel.find_first_not_of('/'));
      out.push_back(std::move(rel));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

void throw_errno(const std::string& what, const stdfs::path& path) {
  throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

void write_all(int fd, const char* data, std::size_t size, const stdfs::path& path) {
  for (std::size_t done = 0; done < size;) {
    const ssize_t w = ::write(fd, data + done, size - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot write", path);
    }
    done += static_cast<std::size_t>(w);
  }
}

void copy_file(const stdfs::path& from, const stdfs::path& to) {
  Fd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) throw_errno("cannot read", from);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) throw_errno("cannot read", from);
  Fd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777));
  if (out.get() < 0) throw_errno("cannot write", to);
  if (fault_point("fs.copy_file", to.native())) {
    // A disk that fills half-way through the file (see common/fault.hpp).
    char buf[1 << 16];
    for (auto left = static_cast<std::size_t>(st.st_size / 2); left > 0;) {
      const ssize_t n = ::read(in.get(), buf, std::min(sizeof buf, left));
      if (n <= 0) break;
      write_all(out.get(), buf, static_cast<std::size_t>(n), to);
      left -= static_cast<std::size_t>(n);
    }
    errno = ENOSPC;
    throw_errno("cannot write", to);
  }
  // copy_file_range stays in the kernel; where the filesystems do not support it, read/write.
  bool in_kernel = true;
  for (;;) {
    if (in_kernel) {
      const ssize_t n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, 1 << 30, 0);
      if (n > 0) continue;
      if (n == 0) break;
      if (errno == EINTR) continue;
      if (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP ||
          errno == EPERM) {
        in_kernel = false;
        continue;
      }
      throw_errno("cannot write", to);
    }
    char buf[1 << 16];
    const ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot read", from);
    }
    write_all(out.get(), buf, static_cast<std::size_t>(n), to);
  }
  if (::close(out.release()) != 0) throw_errno("cannot write", to);
}

std::uint64_t copy_tree(const stdfs::path& from, const stdfs::path& to) {
  std::uint64_t bytes = 0;
  stdfs::create_directories(to);
  for (const auto& rel : list_files(from)) {
    const stdfs::path dst = to / rel;
    stdfs::create_directories(dst.parent_path());
    try {
      amlemu::fs::copy_file(from / rel, dst);
    } catch (...) {
      std::error_code ec;
      stdfs::remove(dst, ec);
      throw;
    }
    bytes += stdfs::file_size(dst);
  }
  return bytes;
}

stdfs::path staging_entry(const stdfs::path& dir) {
  return dir / (std::to_string(::getpid()) + "-" + random_hex(12));
}

void remove_stale_staging(const stdfs::path& dir) {
  std::error_code ec;
  for (const auto& entry : stdfs::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename().string();
    const auto dash = name.find('-');
    long pid = 0;
    try {
      pid = dash == std::string::npos ? 0 : std::stol(name.substr(0, dash));
    } catch (const std::exception&) {
      pid = 0;
    }
    if (pid > 0 && !process_alive(pid, std::nullopt)) stdfs::remove_all(entry.path(), ec);
  }
}

std::string clean_relative(const std::string& path) {
  if (path.find('\0') != std::string::npos || path.find('\n') != std::string::npos ||
      path.find('\r') != std::string::npos) {
    throw std::invalid_argument("contains a control character");
  }
  std::string out;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") throw std::invalid_argument("'..' would leave its folder");
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

bool is_within(const stdfs::path& parent, const stdfs::path& child) {
  std::error_code ec;
  const auto p = stdfs::weakly_canonical(parent, ec);
  const auto c = stdfs::weakly_canonical(child, ec);
  auto pi = p.begin();
  auto ci = c.begin();
  for (; pi != p.end(); ++pi, ++ci) {
    if (ci == c.end() || *pi != *ci) return false;
  }
  return true;
}

std::string tail_lines(const stdfs::path& path, std::size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  const std::size_t from = lines > 0 && all.size() > lines ? all.size() - lines : 0;
  std::string out;
  for (std::size_t i = from; i < all.size(); ++i) out += all[i] + "\n";
  return out;
}

void make_read_only(const stdfs::path& dir) {
  std::error_code ec;
  for (const auto& entry : stdfs::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) {
      stdfs::permissions(entry.path(),
                         stdfs::perms::owner_write | stdfs::perms::group_write | stdfs::perms::others_write,
                         stdfs::perm_options::remove, ec);
    }
  }
}

std::string read_tail(const stdfs::path& path, std::streamoff max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff start = size > max_bytes ? size - max_bytes : 0;
  in.seekg(start);
  std::string out(static_cast<size_t>(size - start), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

}  // namespace amlemu::fs
