// The file helpers every room uses: listing a tree, and choosing a fault point.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/fault.hpp"
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

TEST_CASE("a fault point is selected by its name, and by a file at a path boundary",
          "[fs][fault]") {
  using amlemu::fault_selected;
  const char* path = "/ws/runs/r1/artifacts/outputs/part-005.bin";
  CHECK(fault_selected("fs.copy_file", "fs.copy_file", path));
  CHECK(fault_selected("fs.copy_file:part-005.bin", "fs.copy_file", path));
  CHECK(fault_selected("fs.copy_file:outputs/part-005.bin", "fs.copy_file", path));
  CHECK(fault_selected("fs.copy_file:" + std::string(path), "fs.copy_file", path));
  CHECK_FALSE(fault_selected("fs.copy_file:rt-005.bin", "fs.copy_file", path));
  CHECK_FALSE(fault_selected("fs.copy_file:part-004.bin", "fs.copy_file", path));
  CHECK_FALSE(fault_selected("fs.copy_file:", "fs.copy_file", path));
  CHECK_FALSE(fault_selected("fs.copy", "fs.copy_file", path));
  CHECK_FALSE(fault_selected("fs.copy_files", "fs.copy_file", path));
  CHECK_FALSE(fault_selected("fs.copy_file:x/" + std::string(path), "fs.copy_file", path));
  CHECK_FALSE(fault_selected("", "fs.copy_file", path));
}
