#include "submission/ignore.hpp"

#include <fnmatch.h>

#include <optional>
#include <sstream>

#include "common/fs.hpp"

namespace amlemu::submission {

namespace stdfs = std::filesystem;

namespace {

constexpr const char* kAmlIgnore = ".amlignore";
constexpr const char* kGitIgnore = ".gitignore";

// Splits on '/', dropping empty and "." segments: "./a//b/" gives {"a", "b"}.
std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (!part.empty() && part != ".") out.push_back(part);
  }
  return out;
}

// Splits a pattern on '/', keeping empty segments ("a//b" then never matches, as in git).
std::vector<std::string> split_pattern(const std::string& pattern) {
  std::vector<std::string> out;
  std::string::size_type start = 0;
  while (true) {
    const auto slash = pattern.find('/', start);
    out.push_back(pattern.substr(start, slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

// Git's trim_trailing_spaces: drops the trailing run of spaces, except a space escaped with a
// backslash ("a\ " keeps its last space; fnmatch later reads "\ " as a space).
void trim_trailing_spaces(std::string& line) {
  std::optional<std::string::size_type> first_trailing_space;
  for (std::string::size_type i = 0; i < line.size(); ++i) {
    if (line[i] == ' ') {
      if (!first_trailing_space) first_trailing_space = i;
    } else {
      if (line[i] == '\\') ++i;  // the escaped character, whatever it is, is not trailing space
      first_trailing_space.reset();
    }
  }
  if (first_trailing_space) line.erase(*first_trailing_space);
}

// One segment of a pattern against one segment of a path. FNM_PATHNAME keeps '*', '?' and
// classes off '/' (moot within a segment, but it states the intent); no FNM_PERIOD, since git's
// '*' matches a leading '.'. Backslash escapes are on, so "\#", "\!" and "\ " are literals.
bool match_segment(const std::string& pattern, const std::string& name) {
  return ::fnmatch(pattern.c_str(), name.c_str(), FNM_PATHNAME) == 0;
}

// An anchored pattern against a whole path, segment by segment. A "**" segment matches zero or
// more path segments, except at the end of the pattern ("out/**"), where it needs at least one:
// it matches what is inside the folder, not the folder itself.
bool match_segments(std::span<const std::string> pattern, std::span<const std::string> path) {
  if (pattern.empty()) return path.empty();
  if (pattern.front() == "**") {
    if (pattern.size() == 1) return !path.empty();
    for (std::size_t skip = 0; skip <= path.size(); ++skip) {
      if (match_segments(pattern.subspan(1), path.subspan(skip))) return true;
    }
    return false;
  }
  return !path.empty() && match_segment(pattern.front(), path.front()) &&
         match_segments(pattern.subspan(1), path.subspan(1));
}

}  // namespace

IgnoreRules IgnoreRules::load(const stdfs::path& source_dir) {
  std::error_code ec;
  for (const char* name : {kAmlIgnore, kGitIgnore}) {
    const auto file = source_dir / name;
    if (stdfs::is_regular_file(file, ec)) {
      IgnoreRules rules = parse(fs::read_file(file));
      rules.file_ = file;
      return rules;  // .amlignore, when present, hides .gitignore
    }
  }
  return {};
}

IgnoreRules IgnoreRules::parse(const std::string& text) {
  IgnoreRules rules;
  std::stringstream ss(text);
  std::string line;
  bool first = true;
  while (std::getline(ss, line)) {
    if (first && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 byte-order mark
    first = false;
    if (!line.empty() && line.back() == '\r') line.pop_back();  // CRLF files
    trim_trailing_spaces(line);
    if (line.empty() || line.front() == '#') continue;  // blank line or comment

    Rule rule;
    if (line.front() == '!') {
      rule.negated = true;
      line.erase(0, 1);
    }
    // A leading "\#" or "\!" is left as it is: fnmatch reads the escape as the literal character.
    if (!line.empty() && line.back() == '/') {
      rule.directory_only = true;
      line.pop_back();
    }
    if (line.empty()) continue;  // "/" or "!" alone: nothing to match
    rule.anchored = line.find('/') != std::string::npos;
    if (rule.anchored) {
      if (line.front() == '/') line.erase(0, 1);
      rule.segments = split_pattern(line);
    } else {
      rule.segments = {line};  // matched against the last segment of a path, at any depth
    }
    rules.rules_.push_back(std::move(rule));
  }
  return rules;
}

bool IgnoreRules::excluded(std::span<const std::string> segments, bool is_directory) const {
  // The last matching pattern decides, so read them from the end.
  for (auto it = rules_.rbegin(); it != rules_.rend(); ++it) {
    if (it->directory_only && !is_directory) continue;
    const bool matches = it->anchored ? match_segments(it->segments, segments)
                                      : match_segment(it->segments.front(), segments.back());
    if (matches) return !it->negated;
  }
  return false;
}

bool IgnoreRules::is_ignored(const std::string& relative_path, bool is_directory) const {
  if (rules_.empty()) return false;
  const auto segments = split_path(relative_path);
  if (segments.empty()) return false;  // the source directory itself
  const std::span<const std::string> all(segments);
  // Git does not look inside an ignored folder, so nothing below one can be re-included.
  for (std::size_t depth = 1; depth < segments.size(); ++depth) {
    if (excluded(all.first(depth), true)) return true;
  }
  return excluded(all, is_directory);
}

}  // namespace amlemu::submission
