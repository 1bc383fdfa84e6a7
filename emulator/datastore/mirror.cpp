// The offline mirror (include/amlemu/mirror.hpp): an index of URLs (index.json, replaced
// atomically under a lock) and the copies, each in objects/<SHA-1>/, written to a staging entry
// first and renamed into place, so a crash leaves no half copy under a hash.
#include "amlemu/mirror.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "amlemu/errors.hpp"
#include "amlemu/workspace.hpp"
#include "common/clock.hpp"
#include "common/fs.hpp"
#include "common/hash.hpp"
#include "common/text.hpp"
#include "datastore/framework_caches.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::string_view kSchemes[] = {"http", "https", "wasb", "wasbs", "abfs", "abfss"};

[[noreturn]] void refuse(const std::string& url, const std::string& why) {
  throw UserErrorException("'" + printable(url) + "' " + why);
}

std::string file_sha1(const stdfs::path& file) {
  fs::Fd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) fs::throw_errno("cannot read", file);
  Sha1 sha;
  std::string buffer(64 << 10, '\0');
  for (;;) {
    const ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fs::throw_errno("cannot read", file);
    if (n == 0) break;
    sha.update(std::string_view(buffer.data(), static_cast<size_t>(n)));
  }
  return sha.hex();
}

// A folder's hash: that of its manifest, one line "<relative path>\0<file's SHA-1>\n" per file
// in sorted order (as snapshot ids are made).
std::string folder_sha1(const stdfs::path& dir, long long* size) {
  Sha1 manifest;
  long long total = 0;
  for (const auto& rel : fs::list_files(dir)) {
    manifest.update(rel);
    manifest.update(std::string_view("\0", 1));
    manifest.update(file_sha1(dir / rel));
    manifest.update("\n");
    total += static_cast<long long>(stdfs::file_size(dir / rel));
  }
  if (size) *size = total;
  return manifest.hex();
}

// The URL's last path segment, the name its copy has in its object folder.
std::string file_name_of(const std::string& url) {
  auto path = url.substr(url.find("://") + 3);
  path = path.substr(0, path.find('?'));
  const auto slash = path.find('/');
  if (slash == std::string::npos) return "file";
  const auto last = path.substr(path.rfind('/') + 1);
  if (last.empty() || last == "." || last == ".." || !file_name_problem(last).empty()) return "file";
  return last;
}

json to_json(const MirrorEntry& e) {
  return {{"kind", e.kind}, {"sha1", e.sha1}, {"name", e.name}, {"size", e.size},
          {"addedTime", e.added_time}};
}

MirrorEntry from_json(const std::string& url, const json& j) {
  MirrorEntry e;
  e.url = url;
  e.kind = j.value("kind", "file");
  e.sha1 = j.value("sha1", "");
  e.name = j.value("name", "");
  e.size = j.value("size", 0LL);
  e.added_time = j.value("addedTime", "");
  return e;
}

// An exclusive lock on the mirror's index for one read-modify-write.
class IndexLock {
 public:
  explicit IndexLock(const stdfs::path& root) {
    stdfs::create_directories(root);
    fd_ = fs::Fd(::open((root / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (fd_.get() < 0) fs::throw_errno("cannot open", root / ".lock");
    while (::flock(fd_.get(), LOCK_EX) != 0) {
      if (errno != EINTR) fs::throw_errno("cannot lock", root / ".lock");
    }
  }

 private:
  fs::Fd fd_;
};

json read_index(const stdfs::path& root) {
  std::error_code ec;
  if (!stdfs::exists(root / "index.json", ec)) return json::object();
  try {
    auto j = json::parse(fs::read_file(root / "index.json"));
    return j.is_object() ? j : json::object();
  } catch (const json::exception& e) {
    throw AmlException("the offline mirror's index " + (root / "index.json").string() +
                       " is not valid JSON: " + json_error(e));
  }
}

void write_index(const stdfs::path& root, const json& index) {
  fs::atomic_write(root / "index.json", index.dump(2) + "\n");
}

// Moves a finished staging entry to objects/<hash> (kept when another copy got there first).
void publish(const stdfs::path& root, const stdfs::path& staged, const std::string& hash) {
  const auto target = root / "objects" / hash;
  stdfs::create_directories(target.parent_path());
  std::error_code ec;
  stdfs::rename(staged, target, ec);
  if (ec) stdfs::remove_all(staged, ec);  // the same content is already there
}

// Stores a copy under objects/<hash> unless one is there: `fill` writes it into a fresh staging
// folder, which is made read-only and renamed into place.
template <typename Fill>
void store_object(const stdfs::path& root, const std::string& hash, Fill fill) {
  std::error_code ec;
  if (stdfs::exists(root / "objects" / hash, ec)) return;
  stdfs::create_directories(root / "staging");
  fs::remove_stale_staging(root / "staging");
  const auto staged = fs::staging_entry(root / "staging");
  fill(staged);
  fs::make_read_only(staged);
  publish(root, staged, hash);
}

MirrorEntry record(const stdfs::path& root, MirrorEntry e) {
  e.added_time = now_iso();
  IndexLock lock(root);
  auto index = read_index(root);
  index[e.url] = to_json(e);
  write_index(root, index);
  return e;
}

}  // namespace

bool is_web_url(const std::string& text) {
  const auto sep = text.find("://");
  if (sep == std::string::npos || sep == 0) return false;
  const auto scheme = to_lower(text.substr(0, sep));
  return std::find(std::begin(kSchemes), std::end(kSchemes), scheme) != std::end(kSchemes);
}

std::string normalize_web_url(const std::string& url) {
  if (!is_web_url(url)) {
    refuse(url, "is not a web URL (http://, https://, wasbs://, abfss://)");
  }
  for (const unsigned char c : url) {
    if (c <= ' ' || c == 0x7f) refuse(url, "holds whitespace or control characters");
  }
  const auto sep = url.find("://");
  const auto scheme = to_lower(url.substr(0, sep));
  const auto rest = url.substr(sep + 3);
  const auto end = rest.find_first_of("/?");
  auto authority = rest.substr(0, end);
  const auto tail = end == std::string::npos ? std::string() : rest.substr(end);
  if (tail.find('#') != std::string::npos || authority.find('#') != std::string::npos) {
    refuse(url, "has a fragment (#...): give the URL without it");
  }
  const auto at = authority.rfind('@');
  const bool storage = scheme.rfind("wasb", 0) == 0 || scheme.rfind("abfs", 0) == 0;
  if (at != std::string::npos) {
    // container@account.blob.core.windows.net is a storage URL's form; user:password@ is not.
    const auto user = authority.substr(0, at);
    if (!storage || user.find(':') != std::string::npos || user.empty()) {
      // Named without them: an error message is no place for a password either.
      refuse(scheme + "://***@" + authority.substr(at + 1) + tail,
             "carries credentials (user:password@): the mirror never stores them; give the URL "
             "without them");
    }
  }
  const auto query = tail.find('?');
  if (query != std::string::npos) {
    const auto q = "&" + to_lower(tail.substr(query + 1));
    if (q.find("&sig=") != std::string::npos || q.find("&token=") != std::string::npos ||
        q.find("&access_token=") != std::string::npos) {
      refuse(scheme + "://" + authority + tail.substr(0, query) + "?***",
             "carries a credential in its query (a SAS signature or token): the mirror never "
             "stores them; give the URL without it");
    }
  }
  const auto host = at == std::string::npos ? authority : authority.substr(at + 1);
  if (host.empty() || host.front() == ':') refuse(url, "has no host");
  return scheme + "://" + to_lower(authority) + tail;
}

std::string mirror_key(const std::string& url_or_cache) {
  if (url_or_cache.rfind("cache:", 0) == 0) {
    for (const char* c : kMirrorCaches) {
      if (url_or_cache == c) return c;
    }
    refuse(url_or_cache, "is not a cache the mirror holds (cache:scikit-learn or cache:huggingface)");
  }
  return normalize_web_url(url_or_cache);
}

std::string framework_note(const std::string& url) { return datastore::keras_hash_note(url); }

std::string mirror_add_command(const std::string& url, bool folder) {
  std::string quoted = "'";
  for (const char c : url) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return "amlemu mirror add " + quoted + (folder ? "' --dir <a local copy>" : "' --file <a local copy>");
}

Mirror Mirror::open() { return Mirror(amlemu_home() / "mirror"); }

MirrorEntry Mirror::add_file(const std::string& url, const stdfs::path& file) {
  const auto key = mirror_key(url);
  if (key.rfind("cache:", 0) == 0) {
    throw UserErrorException("'" + key + "' is a folder: give it with --dir");
  }
  std::error_code ec;
  if (!stdfs::is_regular_file(file, ec)) {
    throw UserErrorException("--file: '" + file.string() + "' is not a readable file");
  }
  MirrorEntry e;
  e.url = key;
  e.kind = "file";
  e.name = file_name_of(key);
  e.sha1 = file_sha1(file);
  e.size = static_cast<long long>(stdfs::file_size(file));
  const bool known = stdfs::exists(root_ / "objects" / e.sha1, ec);
  store_object(root_, e.sha1, [&](const stdfs::path& staged) {
    stdfs::create_directories(staged);
    fs::copy_file(file, staged / e.name);
  });
  if (known && !stdfs::exists(root_ / "objects" / e.sha1 / e.name, ec)) {
    // The same content under another name: a hard link (or a copy) beside it.
    const auto first = *stdfs::directory_iterator(root_ / "objects" / e.sha1);
    stdfs::create_hard_link(first.path(), root_ / "objects" / e.sha1 / e.name, ec);
    if (ec) fs::copy_file(first.path(), root_ / "objects" / e.sha1 / e.name);
  }
  return record(root_, e);
}

MirrorEntry Mirror::add_folder(const std::string& url, const stdfs::path& dir) {
  const auto key = mirror_key(url);
  std::error_code ec;
  if (!stdfs::is_directory(dir, ec)) {
    throw UserErrorException("--dir: '" + dir.string() + "' is not a folder");
  }
  MirrorEntry e;
  e.url = key;
  e.kind = "folder";
  e.sha1 = folder_sha1(dir, &e.size);
  store_object(root_, e.sha1, [&](const stdfs::path& staged) { fs::copy_tree(dir, staged); });
  return record(root_, e);
}

std::vector<MirrorEntry> Mirror::add_from_list(const stdfs::path& list) {
  std::ifstream in(list);
  if (!in) throw UserErrorException("--from-list: cannot read '" + list.string() + "'");
  struct Line {
    std::string url;
    stdfs::path path;
    bool folder;
  };
  std::vector<Line> lines;
  std::string text;
  for (int number = 1; std::getline(in, text); ++number) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty() || text[0] == '#') continue;
    const auto where = list.string() + ":" + std::to_string(number);
    const auto tab = text.find('\t');
    if (tab == std::string::npos) {
      throw UserErrorException(where + ": expected '<URL><TAB><path>'");
    }
    Line l{text.substr(0, tab), text.substr(tab + 1), false};
    if (l.path.is_relative()) l.path = list.parent_path() / l.path;
    try {
      mirror_key(l.url);
    } catch (const UserErrorException& e) {
      throw UserErrorException(where + ": " + e.what());
    }
    std::error_code ec;
    if (stdfs::is_directory(l.path, ec)) {
      l.folder = true;
    } else if (!stdfs::is_regular_file(l.path, ec)) {
      throw UserErrorException(where + ": '" + l.path.string() + "' is neither a file nor a folder");
    } else if (l.url.rfind("cache:", 0) == 0) {
      throw UserErrorException(where + ": '" + l.url + "' is a folder, '" + l.path.string() + "' a file");
    }
    lines.push_back(std::move(l));
  }
  std::vector<MirrorEntry> out;
  for (const auto& l : lines) out.push_back(l.folder ? add_folder(l.url, l.path) : add_file(l.url, l.path));
  return out;
}

std::optional<MirrorEntry> Mirror::find(const std::string& url) const {
  const auto key = mirror_key(url);
  const auto index = read_index(root_);
  if (!index.contains(key)) return std::nullopt;
  return from_json(key, index[key]);
}

std::vector<MirrorEntry> Mirror::list() const {
  std::vector<MirrorEntry> out;
  const auto index = read_index(root_);  // kept: items() views it
  for (const auto& [url, j] : index.items()) out.push_back(from_json(url, j));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.url < b.url; });
  return out;
}

bool Mirror::remove(const std::string& url) {
  const auto key = mirror_key(url);
  IndexLock lock(root_);
  auto index = read_index(root_);
  if (!index.contains(key)) return false;
  const std::string hash = index[key].value("sha1", "");
  index.erase(key);
  write_index(root_, index);
  const bool shared = std::any_of(index.begin(), index.end(),
                                  [&](const json& j) { return j.value("sha1", "") == hash; });
  if (!shared && !hash.empty()) {
    std::error_code ec;
    stdfs::remove_all(root_ / "objects" / hash, ec);
  }
  return true;
}

stdfs::path Mirror::stored_path(const MirrorEntry& e) const {
  const auto object = root_ / "objects" / e.sha1;
  return e.kind == "folder" ? object : object / e.name;
}

stdfs::path Mirror::verified_path(const MirrorEntry& e) const {
  const auto path = stored_path(e);
  std::error_code ec;
  const auto again = "; add it again: " + mirror_add_command(e.url, e.kind == "folder");
  if (e.sha1.empty() || !stdfs::exists(path, ec)) {
    throw UserErrorException("'" + printable(e.url) + "': its copy in the offline mirror is gone (" +
                             path.string() + ")" + again);
  }
  const auto now = e.kind == "folder" ? folder_sha1(path, nullptr) : file_sha1(path);
  if (now != e.sha1) {
    throw UserErrorException("'" + printable(e.url) + "': its copy in the offline mirror changed since it "
                             "was added (" + path.string() + ")" + again);
  }
  return path;
}

}  // namespace amlemu
