// Room: common. Run ids and GUIDs in the service's formats.
#include <catch2/catch.hpp>
#include <regex>
#include <set>

#include "common/clock.hpp"
#include "common/ids.hpp"
#include "common/text.hpp"

using namespace amlemu;

TEST_CASE("run ids are <experiment>_<epoch seconds>_<8 hex>", "[ids]") {
  const auto id = make_run_id("tf-mnist", 1630385291);
  CHECK(std::regex_match(id, std::regex("^tf-mnist_1630385291_[0-9a-f]{8}$")));
}

TEST_CASE("run ids do not repeat", "[ids]") {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(make_run_id("e", 1));
  CHECK(seen.size() == 10000);
}

TEST_CASE("GUIDs are version 4", "[ids]") {
  CHECK(std::regex_match(new_guid(),
                         std::regex("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")));
}

TEST_CASE("timestamps are ISO-8601 UTC with milliseconds", "[clock]") {
  const SystemTime t{std::chrono::milliseconds(1630385291123)};
  CHECK(iso_utc(t) == "2021-08-31T04:48:11.123Z");
  CHECK(log_stamp(t) == "2021-08-31T04:48:11.123000");
  CHECK(epoch_seconds(t) == 1630385291);
}

TEST_CASE("name rules say what the service's name patterns say", "[text]") {
  // ^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$
  CHECK(matches("tf-mnist_2", kRunName));
  CHECK(matches("7", kRunName));
  CHECK(matches(std::string(255, 'a'), kRunName));
  CHECK_FALSE(matches(std::string(256, 'a'), kRunName));
  CHECK_FALSE(matches("", kRunName));
  CHECK_FALSE(matches("-a", kRunName));
  CHECK_FALSE(matches("_a", kRunName));
  CHECK_FALSE(matches("a.b", kRunName));
  CHECK_FALSE(matches("a b", kRunName));
  CHECK_FALSE(matches("caf\xc3\xa9", kRunName));
  // ^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$
  CHECK(matches("sklearn.model-1_2", kAssetName));
  CHECK_FALSE(matches(".hidden", kAssetName));
  CHECK_FALSE(matches("a/b", kAssetName));
  // ^[A-Za-z_][A-Za-z0-9_]*$
  CHECK(matches("_x1", kIdentifier));
  CHECK(matches("learning_rate", kIdentifier));
  CHECK_FALSE(matches("1x", kIdentifier));
  CHECK_FALSE(matches("a-b", kIdentifier));
  // ^[A-Za-z][A-Za-z0-9-]{1,15}$ (a compute name)
  const NameRule compute{.digit_first = false, .rest_extra = "-", .min = 2, .max = 16};
  CHECK(matches("cpu-cluster", compute));
  CHECK_FALSE(matches("c", compute));
  CHECK_FALSE(matches("1cpu", compute));
  CHECK_FALSE(matches("a-very-long-cluster", compute));
}
