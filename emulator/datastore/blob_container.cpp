// Blob containers over the workspace's folders (include/amlemu/blob.hpp): names checked and
// confined to their folder, writes staged and renamed into place, properties in BlobStore.
#include "amlemu/blob.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "amlemu/datastore.hpp"
#include "common/fault.hpp"
#include "common/fs.hpp"
#include "common/hash.hpp"
#include "common/ids.hpp"
#include "common/text.hpp"
#include "datastore/blob_store.hpp"
#include "workspace/layout.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;

namespace {

constexpr const char* kRunHistory = "azureml";
constexpr const char* kRunPrefix = "ExperimentRun/dcid.";
constexpr std::size_t kMaxName = 1024;

using Kind = BlobException::Kind;

std::string workspace_guid(const Workspace& ws) {
  return ws.get_details().value("workspaceid", std::string());
}

// A blob name as relative path segments; throws invalid_name for what a file cannot be.
std::string checked(const std::string& name) {
  if (name.empty() || name.size() > kMaxName || name.back() == '/' || name.front() == '/') {
    throw BlobException(Kind::invalid_name, "The blob name '" + printable(name) + "' is not a valid name");
  }
  size_t start = 0;
  while (start <= name.size()) {
    const auto slash = name.find('/', start);
    const auto seg = name.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    const bool control = std::any_of(seg.begin(), seg.end(), [](char c) {
      return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
    if (seg.empty() || seg == "." || seg == ".." || seg.size() > 255 || control ||
        !valid_utf8(seg)) {
      throw BlobException(Kind::invalid_name,
                          "The blob name '" + printable(name) +
                              "' has a segment a file cannot be named ('" + printable(seg) + "')");
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return name;
}

std::string etag_of(const struct stat& st) {
  const auto ns = static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1000000000ull +
                  static_cast<unsigned long long>(st.st_mtim.tv_nsec);
  char buf[40];
  std::snprintf(buf, sizeof buf, "\"0x%016llX\"",
                (ns * 1099511628211ull) ^ (static_cast<unsigned long long>(st.st_size) << 20) ^
                    static_cast<unsigned long long>(st.st_ino));
  return buf;
}

BlobInfo info_of(const std::string& name, const struct stat& st,
                 const std::optional<nlohmann::json>& props) {
  BlobInfo b;
  b.name = name;
  b.size = static_cast<std::uint64_t>(st.st_size);
  b.etag = etag_of(st);
  b.modified_ms = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
  // Properties describe the file whose etag they carry: a file replaced since (by a write whose
  // record never committed, or by hand in the datastore's folder) has none of them.
  if (props && (!props->contains("etag") || (*props)["etag"] == b.etag)) {
    b.content_type = props->value("contentType", b.content_type);
    if (b.content_type.empty()) b.content_type = "application/octet-stream";
    b.content_md5 = props->value("contentMd5", "");
    if (props->contains("metadata")) {
      b.metadata = (*props)["metadata"].get<std::map<std::string, std::string>>();
    }
  }
  return b;
}

// The properties of a write, bound to the staged file that becomes the blob (a rename keeps its
// inode, time and size, so its etag).
nlohmann::json props_of(const BlobWrite& w, const stdfs::path& staged) {
  struct stat st {};
  if (::stat(staged.c_str(), &st) != 0) fs::throw_errno("cannot read", staged);
  return {{"contentType", w.content_type}, {"contentMd5", w.content_md5}, {"metadata", w.metadata},
          {"etag", etag_of(st)}};
}

// Regular files under `dir`, as sorted relative names with '/'. Symlinked folders are not
// followed, so a link cannot make the listing leave its container.
void walk(const stdfs::path& dir, const std::string& rel, std::vector<std::string>& out) {
  std::error_code ec;
  std::vector<std::pair<std::string, bool>> entries;
  for (stdfs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto st = it->symlink_status(ec);
    if (stdfs::is_directory(st)) {
      entries.emplace_back(it->path().filename().string(), true);
    } else if (stdfs::is_regular_file(st)) {
      entries.emplace_back(it->path().filename().string(), false);
    }
  }
  std::sort(entries.begin(), entries.end());
  for (const auto& [name, is_dir] : entries) {
    const auto full = rel.empty() ? name : rel + "/" + name;
    if (is_dir) {
      walk(dir / name, full, out);
    } else {
      out.push_back(full);
    }
  }
}

// Writes `data` to a fresh staging file of the workspace and returns its path.
stdfs::path stage(const Workspace& ws, const std::function<void(int fd, const stdfs::path&)>& fill) {
  const auto dir = layout::staging(ws.state_dir());
  stdfs::create_directories(dir);
  const auto tmp = fs::staging_entry(dir);
  fs::Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) fs::throw_errno("cannot write", tmp);
  try {
    fill(fd.get(), tmp);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  return tmp;
}

}  // namespace

std::optional<BlobContainer> BlobContainer::open(const Workspace& ws, const std::string& name) {
  const auto dir = ws.state_dir();
  if (name == kRunHistory) return BlobContainer(ws, name, dir / "runs", false, true);
  const auto guid = workspace_guid(ws);
  if (name == "azureml-blobstore-" + guid) return of_datastore(ws, "workspaceblobstore");
  if (name == "azureml-filestore-" + guid) return of_datastore(ws, "workspacefilestore");
  const bool valid = name.size() >= 3 && name.size() <= 63 &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                     });
  std::error_code ec;
  if (!valid || !stdfs::is_directory(layout::containers(dir) / name, ec)) return std::nullopt;
  return BlobContainer(ws, name, layout::containers(dir) / name, true, false);
}

BlobContainer BlobContainer::of_datastore(const Workspace& ws, const std::string& datastore) {
  const auto ds = Datastore::get(ws, datastore);
  const std::string kind = ds.datastore_type() == "AzureFile" ? "filestore" : "blobstore";
  return BlobContainer(ws, "azureml-" + kind + "-" + workspace_guid(ws), ds.root(), true, false);
}

BlobContainer BlobContainer::create_upload_container(const Workspace& ws) {
  const auto name = workspace_guid(ws) + "-" + random_hex(16);
  const auto root = layout::containers(ws.state_dir()) / name;
  stdfs::create_directories(root);
  return BlobContainer(ws, name, root, true, false);
}

stdfs::path BlobContainer::file_of(const std::string& name) const {
  checked(name);
  if (!run_history_) return root_ / name;
  // ExperimentRun/dcid.<run id>/<file> is <run>/artifacts/<file>.
  if (name.rfind(kRunPrefix, 0) != 0) {
    throw BlobException(Kind::blob_not_found, "The specified blob does not exist: " + name);
  }
  const auto rest = name.substr(std::string(kRunPrefix).size());
  const auto slash = rest.find('/');
  if (slash == std::string::npos) {
    throw BlobException(Kind::blob_not_found, "The specified blob does not exist: " + name);
  }
  return root_ / rest.substr(0, slash) / "artifacts" / rest.substr(slash + 1);
}

stdfs::path BlobContainer::local_path(const std::string& prefix) const {
  const auto p = prefix.empty() ? root_ : file_of(prefix);
  if (!fs::is_within(root_, p)) {
    throw BlobException(Kind::invalid_name, "'" + prefix + "' leaves container " + name_);
  }
  return p;
}

void BlobContainer::check_writable() const {
  if (!writable_) {
    throw BlobException(Kind::read_only, "Container " + name_ +
                                             " holds run history, which only runs write");
  }
}

std::optional<BlobInfo> BlobContainer::stat(const std::string& name) const {
  if (name.empty() || name.back() == '/') return std::nullopt;
  stdfs::path file;
  try {
    file = file_of(name);
  } catch (const BlobException&) {
    return std::nullopt;
  }
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || !fs::is_within(root_, file)) {
    return std::nullopt;
  }
  return info_of(name, st, datastore::BlobStore(ws_).find(name_, name));
}

// The blob just written; a Delete of the same name may have come in between.
BlobInfo BlobContainer::written(const std::string& name) const {
  if (auto info = stat(name)) return *info;
  throw BlobException(Kind::blob_not_found, "The blob '" + name + "' was deleted while it was written");
}

namespace {

// Moves the staged file to `target` (only if absent, with link()), creating its folders.
void place(const stdfs::path& tmp, const stdfs::path& target, const stdfs::path& root,
           const std::string& name, bool only_if_absent) {
  std::error_code ec;
  // The folders that exist already must lie in the container before any is created: a link to
  // a folder outside would otherwise have folders made outside through it.
  auto existing = target.parent_path();
  while (existing != root && !stdfs::exists(stdfs::symlink_status(existing, ec))) {
    existing = existing.parent_path();
  }
  if (!fs::is_within(root, existing)) {
    throw BlobException(Kind::conflict, "The blob name '" + name +
                                            "' passes through another blob (a file cannot be a "
                                            "folder too)");
  }
  stdfs::create_directories(target.parent_path(), ec);
  if (ec || !stdfs::is_directory(target.parent_path()) || !fs::is_within(root, target)) {
    throw BlobException(Kind::conflict, "The blob name '" + name +
                                            "' passes through another blob (a file cannot be a "
                                            "folder too)");
  }
  if (stdfs::is_directory(target, ec)) {
    throw BlobException(Kind::conflict, "The blob name '" + name +
                                            "' is a folder of other blobs here");
  }
  if (only_if_absent) {
    if (::link(tmp.c_str(), target.c_str()) != 0) {
      if (errno == EEXIST) throw BlobException(Kind::exists, "The specified blob already exists: " + name);
      fs::throw_errno("cannot write", target);
    }
    ::unlink(tmp.c_str());
  } else if (::rename(tmp.c_str(), target.c_str()) != 0) {
    fs::throw_errno("cannot write", target);
  }
}

}  // namespace

BlobInfo BlobContainer::put(const std::string& name, std::string_view data,
                            const BlobWrite& write) const {
  check_writable();
  const auto target = file_of(name);
  const auto tmp = stage(ws_, [&](int fd, const stdfs::path& p) {
    fs::write_all(fd, data.data(), data.size(), p);
  });
  crash_point("blob.staged");
  try {
    datastore::BlobStore(ws_).replace(name_, name, props_of(write, tmp), [&] {
      place(tmp, target, root_, name, write.only_if_absent);
    });
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  return written(name);
}

namespace {
stdfs::path block_dir(const Workspace& ws, const std::string& container, const std::string& name) {
  return layout::blob_blocks(ws.state_dir()) / sha1_hex(container + "/" + name);
}
}  // namespace

void BlobContainer::put_block(const std::string& name, const std::string& block_id,
                              std::string_view data) const {
  check_writable();
  file_of(name);
  if (block_id.empty() || block_id.size() > 1024) {
    throw BlobException(Kind::invalid_block_list, "The block id must be 1 to 1024 characters");
  }
  const auto dir = block_dir(ws_, name_, name);
  stdfs::create_directories(dir);
  const auto tmp = stage(ws_, [&](int fd, const stdfs::path& p) {
    fs::write_all(fd, data.data(), data.size(), p);
  });
  const auto target = dir / sha1_hex(block_id);
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    ::unlink(tmp.c_str());
    fs::throw_errno("cannot write", target);
  }
}

BlobInfo BlobContainer::put_block_list(const std::string& name,
                                       const std::vector<std::string>& block_ids,
                                       const BlobWrite& write) const {
  check_writable();
  const auto target = file_of(name);
  const auto dir = block_dir(ws_, name_, name);
  std::vector<stdfs::path> blocks;
  for (const auto& id : block_ids) {
    const auto f = dir / sha1_hex(id);
    std::error_code ec;
    if (!stdfs::is_regular_file(f, ec)) {
      throw BlobException(Kind::invalid_block_list,
                          "The specified block list is invalid: block '" + id +
                              "' was not staged for " + name);
    }
    blocks.push_back(f);
  }
  const auto tmp = stage(ws_, [&](int fd, const stdfs::path& p) {
    for (const auto& b : blocks) {
      const auto bytes = fs::read_file(b);
      fs::write_all(fd, bytes.data(), bytes.size(), p);
    }
  });
  try {
    datastore::BlobStore(ws_).replace(name_, name, props_of(write, tmp), [&] {
      place(tmp, target, root_, name, write.only_if_absent);
    });
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  std::error_code ec;
  stdfs::remove_all(dir, ec);  // uncommitted blocks are discarded, as on Azure
  return written(name);
}

std::string BlobContainer::read(const std::string& name, std::uint64_t offset,
                                std::uint64_t length) const {
  const auto file = file_of(name);
  if (!stat(name)) throw BlobException(Kind::blob_not_found, "The specified blob does not exist: " + name);
  fs::Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw BlobException(Kind::blob_not_found, "The specified blob does not exist: " + name);
  std::string out;
  out.resize(static_cast<size_t>(length));
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t r = ::pread(fd.get(), out.data() + got, out.size() - got,
                              static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      fs::throw_errno("cannot read", file);
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

BlobInfo BlobContainer::set_metadata(const std::string& name,
                                     const std::map<std::string, std::string>& metadata) const {
  check_writable();
  const auto current = stat(name);
  if (!current) throw BlobException(Kind::blob_not_found, "The specified blob does not exist: " + name);
  datastore::BlobStore store(ws_);
  auto props = store.find(name_, name).value_or(nlohmann::json::object());
  if (props.contains("etag") && props["etag"] != current->etag) props = nlohmann::json::object();
  props["metadata"] = metadata;
  props["etag"] = current->etag;
  store.put(name_, name, props);
  return written(name);
}

void BlobContainer::remove(const std::string& name) const {
  check_writable();
  const auto file = file_of(name);
  if (!stat(name)) throw BlobException(Kind::blob_not_found, "The specified blob does not exist: " + name);
  datastore::BlobStore(ws_).replace(name_, name, std::nullopt, [&] {
    if (::unlink(file.c_str()) != 0) fs::throw_errno("cannot remove", file);
  });
  // Empty folders left behind would stand in the way of a blob of the same name.
  std::error_code ec;
  for (auto dir = file.parent_path(); dir != root_ && fs::is_within(root_, dir); dir = dir.parent_path()) {
    if (!stdfs::remove(dir, ec)) break;
  }
}

BlobListing BlobContainer::list(const std::string& prefix, const std::string& delimiter,
                                const std::string& marker, int max_results,
                                bool with_metadata) const {
  std::vector<std::string> names;
  if (!run_history_) {
    // Walk only the folder the prefix is certainly under.
    const auto slash = prefix.rfind('/');
    std::string base = slash == std::string::npos ? "" : prefix.substr(0, slash);
    try {
      if (!base.empty()) checked(base);
    } catch (const BlobException&) {
      return {};
    }
    // The walk never follows a link; the folder it starts from must not be one out either.
    if (!base.empty() && !fs::is_within(root_, root_ / base)) return {};
    walk(base.empty() ? root_ : root_ / base, base, names);
  } else {
    // Runs whose id could match: ExperimentRun/dcid.<run>/...
    const std::string rp = kRunPrefix;
    std::string run_part;
    if (prefix.size() >= rp.size()) {
      if (prefix.compare(0, rp.size(), rp) != 0) return {};
      run_part = prefix.substr(rp.size());
    } else if (rp.compare(0, prefix.size(), prefix) != 0) {
      return {};
    }
    const auto slash = run_part.find('/');
    std::set<std::string> runs;
    std::error_code ec;
    if (slash != std::string::npos) {
      runs.insert(run_part.substr(0, slash));
    } else {
      for (stdfs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
        const auto id = it->path().filename().string();
        if (id.rfind(run_part, 0) == 0) runs.insert(id);
      }
    }
    for (const auto& run : runs) {
      if (run.empty() || run == "." || run == ".." || run.find('/') != std::string::npos) continue;
      std::vector<std::string> files;
      walk(root_ / run / "artifacts", "", files);
      for (const auto& f : files) names.push_back(rp + run + "/" + f);
    }
    std::sort(names.begin(), names.end());
  }
  const auto props = datastore::BlobStore(ws_).under(name_, prefix);
  const bool marker_is_group = !marker.empty() && !delimiter.empty() &&
                               marker.size() >= delimiter.size() &&
                               marker.compare(marker.size() - delimiter.size(), delimiter.size(),
                                              delimiter) == 0;
  BlobListing out;
  const size_t limit = max_results > 0 ? static_cast<size_t>(max_results) : 5000;
  size_t count = 0;
  std::string last;  // the last name or prefix returned: the next page's marker
  for (const auto& n : names) {
    if (n.compare(0, prefix.size(), prefix) != 0) continue;
    if (!marker.empty() && (n <= marker || (marker_is_group && n.rfind(marker, 0) == 0))) continue;
    std::string group;
    if (!delimiter.empty()) {
      const auto at = n.find(delimiter, prefix.size());
      if (at != std::string::npos) group = n.substr(0, at + delimiter.size());
    }
    if (!group.empty() && group == last) continue;
    if (count == limit) {
      out.next_marker = last;
      break;
    }
    if (!group.empty()) {
      out.prefixes.push_back(group);
      last = group;
      ++count;
      continue;
    }
    struct stat st {};
    stdfs::path file;
    try {
      file = file_of(n);
    } catch (const BlobException&) {
      continue;
    }
    if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    const auto p = props.find(n);
    auto info = info_of(n, st, p == props.end() ? std::nullopt : std::optional<nlohmann::json>(p->second));
    if (!with_metadata) info.metadata.clear();
    out.blobs.push_back(std::move(info));
    last = n;
    ++count;
  }
  return out;
}

void recover_blob_writes(const Workspace& ws) {
  // Files of writes whose process is gone (a crash between staging and rename); blocks/ is not
  // a staging entry and stays.
  fs::remove_stale_staging(layout::staging(ws.state_dir()));
  std::error_code ec;
  // Blocks never committed, a week on (Azure keeps them as long).
  const auto limit = stdfs::file_time_type::clock::now() - std::chrono::hours(24 * 7);
  for (stdfs::directory_iterator it(layout::blob_blocks(ws.state_dir()), ec), end; !ec && it != end;
       it.increment(ec)) {
    if (stdfs::last_write_time(it->path(), ec) < limit) stdfs::remove_all(it->path(), ec);
  }
}

}  // namespace amlemu
