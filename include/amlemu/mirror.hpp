// The offline mirror: local copies of the files and folders that jobs name by web URL
// (https://..., http://..., wasbs://...), so that runs read them with no network. One mirror per
// machine, under $AMLEMU_HOME/mirror, shared by every workspace. Copies are kept by content
// (objects/<SHA-1>/...), and a copy's content is checked against its hash each time a run uses
// it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace amlemu {

/// One URL the mirror answers for.
struct MirrorEntry {
  std::string url;   // as given, with the scheme and host in lower case
  std::string kind;  // "file" or "folder"
  std::string sha1;  // the file's content hash; a folder's is that of its manifest
  std::string name;  // a file's name in its object folder (the URL's last segment)
  long long size = 0;  // bytes, all files of a folder together
  std::string added_time;
};

/// True for the URLs the mirror stands behind: http://, https://, wasb://, wasbs://,
/// abfs:// and abfss://.
bool is_web_url(const std::string& text);

/// The URL in the form the mirror keys it by (scheme and host in lower case). Throws
/// UserErrorException, naming the URL, for one that is not a web URL, has no host, carries
/// credentials (user:password@host: refused, never stored), a fragment, whitespace or control
/// characters.
std::string normalize_web_url(const std::string& url);

/// The framework caches the mirror can hold as folders, besides URLs: "cache:scikit-learn" (a
/// scikit-learn data home, SCIKIT_LEARN_DATA in runs) and "cache:huggingface" (a Hugging Face
/// hub cache, HF_HUB_CACHE in runs).
inline constexpr const char* kMirrorCaches[] = {"cache:scikit-learn", "cache:huggingface"};

/// The key the mirror files `url_or_cache` under: a web URL normalized, or one of
/// kMirrorCaches. Throws UserErrorException as normalize_web_url does, or naming the caches.
std::string mirror_key(const std::string& url_or_cache);

/// What a framework will make of a mirrored copy of `url`, when it matters: Keras checks some of
/// its dataset files against a fixed hash, so only its own file passes. "" otherwise.
std::string framework_note(const std::string& url);

/// The command that puts `url` in the mirror (a file, or a folder), for one-line errors.
std::string mirror_add_command(const std::string& url, bool folder = false);

class Mirror {
 public:
  /// The mirror of this machine: $AMLEMU_HOME/mirror (created on first write).
  static Mirror open();
  /// A mirror in another folder (tests).
  explicit Mirror(std::filesystem::path root) : root_(std::move(root)) {}

  /// Stores a copy of `file` for `url` (replacing what the URL had). UserErrorException when
  /// the URL is refused or the file cannot be read. `url` may not be a cache (those are folders).
  MirrorEntry add_file(const std::string& url, const std::filesystem::path& file);
  /// Stores a copy of the folder `dir` for `url` (a web URL or one of kMirrorCaches).
  MirrorEntry add_folder(const std::string& url, const std::filesystem::path& dir);
  /// Adds each line "<URL><TAB><path>" of `list` (a file when the path is a file, a folder when
  /// it is one; relative paths are from the list's folder; blank lines and lines starting with
  /// '#' are skipped). All or nothing: every line is checked before anything is stored.
  std::vector<MirrorEntry> add_from_list(const std::filesystem::path& list);

  std::optional<MirrorEntry> find(const std::string& url) const;
  /// Sorted by URL.
  std::vector<MirrorEntry> list() const;
  /// False when the mirror had no such URL. The stored copy stays while another URL uses it.
  bool remove(const std::string& url);

  /// Where the entry's copy is: the file itself, or the folder. Throws UserErrorException
  /// naming the URL when the copy is gone or its content no longer matches its hash.
  std::filesystem::path verified_path(const MirrorEntry& entry) const;

  /// Where the entry's copy is kept, unchecked.
  std::filesystem::path stored_path(const MirrorEntry& entry) const;

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
};

}  // namespace amlemu
