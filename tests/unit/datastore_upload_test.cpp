// Room: datastore. upload() semantics and messages.
#include <catch2/catch.hpp>
#include <sstream>

#include "amlemu/datastore.hpp"
#include "amlemu/errors.hpp"
#include "common/fs.hpp"
#include "support/temp_home.hpp"

using namespace amlemu;
using amlemu::testing::TempHome;
namespace stdfs = std::filesystem;

namespace {
struct Fixture {
  TempHome t;
  Workspace ws = Workspace::create("dsws", "sub", "rg");
  Datastore ds = Datastore::get_default(ws);
  stdfs::path src = t.work() / "src";
  Fixture() {
    TempHome::write(src / "a.txt", "A");
    TempHome::write(src / "sub" / "b.txt", "B");
  }
};
}  // namespace

TEST_CASE("upload copies the tree under target_path and prints the SDK's lines", "[datastore]") {
  Fixture f;
  std::ostringstream out;
  const auto ref = f.ds.upload(f.src, "data", false, true, out);
  CHECK(fs::read_file(f.ds.root() / "data" / "a.txt") == "A");
  CHECK(fs::read_file(f.ds.root() / "data" / "sub" / "b.txt") == "B");
  const auto text = out.str();
  CHECK(text.rfind("Uploading an estimated of 2 files\n", 0) == 0);
  CHECK_THAT(text, Catch::Contains("Uploaded " + (f.src / "a.txt").string() +
                                   ", 1 files out of an estimated total of 2"));
  CHECK_THAT(text, Catch::EndsWith("Uploaded 2 files\n"));
  CHECK(ref.to_string().rfind("$AZUREML_DATAREFERENCE_", 0) == 0);
  CHECK(ref.to_string().size() == std::string("$AZUREML_DATAREFERENCE_").size() + 32);
  CHECK(ref.path_on_datastore == "data");
}

TEST_CASE("existing targets are skipped unless overwrite", "[datastore]") {
  Fixture f;
  std::ostringstream first, second, third;
  f.ds.upload(f.src, "data", false, true, first);
  TempHome::write(f.src / "a.txt", "A2");
  f.ds.upload(f.src, "data", false, true, second);
  CHECK(fs::read_file(f.ds.root() / "data" / "a.txt") == "A");
  CHECK_THAT(second.str(), Catch::Contains("Target already exists. Skipping upload for data/a.txt"));
  CHECK_THAT(second.str(), Catch::EndsWith("Uploaded 0 files\n"));
  f.ds.upload(f.src, "data", true, true, third);
  CHECK(fs::read_file(f.ds.root() / "data" / "a.txt") == "A2");
  CHECK_THAT(third.str(), Catch::EndsWith("Uploaded 2 files\n"));
}

TEST_CASE("a leading ./ is stripped from target_path, an absolute one refused", "[datastore]") {
  Fixture f;
  std::ostringstream out;
  f.ds.upload(f.src, "./x/", false, false, out);
  CHECK(stdfs::exists(f.ds.root() / "x" / "a.txt"));
  CHECK(out.str().empty());  // show_progress=false prints nothing
  CHECK_THROWS_WITH(f.ds.upload(f.src, "/y", false, false, out),
                    "target_path '/y' is invalid: it must be relative to the datastore");
  CHECK_FALSE(stdfs::exists(f.ds.root() / "y"));
}

TEST_CASE("upload refuses a src that is not a folder and a target that leaves the store",
          "[datastore]") {
  Fixture f;
  std::ostringstream out;
  CHECK_THROWS_WITH(f.ds.upload(f.src / "a.txt", "", false, false, out),
                    Catch::Contains("src_path must be a directory."));
  CHECK_THROWS_WITH(f.ds.upload(f.src, "../escape", false, false, out),
                    Catch::Contains("target_path '../escape'"));
  CHECK_FALSE(stdfs::exists(f.ds.root().parent_path() / "escape"));
}

TEST_CASE("datastore lookups", "[datastore]") {
  Fixture f;
  CHECK(Datastore::get(f.ws, "workspacefilestore").datastore_type() == "AzureFile");
  CHECK(f.ds.datastore_type() == "AzureBlob");
  CHECK_THROWS_AS(Datastore::get(f.ws, "nosuch"), NotFoundException);
  CHECK_THROWS_WITH(Datastore::get(f.ws, "bad/name"), Catch::Contains("alphanumeric"));
  CHECK(f.ds.as_mount().to_string() == "$AZUREML_DATAREFERENCE_workspaceblobstore");
  CHECK(f.ds.as_download("d").mode == "download");
  CHECK(f.ds.path("p/q").path_on_datastore == "p/q");
}
