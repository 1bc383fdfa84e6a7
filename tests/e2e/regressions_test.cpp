// Regression tests through the real CLI, each named after what broke.
#include <catch2/catch.hpp>

#include "e2e/cli.hpp"

using namespace amlemu::testing;
using Catch::Contains;

TEST_CASE("global options such as --config are accepted after the subcommand, as az does",
          "[e2e][cli][regression]") {
  TempHome t;
  const auto elsewhere = t.root() / "elsewhere";
  std::filesystem::create_directories(elsewhere);
  const auto config = t.write_config("late-config", elsewhere);
  // The work folder has no config.json: only --config can name the workspace.
  auto r = cli(t, {"workspace", "create", "--config", config.string()});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.json()["name"] == "late-config");
  r = cli(t, {"workspace", "show", "-o", "json", "--config", config.string()});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.json()["name"] == "late-config");
  r = cli(t, {"--config", config.string(), "compute", "list"});
  CHECK(r.code == 0);
  // An option nobody knows is still refused.
  r = cli(t, {"workspace", "show", "--no-such-option"});
  CHECK(r.code == 2);
}
