// Room: datastore. The blob service's storage: properties belong to the file they were written
// with, and names are confined to their container.
#include <catch2/catch.hpp>
#include <thread>

#include "amlemu/blob.hpp"
#include "amlemu/datastore.hpp"
#include "common/fs.hpp"
#include "support/temp_home.hpp"

using namespace amlemu;
using amlemu::testing::TempHome;
namespace stdfs = std::filesystem;

TEST_CASE("a blob's properties are dropped when its file is replaced behind its back", "[blob]") {
  TempHome t;
  const auto ws = Workspace::create("blobws", "sub", "rg");
  const auto c = BlobContainer::of_datastore(ws, "workspaceblobstore");
  BlobWrite w;
  w.content_type = "text/csv";
  w.content_md5 = "XrY7u+Ae7tCTyyK7j1rNww==";
  w.metadata = {{"Origin", "test"}};
  const auto first = c.put("data/a.csv", "x,y\n", w);
  CHECK(first.content_type == "text/csv");
  CHECK(first.content_md5 == w.content_md5);
  CHECK(first.metadata.at("Origin") == "test");
  // Metadata set later stays bound to the same file.
  CHECK(c.set_metadata("data/a.csv", {{"k", "v"}}).content_md5 == w.content_md5);

  // The same file, rewritten in the datastore's folder (by hand, or by a write whose record was
  // lost in a crash): the stored MD5 would now be a lie, so no property is served.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  TempHome::write(Datastore::get_default(ws).root() / "data" / "a.csv", "x,y\n1,2\n");
  const auto now = c.stat("data/a.csv");
  REQUIRE(now);
  CHECK(now->size == 8);
  CHECK(now->content_md5.empty());
  CHECK(now->content_type == "application/octet-stream");
  CHECK(now->metadata.empty());
  CHECK(now->etag != first.etag);
  // A metadata write after that binds afresh, without the stale MD5.
  const auto again = c.set_metadata("data/a.csv", {{"k", "v2"}});
  CHECK(again.content_md5.empty());
  CHECK(again.metadata.at("k") == "v2");
}

TEST_CASE("blob names that a file cannot be, or that leave the container, are refused", "[blob]") {
  TempHome t;
  const auto ws = Workspace::create("blobws", "sub", "rg");
  const auto c = BlobContainer::of_datastore(ws, "workspaceblobstore");
  const std::vector<std::string> names = {"../x", "a/../../x", "/etc/x", "a//b", "a/./b",
                                         "bad\x01name", "bad\xffname", std::string(1025, 'a')};
  for (const auto& name : names) {
    INFO(name);
    CHECK_THROWS_AS(c.put(name, "x", {}), BlobException);
  }
  // A link to a folder outside: nothing is made or read through it.
  const auto outside = t.root() / "outside";
  stdfs::create_directories(outside);
  TempHome::write(outside / "secret.txt", "s");
  stdfs::create_directory_symlink(outside, Datastore::get_default(ws).root() / "link");
  CHECK_FALSE(c.stat("link/secret.txt"));
  CHECK_THROWS_AS(c.put("link/new/x.txt", "x", {}), BlobException);
  CHECK_FALSE(stdfs::exists(outside / "new"));
  CHECK(c.list("link/", "", "", 0, false).blobs.empty());
}
