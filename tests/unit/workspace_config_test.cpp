// Room: workspace. config.json discovery and workspace state.
#include <catch2/catch.hpp>

#include "amlemu/errors.hpp"
#include "amlemu/workspace.hpp"
#include "support/temp_home.hpp"

using namespace amlemu;
using amlemu::testing::TempHome;
namespace stdfs = std::filesystem;

TEST_CASE("a file path is read directly", "[workspace][config]") {
  TempHome t;
  const auto file = t.write_config("direct");
  const auto cfg = find_workspace_config(file);
  CHECK(cfg.workspace_name == "direct");
  CHECK(cfg.subscription_id == "sub-1");
  CHECK(cfg.resource_group == "rg-1");
  CHECK(cfg.source == file);
}

TEST_CASE("config.json is found in parent folders", "[workspace][config]") {
  TempHome t;
  t.write_config("parent", t.work());
  const auto deep = t.work() / "a" / "b" / "c";
  stdfs::create_directories(deep);
  CHECK(find_workspace_config(deep).workspace_name == "parent");
}

TEST_CASE(".azureml/config.json in an ancestor beats ./config.json, as in the SDK",
          "[workspace][config]") {
  TempHome t;
  t.write_config("ancestor-dotazureml", t.work() / ".azureml");
  const auto child = t.work() / "child";
  t.write_config("plain-child", child);
  CHECK(find_workspace_config(child).workspace_name == "ancestor-dotazureml");
}

TEST_CASE("./.azureml/config.json is found before ./config.json", "[workspace][config]") {
  TempHome t;
  t.write_config("plain", t.work());
  t.write_config("dotazureml", t.work() / ".azureml");
  CHECK(find_workspace_config(t.work()).workspace_name == "dotazureml");
}

TEST_CASE("the write_config Id/Scope form is accepted", "[workspace][config]") {
  TempHome t;
  TempHome::write(t.work() / "config.json",
                  R"({"Id": null, "Scope": "/subscriptions/s1/resourceGroups/r1/providers/)"
                  R"(Microsoft.MachineLearningServices/workspaces/w1"})");
  const auto cfg = find_workspace_config(t.work());
  CHECK(cfg.subscription_id == "s1");
  CHECK(cfg.resource_group == "r1");
  CHECK(cfg.workspace_name == "w1");
}

TEST_CASE("a config without the three keys gives the SDK's message", "[workspace][config]") {
  TempHome t;
  TempHome::write(t.work() / "config.json", R"({"subscription_id": "s"})");
  CHECK_THROWS_WITH(find_workspace_config(t.work()),
                    Catch::Contains("does not seem to contain the required parameters"));
}

TEST_CASE("malformed JSON names the file", "[workspace][config]") {
  TempHome t;
  TempHome::write(t.work() / "config.json", "{not json");
  CHECK_THROWS_WITH(find_workspace_config(t.work()),
                    Catch::Contains("config.json") && Catch::Contains("not valid JSON"));
}

TEST_CASE("no config anywhere gives the SDK's not-found message", "[workspace][config]") {
  TempHome t;
  // The temp folder's ancestors (/tmp, /) hold no config.json.
  CHECK_THROWS_AS(find_workspace_config(t.work()), UserErrorException);
  CHECK_THROWS_WITH(find_workspace_config(t.work()),
                    Catch::Contains("could not be found in") && Catch::Contains("parent directories"));
}

TEST_CASE("state lives under AMLEMU_HOME, one folder per workspace", "[workspace]") {
  TempHome t;
  const auto a = Workspace::create("ws-a", "sub", "rg");
  const auto b = Workspace::create("ws-b", "sub", "rg");
  const auto c = Workspace::create("ws-a", "sub", "other-rg");
  CHECK(a.state_dir() == t.home() / "workspaces" / "sub" / "rg" / "ws-a");
  CHECK(a.state_dir() != b.state_dir());
  CHECK(a.state_dir() != c.state_dir());
  CHECK(stdfs::exists(a.state_dir() / "workspace.db"));
  CHECK(stdfs::is_directory(a.state_dir() / "datastores" / "workspaceblobstore"));
  CHECK(a.get_details()["workspaceid"] != c.get_details()["workspaceid"]);
}

TEST_CASE("from_config opens only a workspace that was created", "[workspace]") {
  TempHome t;
  const auto file = t.write_config("later");
  CHECK_THROWS_AS(Workspace::from_config(file), NotFoundException);
  CHECK_FALSE(stdfs::exists(t.home() / "workspaces"));  // a failed open writes nothing
  Workspace::create("later", "sub-1", "rg-1");
  CHECK(Workspace::from_config(file).name() == "later");
}

TEST_CASE("workspace names follow the service's rule", "[workspace]") {
  TempHome t;
  CHECK_THROWS_WITH(Workspace::create("x", "s", "r"), Catch::Contains("workspace_name"));
  CHECK_THROWS_WITH(Workspace::create("-bad", "s", "r"), Catch::Contains("workspace_name"));
  CHECK_THROWS_WITH(Workspace::create(std::string(33, 'a'), "s", "r"),
                    Catch::Contains("workspace_name"));
  CHECK_THROWS_WITH(Workspace::create("good", "../escape", "r"), Catch::Contains("subscription_id"));
  CHECK_NOTHROW(Workspace::create("ok_name-2", "s", "r"));
}

TEST_CASE("write_config round-trips through from_config", "[workspace][config]") {
  TempHome t;
  const auto ws = Workspace::create("roundtrip", "sub", "rg");
  ws.write_config(t.work());
  const auto cfg = find_workspace_config(t.work());
  CHECK(cfg.source == t.work() / ".azureml" / "config.json");
  CHECK(cfg.workspace_name == "roundtrip");
  CHECK(cfg.resource_group == "rg");
}
