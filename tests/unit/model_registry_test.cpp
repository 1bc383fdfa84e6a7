// Room: registry. Versions, the name rule, download.
#include <catch2/catch.hpp>

#include "amlemu/errors.hpp"
#include "amlemu/model.hpp"
#include "common/fs.hpp"
#include "support/temp_home.hpp"

using namespace amlemu;
using amlemu::testing::TempHome;
namespace stdfs = std::filesystem;

TEST_CASE("versions start at 1 and increase per name", "[registry]") {
  TempHome t;
  const auto ws = Workspace::create("mws", "s", "r");
  TempHome::write(t.work() / "model" / "w.txt", "v1");
  const auto m1 = Model::register_model(ws, t.work() / "model", "mnist");
  CHECK(m1.version() == 1);
  CHECK(m1.id() == "mnist:1");
  CHECK(m1.path() == "model");
  const auto m2 = Model::register_model(ws, t.work() / "model", "mnist");
  CHECK(m2.version() == 2);
  CHECK(Model::register_model(ws, t.work() / "model", "other").version() == 1);
  CHECK(Model(ws, "mnist").version() == 2);  // a name alone gives the latest
  CHECK(Model(ws, "mnist", 1).id() == "mnist:1");
  CHECK(Model::from_id(ws, "mnist:1").version() == 1);
  CHECK(Model::list(ws).size() == 3);
  CHECK(Model::list(ws, std::string("mnist")).size() == 2);
  CHECK(Model::list(ws, std::nullopt, true).size() == 2);
}

TEST_CASE("the SDK's model name rule and messages", "[registry]") {
  TempHome t;
  const auto ws = Workspace::create("mws", "s", "r");
  TempHome::write(t.work() / "m.bin", "x");
  for (const std::string& bad : std::vector<std::string>{"", "-lead", "has space", "sl/ash", std::string(256, 'a')}) {
    CHECK_THROWS_WITH(Model::register_model(ws, t.work() / "m.bin", bad),
                      Catch::StartsWith("Error, provided model name is invalid."));
  }
  CHECK_NOTHROW(Model::validate_name("a.b-c_d9"));
  CHECK_NOTHROW(Model::validate_name(std::string(255, 'a')));
  CHECK_THROWS_WITH(Model::register_model(ws, t.work() / "missing", "ok"),
                    Catch::Contains("provided model path") && Catch::Contains("cannot be found"));
  CHECK(Model::list(ws).empty());
  CHECK(fs::list_files(ws.state_dir() / "models").empty());  // no staging leftovers
}

TEST_CASE("a missing model is ModelNotFound", "[registry]") {
  TempHome t;
  const auto ws = Workspace::create("mws", "s", "r");
  CHECK_THROWS_AS(Model(ws, "nope"), WebserviceException);
  CHECK_THROWS_WITH(Model(ws, "nope", 3), Catch::Contains("ModelNotFound"));
}

TEST_CASE("download writes target_dir/<path> and refuses to overwrite", "[registry]") {
  TempHome t;
  const auto ws = Workspace::create("mws", "s", "r");
  TempHome::write(t.work() / "model" / "sub" / "w.txt", "weights");
  const auto m = Model::register_model(ws, t.work() / "model", "dl");
  const auto where = m.download(t.work() / "out");
  CHECK(where == t.work() / "out" / "model");
  CHECK(fs::read_file(t.work() / "out" / "model" / "sub" / "w.txt") == "weights");
  CHECK_THROWS_WITH(m.download(t.work() / "out"),
                    Catch::StartsWith("File already exists. To overwrite, set exist_ok to True."));
  CHECK_NOTHROW(m.download(t.work() / "out", true));
}

TEST_CASE("a single file registers under its own name", "[registry]") {
  TempHome t;
  const auto ws = Workspace::create("mws", "s", "r");
  TempHome::write(t.work() / "model.pkl", "pickle");
  const auto m = Model::register_model(ws, t.work() / "model.pkl", "file-model", {{"k", "v"}}, "d");
  CHECK(m.path() == "model.pkl");
  CHECK(m.tags().at("k") == "v");
  CHECK(m.description() == "d");
  m.download(t.work() / "o");
  CHECK(fs::read_file(t.work() / "o" / "model.pkl") == "pickle");
}
