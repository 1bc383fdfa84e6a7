// Room: submission. Snapshot rules: .amlignore/.gitignore, the service's limits and the
// content-addressed snapshot store.
#include <catch2/catch.hpp>
#include <regex>
#include <set>
#include <thread>
#include <vector>

#include "amlemu/errors.hpp"
#include "common/fs.hpp"
#include "submission/ignore.hpp"
#include "submission/snapshot.hpp"
#include "support/temp_home.hpp"

using namespace amlemu;
using amlemu::submission::IgnoreRules;
using amlemu::submission::SnapshotLimits;
using amlemu::testing::TempHome;
namespace stdfs = std::filesystem;

namespace {

// One row of an ignore-rule table: the ignore file's text, a path and whether it is ignored.
struct IgnoreCase {
  const char* rule;      // what the row shows
  std::string patterns;  // the ignore file
  std::string path;      // relative to the source directory
  bool is_directory;
  bool ignored;
};

void check_table(const std::vector<IgnoreCase>& table) {
  for (const auto& row : table) {
    INFO(row.rule << ": patterns \"" << row.patterns << "\", path \"" << row.path << "\""
                  << (row.is_directory ? " (folder)" : " (file)"));
    CHECK(IgnoreRules::parse(row.patterns).is_ignored(row.path, row.is_directory) == row.ignored);
  }
}

constexpr bool kDir = true;
constexpr bool kFile = false;

// Sub-folders of a snapshots root (stored snapshots and any staging leftovers).
std::set<std::string> entries(const stdfs::path& root) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(root, ec)) out.insert(e.path().filename().string());
  return out;
}

bool has_staging(const stdfs::path& root) {
  for (const auto& name : entries(root)) {
    if (name.rfind(".staging-", 0) == 0) return true;
  }
  return false;
}

// A file of `bytes` bytes that takes no disk space (a hole), for the size limit.
void sparse_file(const stdfs::path& file, std::uintmax_t bytes) {
  TempHome::write(file, "");
  stdfs::resize_file(file, bytes);
}

const std::regex kSnapshotId("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");

}  // namespace

// ---------------------------------------------------------------------------------------------
// Ignore syntax, one table per rule of gitignore(5).

TEST_CASE("ignore files: blank lines, comments, escapes and trailing spaces", "[snapshot]") {
  check_table({
      {"blank lines match nothing", "\n\n   \n", "a", kFile, false},
      {"a comment is not a pattern", "# notes.txt\n", "# notes.txt", kFile, false},
      {"a comment is not a pattern", "#notes.txt\n", "#notes.txt", kFile, false},
      {"\\# starts a pattern with #", "\\#notes.txt\n", "#notes.txt", kFile, true},
      {"\\! starts a pattern with !", "\\!important\n", "!important", kFile, true},
      {"\\! is not a negation", "\\!important\n", "important", kFile, false},
      {"trailing spaces are trimmed", "notes.txt   \n", "notes.txt", kFile, true},
      {"an escaped trailing space is kept", "notes\\ \n", "notes ", kFile, true},
      {"an escaped trailing space is kept", "notes\\ \n", "notes", kFile, false},
      {"CRLF line ends", "notes.txt\r\nother\r\n", "notes.txt", kFile, true},
      {"a UTF-8 byte-order mark is skipped", "\xEF\xBB\xBFnotes.txt\n", "notes.txt", kFile, true},
      {"no newline at the end", "notes.txt", "notes.txt", kFile, true},
      {"\\* is a literal star", "a\\*b\n", "a*b", kFile, true},
      {"\\* is a literal star", "a\\*b\n", "axb", kFile, false},
  });
}

TEST_CASE("ignore files: negation, last match wins, no re-include inside an ignored folder",
          "[snapshot]") {
  check_table({
      {"negation re-includes", "*.log\n!keep.log\n", "a.log", kFile, true},
      {"negation re-includes", "*.log\n!keep.log\n", "keep.log", kFile, false},
      {"negation at any depth", "*.log\n!keep.log\n", "sub/keep.log", kFile, false},
      {"the last match wins", "!keep.log\n*.log\n", "keep.log", kFile, true},
      {"a folder re-included", "build/\n!build/\n", "build/a.o", kFile, false},
      {"inside an ignored folder, no re-include", "build/\n!build/keep.txt\n", "build/keep.txt",
       kFile, true},
      {"inside an ignored folder, no re-include", "build\n!build/sub/\n", "build/sub/x", kFile,
       true},
      {"whitelist idiom", "/*\n!/foo\n/foo/*\n!/foo/bar\n", "foo/bar", kFile, false},
      {"whitelist idiom", "/*\n!/foo\n/foo/*\n!/foo/bar\n", "foo/bar/deep.txt", kFile, false},
      {"whitelist idiom", "/*\n!/foo\n/foo/*\n!/foo/bar\n", "foo/baz", kFile, true},
      {"whitelist idiom", "/*\n!/foo\n/foo/*\n!/foo/bar\n", "other.txt", kFile, true},
      {"'*' ignores folders too", "*\n!*.py\n", "main.py", kFile, false},
      {"'*' ignores folders too", "*\n!*.py\n", "src/main.py", kFile, true},
      {"'!*/' keeps folders open", "*\n!*/\n!*.py\n", "src/main.py", kFile, false},
      {"'!*/' keeps folders open", "*\n!*/\n!*.py\n", "src/data.csv", kFile, true},
      {"'!' alone is nothing", "!\n", "a", kFile, false},
  });
}

TEST_CASE("ignore files: a trailing / matches folders only", "[snapshot]") {
  check_table({
      {"matches the folder", "build/\n", "build", kDir, true},
      {"not a file of that name", "build/\n", "build", kFile, false},
      {"at any depth", "build/\n", "src/build", kDir, true},
      {"what is inside goes with it", "build/\n", "build/out/x.o", kFile, true},
      {"anchored and folder-only", "/build/\n", "src/build", kDir, false},
      {"anchored and folder-only", "/build/\n", "build", kDir, true},
      {"middle slash and folder-only", "doc/tmp/\n", "doc/tmp", kDir, true},
      {"middle slash and folder-only", "doc/tmp/\n", "doc/tmp", kFile, false},
      {"without the slash, files too", "build\n", "build", kFile, true},
      {"'/' alone is nothing", "/\n", "a", kDir, false},
  });
}

TEST_CASE("ignore files: a leading or middle / anchors to the source folder", "[snapshot]") {
  check_table({
      {"leading slash", "/todo.txt\n", "todo.txt", kFile, true},
      {"leading slash", "/todo.txt\n", "sub/todo.txt", kFile, false},
      {"middle slash", "doc/frotz\n", "doc/frotz", kFile, true},
      {"middle slash", "doc/frotz\n", "a/doc/frotz", kFile, false},
      {"no slash: any depth", "todo.txt\n", "sub/deep/todo.txt", kFile, true},
      {"no slash: the whole name", "todo.txt\n", "my-todo.txt", kFile, false},
      {"folder contents", "foo/*\n", "foo/bar", kFile, true},
      {"folder contents", "foo/*\n", "foo/bar/baz", kFile, true},
      {"folder contents", "foo/*\n", "a/foo/bar", kFile, false},
      {"folder contents", "foo/*\n", "foo", kDir, false},
      {"path given with ./ and a trailing /", "/build\n", "./build/", kDir, true},
  });
}

TEST_CASE("ignore files: *, ? and [...] stay within one path segment", "[snapshot]") {
  check_table({
      {"star", "*.txt\n", "notes.txt", kFile, true},
      {"star at any depth", "*.txt\n", "a/b/notes.txt", kFile, true},
      {"star matches the whole name", "*.txt\n", "notes.txt.bak", kFile, false},
      {"star matches a leading dot", "*\n", ".hidden", kFile, true},
      {"star does not cross /", "doc/*.txt\n", "doc/a.txt", kFile, true},
      {"star does not cross /", "doc/*.txt\n", "doc/sub/a.txt", kFile, false},
      {"question mark", "a?c\n", "abc", kFile, true},
      {"question mark is one character", "a?c\n", "ac", kFile, false},
      {"question mark does not cross /", "x/a?c\n", "x/a/c", kFile, false},
      {"class", "[abc].py\n", "b.py", kFile, true},
      {"class", "[abc].py\n", "d.py", kFile, false},
      {"negated class with !", "[!abc].py\n", "d.py", kFile, true},
      {"negated class with !", "[!abc].py\n", "a.py", kFile, false},
      {"negated class with ^", "[^abc].py\n", "a.py", kFile, false},
      {"range", "data-[0-9].csv\n", "data-7.csv", kFile, true},
      {"range", "data-[0-9].csv\n", "data-x.csv", kFile, false},
      {"named class", "[[:upper:]]*\n", "README", kFile, true},
      {"named class", "[[:upper:]]*\n", "readme", kFile, false},
      {"case-sensitive", "*.TXT\n", "a.txt", kFile, false},
  });
}

TEST_CASE("ignore files: ** leading, trailing and in the middle", "[snapshot]") {
  check_table({
      {"leading **/", "**/logs\n", "logs", kDir, true},
      {"leading **/", "**/logs\n", "a/b/logs", kDir, true},
      {"leading **/", "**/logs\n", "a/b/logs", kFile, true},
      {"leading **/ with a path", "**/logs/debug.log\n", "logs/debug.log", kFile, true},
      {"leading **/ with a path", "**/logs/debug.log\n", "x/y/logs/debug.log", kFile, true},
      {"leading **/ with a path", "**/logs/debug.log\n", "x/logs/other.log", kFile, false},
      {"trailing /**: inside", "abc/**\n", "abc/x", kFile, true},
      {"trailing /**: inside", "abc/**\n", "abc/x/y.txt", kFile, true},
      {"trailing /**: not the folder", "abc/**\n", "abc", kDir, false},
      {"trailing /** allows re-include", "abc/**\n!abc/keep.txt\n", "abc/keep.txt", kFile, false},
      {"trailing /** is anchored", "abc/**\n", "x/abc/y", kFile, false},
      {"middle /**/: zero folders", "a/**/b\n", "a/b", kFile, true},
      {"middle /**/: one folder", "a/**/b\n", "a/x/b", kFile, true},
      {"middle /**/: several folders", "a/**/b\n", "a/x/y/b", kFile, true},
      {"middle /**/: the last name must match", "a/**/b\n", "a/x/c", kFile, false},
      {"middle /**/ is anchored", "a/**/b\n", "x/a/b", kFile, false},
      {"** not a whole segment is a *", "a**b\n", "axxb", kFile, true},
      {"** not a whole segment does not cross /", "x/a**b\n", "x/a/b", kFile, false},
      {"** alone matches everything", "**\n", "a/b/c", kFile, true},
  });
}

TEST_CASE("ignore files: .amlignore over .gitignore, nothing ignored without one", "[snapshot]") {
  TempHome t;
  const auto src = t.work() / "src";
  stdfs::create_directories(src);

  SECTION("neither file: nothing is ignored") {
    const auto rules = IgnoreRules::load(src);
    CHECK(rules.empty());
    CHECK(rules.file().empty());
    CHECK_FALSE(rules.is_ignored("anything.log", false));
    CHECK_FALSE(rules.is_ignored(".git", true));
  }
  SECTION(".gitignore alone is used") {
    TempHome::write(src / ".gitignore", "*.log\n");
    const auto rules = IgnoreRules::load(src);
    CHECK(rules.file() == src / ".gitignore");
    CHECK(rules.is_ignored("run.log", false));
  }
  SECTION(".amlignore alone is used") {
    TempHome::write(src / ".amlignore", "*.log\n");
    const auto rules = IgnoreRules::load(src);
    CHECK(rules.file() == src / ".amlignore");
    CHECK(rules.is_ignored("run.log", false));
  }
  SECTION("both: only .amlignore is used") {
    TempHome::write(src / ".amlignore", "*.csv\n");
    TempHome::write(src / ".gitignore", "*.log\n");
    const auto rules = IgnoreRules::load(src);
    CHECK(rules.file() == src / ".amlignore");
    CHECK(rules.is_ignored("data.csv", false));
    CHECK_FALSE(rules.is_ignored("run.log", false));
  }
  SECTION("an empty .amlignore still hides .gitignore") {
    TempHome::write(src / ".amlignore", "");
    TempHome::write(src / ".gitignore", "*.log\n");
    CHECK_FALSE(IgnoreRules::load(src).is_ignored("run.log", false));
  }
  SECTION("ignore files in sub-folders are not read") {
    TempHome::write(src / "sub" / ".gitignore", "*.log\n");
    CHECK_FALSE(IgnoreRules::load(src).is_ignored("sub/run.log", false));
  }
}

// ---------------------------------------------------------------------------------------------
// What a snapshot holds.

TEST_CASE("snapshot files leave out ignored ones and keep the ignore file", "[snapshot]") {
  TempHome t;
  const auto src = t.work() / "src";
  TempHome::write(src / ".amlignore", "*.log\ndata/\n!keep.log\n");
  TempHome::write(src / ".gitignore", "*.py\n");  // unused: .amlignore wins
  TempHome::write(src / "train.py", "print(1)\n");
  TempHome::write(src / "run.log", "x");
  TempHome::write(src / "keep.log", "x");
  TempHome::write(src / "data" / "big.bin", "x");
  TempHome::write(src / "data" / "keep.log", "x");  // inside an ignored folder: stays out
  TempHome::write(src / ".git" / "HEAD", "ref: refs/heads/main\n");  // .git is not special
  TempHome::write(src / "sub" / "util.py", "x");
  stdfs::create_directories(src / "empty");

  const std::vector<std::string> expected{".amlignore", ".git/HEAD", ".gitignore",
                                          "keep.log",   "sub/util.py", "train.py"};
  CHECK(submission::list_snapshot_files(src) == expected);

  const auto dst = t.work() / "snapshot";
  const auto info = submission::take_snapshot(src, dst);
  CHECK(fs::list_files(dst) == expected);
  CHECK(info.files == expected.size());
  CHECK(fs::read_file(dst / "train.py") == "print(1)\n");
  CHECK(submission::check_snapshot(src, {}).files == expected.size());
}

TEST_CASE("snapshot files: symlinked folders are not followed, linked files are copied",
          "[snapshot]") {
  TempHome t;
  const auto src = t.work() / "src";
  const auto elsewhere = t.work() / "elsewhere";
  TempHome::write(src / "main.py", "x");
  TempHome::write(elsewhere / "secret.txt", "outside");
  stdfs::create_directory_symlink(elsewhere, src / "linked-folder");
  stdfs::create_symlink(elsewhere / "secret.txt", src / "linked-file.txt");
  stdfs::create_symlink(src / "missing", src / "dangling");

  CHECK(submission::list_snapshot_files(src) ==
        std::vector<std::string>{"linked-file.txt", "main.py"});
  const auto root = t.work() / "snapshots";
  const auto id = submission::store_snapshot(src, root, {});
  const auto stored = submission::snapshot_dir(root, id);
  CHECK_FALSE(stdfs::is_symlink(stored / "linked-file.txt"));
  CHECK(fs::read_file(stored / "linked-file.txt") == "outside");
}

TEST_CASE("snapshot of a missing folder is a user error", "[snapshot]") {
  TempHome t;
  CHECK_THROWS_AS(submission::list_snapshot_files(t.work() / "nope"), UserErrorException);
  CHECK_THROWS_AS(submission::store_snapshot(t.work() / "nope", t.work() / "snapshots", {}),
                  UserErrorException);
}

// ---------------------------------------------------------------------------------------------
// Limits.

TEST_CASE("snapshot limits: more files than allowed", "[snapshot]") {
  TempHome t;
  const auto src = t.work() / "src";
  for (int i = 0; i < 4; ++i) TempHome::write(src / ("f" + std::to_string(i)), "x");
  const SnapshotLimits limits{1024, 3};
  const std::string message = "While attempting to take snapshot of " + src.string() +
                              ": Your snapshot holds 4 files, over the limit of 3 files";
  CHECK_THROWS_MATCHES(submission::check_snapshot(src, limits), UserErrorException,
                       Catch::Message(message));
  const auto root = t.work() / "snapshots";
  CHECK_THROWS_MATCHES(submission::store_snapshot(src, root, limits), UserErrorException,
                       Catch::Message(message));
  CHECK(entries(root).empty());  // nothing written

  stdfs::remove(src / "f3");  // exactly at the limit is fine
  CHECK(submission::check_snapshot(src, limits).files == 3);
}

TEST_CASE("snapshot limits: more bytes than allowed", "[snapshot]") {
  TempHome t;
  const auto src = t.work() / "src";
  TempHome::write(src / "a", std::string(60, 'a'));
  TempHome::write(src / "b", std::string(41, 'b'));
  CHECK_THROWS_AS(submission::check_snapshot(src, SnapshotLimits{100, 2000}), UserErrorException);
  CHECK_THROWS_WITH(submission::check_snapshot(src, SnapshotLimits{100, 2000}),
                    Catch::StartsWith("While attempting to take snapshot of " + src.string() +
                                      ": Your total snapshot size exceeds the limit of "));
  const auto info = submission::check_snapshot(src, SnapshotLimits{101, 2000});  // at the limit
  CHECK(info.bytes == 101);
  CHECK(info.files == 2);
}

TEST_CASE("snapshot limits: the service's 300 MB, with the SDK's message", "[snapshot]") {
  TempHome t;
  const auto src = t.work() / "src";
  sparse_file(src / "weights.bin", 300ull * 1024 * 1024 + 1);
  const auto root = t.work() / "snapshots";
  CHECK_THROWS_MATCHES(
      submission::store_snapshot(src, root, {}), UserErrorException,
      Catch::Message("While attempting to take snapshot of " + src.string() +
                     ": Your total snapshot size exceeds the limit of 300.0 MB"));
  CHECK(entries(root).empty());
}

TEST_CASE("snapshot limits: ignored files do not count", "[snapshot]") {
  TempHome t;
  const auto src = t.work() / "src";
  TempHome::write(src / ".amlignore", "*.bin\nscratch/\n");
  TempHome::write(src / "train.py", "x");
  sparse_file(src / "weights.bin", 300ull * 1024 * 1024 + 1);
  for (int i = 0; i < 5; ++i) TempHome::write(src / "scratch" / std::to_string(i), "x");

  const auto info = submission::check_snapshot(src, SnapshotLimits{1024, 2});
  CHECK(info.files == 2);  // .amlignore and train.py
  CHECK(info.bytes == 1 + std::string("*.bin\nscratch/\n").size());
  CHECK_NOTHROW(submission::store_snapshot(src, t.work() / "snapshots", {}));
}

// ---------------------------------------------------------------------------------------------
// The content-addressed store.

TEST_CASE("store: the same folder twice gives the same id and one stored copy", "[snapshot]") {
  TempHome t;
  const auto src = t.work() / "src";
  TempHome::write(src / "train.py", "print(1)\n");
  TempHome::write(src / "lib" / "util.py", "x = 1\n");
  const auto root = t.work() / "snapshots";

  const auto first = submission::store_snapshot(src, root, {});
  CHECK(std::regex_match(first, kSnapshotId));
  const auto second = submission::store_snapshot(src, root, {});
  CHECK(second == first);
  CHECK(entries(root) == std::set<std::string>{first});

  const auto stored = submission::snapshot_dir(root, first);
  CHECK(stored == root / first);
  CHECK(fs::list_files(stored) == std::vector<std::string>{"lib/util.py", "train.py"});
  CHECK(fs::read_file(stored / "lib" / "util.py") == "x = 1\n");

  // A copy of the folder elsewhere has the same content, hence the same id.
  fs::copy_tree(src, t.work() / "copy");
  CHECK(submission::store_snapshot(t.work() / "copy", root, {}) == first);
  CHECK(entries(root).size() == 1);
}

TEST_CASE("store: ids are a digest of paths and contents", "[snapshot]") {
  TempHome t;
  const auto src = t.work() / "src";
  const auto root = t.work() / "snapshots";
  std::string big(3 * 1024 * 1024 + 7, '\0');  // spans several read chunks
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i % 251);
  TempHome::write(src / "a.txt", "A");
  TempHome::write(src / "sub" / "b.txt", "B");
  TempHome::write(src / "big.bin", big);

  // Pinned: SHA-1 over "<path>\0<hex SHA-1 of content>\n" per file in path order, first 16
  // bytes as 8-4-4-4-12 (computed independently with Python's hashlib).
  const auto id = submission::store_snapshot(src, root, {});
  CHECK(id == "9414a20a-4e20-3c4c-d28c-c5db7e4fd769");
  CHECK(fs::read_file(submission::snapshot_dir(root, id) / "big.bin") == big);

  SECTION("a changed byte gives a new id and leaves the old snapshot alone") {
    TempHome::write(src / "a.txt", "a");
    const auto changed = submission::store_snapshot(src, root, {});
    CHECK(changed != id);
    CHECK(entries(root) == std::set<std::string>{id, changed});
    CHECK(fs::read_file(submission::snapshot_dir(root, id) / "a.txt") == "A");
    CHECK(fs::read_file(submission::snapshot_dir(root, changed) / "a.txt") == "a");
  }
  SECTION("a renamed file gives a new id") {
    stdfs::rename(src / "a.txt", src / "c.txt");
    CHECK(submission::store_snapshot(src, root, {}) != id);
  }
  SECTION("an empty folder has an id too") {
    const auto empty = t.work() / "empty";
    stdfs::create_directories(empty);
    const auto empty_id = submission::store_snapshot(empty, root, {});
    CHECK(empty_id == "da39a3ee-5e6b-4b0d-3255-bfef95601890");  // SHA-1 of nothing
    CHECK(stdfs::is_directory(root / empty_id));
    CHECK(submission::store_snapshot(empty, root, {}) == empty_id);
  }
}

TEST_CASE("store: ignored files are absent from the stored copy and do not change the id",
          "[snapshot]") {
  TempHome t;
  const auto src = t.work() / "src";
  const auto root = t.work() / "snapshots";
  TempHome::write(src / ".amlignore", "outputs/\n*.tmp\n");
  TempHome::write(src / "train.py", "x");
  TempHome::write(src / "scratch.tmp", "1");
  TempHome::write(src / "outputs" / "model.npz", "weights");

  const auto id = submission::store_snapshot(src, root, {});
  CHECK(fs::list_files(submission::snapshot_dir(root, id)) ==
        std::vector<std::string>{".amlignore", "train.py"});

  TempHome::write(src / "scratch.tmp", "2");
  TempHome::write(src / "outputs" / "more.npz", "weights");
  CHECK(submission::store_snapshot(src, root, {}) == id);
  CHECK(entries(root).size() == 1);
}

TEST_CASE("store: no staging folder is left behind, even when runs race", "[snapshot]") {
  TempHome t;
  const auto src = t.work() / "src";
  const auto root = t.work() / "snapshots";
  for (int i = 0; i < 50; ++i) TempHome::write(src / "d" / (std::to_string(i) + ".py"), "x");

  std::vector<std::string> ids(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    threads.emplace_back([&, i] { ids[i] = submission::store_snapshot(src, root, {}); });
  }
  for (auto& th : threads) th.join();
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 1);
  CHECK(entries(root) == std::set<std::string>{ids[0]});
  CHECK_FALSE(has_staging(root));
  CHECK(fs::list_files(submission::snapshot_dir(root, ids[0])).size() == 50);
}

TEST_CASE("snapshot_dir accepts only snapshot ids", "[snapshot]") {
  const stdfs::path root = "/tmp/snapshots";
  CHECK(submission::snapshot_dir(root, "3bbcd966-3c06-4151-b67c-954397b841ca") ==
        root / "3bbcd966-3c06-4151-b67c-954397b841ca");
  CHECK_THROWS_AS(submission::snapshot_dir(root, "../etc"), UserErrorException);
  CHECK_THROWS_AS(submission::snapshot_dir(root, ""), UserErrorException);
  CHECK_THROWS_AS(submission::snapshot_dir(root, "3BBCD966-3C06-4151-B67C-954397B841CA"),
                  UserErrorException);
  CHECK_THROWS_AS(submission::snapshot_dir(root, ".staging-0123456789abcdef0123"),
                  UserErrorException);
}
