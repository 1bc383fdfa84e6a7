// The file helpers every room uses: listing a tree.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <vector>

#include "common/fs.hpp"
#include "support/temp_home.hpp"

using amlemu::testing::TempHome;
namespace fs = amlemu::fs;
namespace stdfs = std::filesystem;

TEST_CASE("list_files gives sorted paths relative to the folder however it is named", "[fs]") {
  TempHome t;
  const auto dir = t.work() / "tree";
  TempHome::write(dir / "b.txt", "b");
  TempHome::write(dir / "a" / "deep" / "c.txt", "c");
  stdfs::create_directories(dir / "empty");
  const std::vector<std::string> expected = {"a/deep/c.txt", "b.txt"};
  CHECK(fs::list_files(dir) == expected);
  CHECK(fs::list_files(dir.string() + "/") == expected);
  CHECK(fs::list_files(dir / "a" / "..") == expected);
  stdfs::create_directory_symlink(dir, t.work() / "link");
  CHECK(fs::list_files(t.work() / "link") == expected);
  const auto cwd = stdfs::current_path();
  stdfs::current_path(dir);
  const auto here = fs::list_files(".");
  stdfs::current_path(cwd);
  CHECK(here == expected);
  CHECK(fs::list_files(t.work() / "missing").empty());
}
