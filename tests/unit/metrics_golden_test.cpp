// Room: history. The golden metrics file (tests/golden/metrics.json), shared with the Python
// package's tests (tests/python/test_golden_metrics.py): the rows the package writes for the
// golden calls, read back by C++, give the golden get_metrics() shape.
#include <catch2/catch.hpp>

#include <cstdint>
#include <fstream>
#include <set>
#include <string>

#include "amlemu/run.hpp"
#include "history/run_store.hpp"
#include "support/temp_home.hpp"
#include "workspace/workspace_impl.hpp"

using namespace amlemu;
using amlemu::history::RunRecord;
using amlemu::history::RunStore;
using amlemu::testing::TempHome;
using nlohmann::json;

namespace {

json golden() {
  std::ifstream in(AMLEMU_GOLDEN_DIR "/metrics.json");
  REQUIRE(in);
  return json::parse(in);
}

// The golden shape as C++ gives it: a non-finite float's marker {"$float": "NaN"} is shown as its
// string "NaN" (JSON has no NaN; Python's get_metrics() gives the float instead).
json as_cpp_shows(const json& v) {
  if (v.is_object() && v.size() == 1 && v.contains("$float")) return v["$float"];
  if (v.is_array() || v.is_object()) {
    json out = v;
    for (auto& item : out) item = as_cpp_shows(item);
    return out;
  }
  return v;
}

// A workspace with the golden run and the golden rows, inserted as the Python package writes them
// (the exact JSON text, the step).
struct GoldenWorkspace {
  TempHome home;
  Workspace ws = Workspace::create("golden", "s", "r");
  json file = golden();
  std::string run_id = file["run_id"].get<std::string>();

  GoldenWorkspace() {
    RunRecord r;
    r.run_id = run_id;
    r.experiment_name = file["experiment"].get<std::string>();
    r.target = "local";
    r.definition = {{"script", "train.py"}};
    RunStore(ws).insert_run(r, "2026-11-26T06:00:00.000Z");
    auto& db = amlemu::detail::database(ws);
    storage::Transaction tx(db);
    auto st = db.prepare(
        "INSERT INTO metrics (run_id, name, kind, step, value, time) VALUES (?, ?, ?, ?, ?, ?)");
    for (const auto& row : file["rows"]) {
      st.bind(1, run_id)
          .bind(2, row["name"].get<std::string>())
          .bind(3, row["kind"].get<std::string>())
          .bind(5, row["value"].get<std::string>())
          .bind(6, "2026-11-26T06:00:00.123Z");
      if (row["step"].is_null()) {
        st.bind_null(4);
      } else {
        st.bind(4, row["step"].get<std::int64_t>());
      }
      st.run();
      st.reset();
    }
    tx.commit();
  }
};

}  // namespace

TEST_CASE("golden metrics: the file has rows of every kind and a shape for every name",
          "[history][metrics][golden]") {
  const auto g = golden();
  std::set<std::string> kinds, names;
  for (const auto& row : g["rows"]) {
    kinds.insert(row["kind"].get<std::string>());
    names.insert(row["name"].get<std::string>());
  }
  CHECK(kinds == std::set<std::string>{"scalar", "list", "row", "table", "image"});
  std::set<std::string> shaped;
  for (auto it = g["metrics"].begin(); it != g["metrics"].end(); ++it) shaped.insert(it.key());
  CHECK(shaped == names);
}

TEST_CASE("golden metrics: Run::get_metrics() of the golden rows is the golden shape",
          "[history][metrics][golden]") {
  GoldenWorkspace w;
  const auto want = as_cpp_shows(w.file["metrics"]);
  const Run run(w.ws, w.run_id);
  const auto got = run.get_metrics();
  // Name by name first, so that a difference names its metric.
  for (auto it = want.begin(); it != want.end(); ++it) {
    INFO("metric " << it.key());
    REQUIRE(got.contains(it.key()));
    CHECK(got[it.key()] == it.value());
  }
  CHECK(got == want);
}

TEST_CASE("golden metrics: get_metrics(name) gives each name's golden shape",
          "[history][metrics][golden]") {
  GoldenWorkspace w;
  const auto want = as_cpp_shows(w.file["metrics"]);
  RunStore store(w.ws);
  for (auto it = want.begin(); it != want.end(); ++it) {
    INFO("metric " << it.key());
    CHECK(store.metrics(w.run_id, it.key()) == json({{it.key(), it.value()}}));
  }
  CHECK(store.metrics(w.run_id, std::string("never_logged")).empty());
}

TEST_CASE("golden metrics: the non-finite floats are shown as their marker's string",
          "[history][metrics][golden]") {
  GoldenWorkspace w;
  const auto got = Run(w.ws, w.run_id).get_metrics();
  CHECK(got["up"] == "Infinity");
  CHECK(got["down"] == "-Infinity");
  CHECK(got["loss"][2] == "NaN");
  CHECK(got["accuracies"][3] == "NaN");
  CHECK(got["one_row"]["y"] == "Infinity");
}
