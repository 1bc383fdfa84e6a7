// Snapshot ignore rules: which files of a source directory stay out of a run's snapshot, read from
// `.amlignore` or `.gitignore` with gitignore syntax, as the Azure ML SDK does.
//
// Which file: `.amlignore` at the top of the source directory, else `.gitignore` there. When both
// exist only `.amlignore` is read ("If both files exist, the .amlignore file is used and the
// .gitignore file is unused"); when neither does, nothing is ignored. Only the top-level file is
// read: ignore files in subfolders are ordinary files, copied like any other and never parsed.
// The ignore file itself is not ignored unless one of its own patterns matches it.
//
// Supported syntax (git's, see gitignore(5)), one pattern per line:
//   - a UTF-8 byte-order mark at the start and a '\r' at the end of a line are dropped;
//   - blank lines and lines starting with '#' are ignored; "\#" starts a pattern with '#';
//   - trailing spaces are trimmed, unless escaped with a backslash ("a\ ");
//   - a leading '!' negates the pattern, re-including what an earlier pattern ignored; "\!" starts
//     a pattern with '!'. The last matching pattern wins. A path inside an ignored directory is
//     ignored whatever follows: as in git, it cannot be re-included (git never looks inside);
//   - a trailing '/' makes the pattern match directories only ("build/");
//   - a '/' at the start or in the middle anchors the pattern to the source directory
//     ("/todo.txt", "doc/frotz"); otherwise it matches a file or folder name at any depth ("*.pyc");
//   - within one path segment, '*' (any run of characters), '?' (one character), '[...]' classes
//     (ranges, '!' or '^' negation, [:alpha:] and the like) and '\' escapes, by fnmatch(3) with
//     FNM_PATHNAME, so '*' and '?' never cross a '/'; '*' matches a leading '.' as git's does;
//   - "**" as a whole segment: leading "**/" matches in every folder ("**/logs"), trailing "/**"
//     matches everything inside a folder but not the folder itself ("out/**"), and "/**/" in the
//     middle matches zero or more folders ("a/**/b" matches "a/b" and "a/x/y/b"). A "**" that is
//     not a whole segment ("a**b") behaves as a single '*'.
// Not supported: nested ignore files, core.excludesFile and .git/info/exclude, case-insensitive
// matching (core.ignoreCase), and a '/' inside a bracket class ("a[/]b", which git never matches
// either but which is split into segments here).
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace amlemu::submission {

class IgnoreRules {
 public:
  /// Reads `.amlignore`, else `.gitignore`, at the top of `source_dir`. No file, no rules.
  /// Throws std::runtime_error naming the file when it exists but cannot be read.
  static IgnoreRules load(const std::filesystem::path& source_dir);

  /// Parses the text of an ignore file (the same rules as `load`, without reading a file).
  static IgnoreRules parse(const std::string& text);

  /// True when the path is left out of the snapshot: the last pattern that matches it ignores it,
  /// or one of the folders above it is ignored. `relative_path` is relative to the source
  /// directory with '/' separators ("src/model.py"); a leading "./" or trailing '/' is tolerated.
  /// `is_directory` tells whether it names a folder, for the patterns that end with '/'.
  bool is_ignored(const std::string& relative_path, bool is_directory) const;

  /// The ignore file that was read (".../.amlignore" or ".../.gitignore"); empty when none was,
  /// or when the rules came from `parse`.
  const std::filesystem::path& file() const { return file_; }

  /// True when there is no pattern at all (nothing is ignored).
  bool empty() const { return rules_.empty(); }

 private:
  // One pattern line, compiled.
  struct Rule {
    std::vector<std::string> segments;  // the pattern split on '/'; one segment unless anchored
    bool negated = false;               // "!pattern": re-includes
    bool directory_only = false;        // "pattern/": folders only
    bool anchored = false;              // matched from the source root, segment by segment
  };

  // The rules' verdict on one path alone, its folders not considered: true when the last
  // pattern that matches it is not negated.
  bool excluded(std::span<const std::string> segments, bool is_directory) const;

  std::vector<Rule> rules_;
  std::filesystem::path file_;
};

}  // namespace amlemu::submission
