// Room: history. Status transitions, status history, metrics shapes, run files.
#include <catch2/catch.hpp>

#include "amlemu/run.hpp"
#include "common/fs.hpp"
#include "history/run_store.hpp"
#include "support/temp_home.hpp"
#include "workspace/workspace_impl.hpp"

using namespace amlemu;
using amlemu::history::MetricRow;
using amlemu::history::RunRecord;
using amlemu::history::RunStore;
using amlemu::testing::TempHome;
using nlohmann::json;

namespace {
RunRecord record(const std::string& id, const std::string& experiment = "exp") {
  RunRecord r;
  r.run_id = id;
  r.experiment_name = experiment;
  r.target = "local";
  r.definition = {{"script", "train.py"}};
  return r;
}
}  // namespace

TEST_CASE("the service's order is the only way forward", "[history][status]") {
  using history::is_valid_transition;
  CHECK(is_valid_transition("Starting", "Preparing"));
  CHECK(is_valid_transition("Preparing", "Queued"));
  CHECK(is_valid_transition("Queued", "Running"));
  CHECK(is_valid_transition("Running", "Finalizing"));
  CHECK(is_valid_transition("Finalizing", "Completed"));
  CHECK(is_valid_transition("Preparing", "Failed"));
  CHECK(is_valid_transition("Running", "CancelRequested"));
  CHECK(is_valid_transition("CancelRequested", "Canceled"));
  CHECK_FALSE(is_valid_transition("Running", "Preparing"));
  CHECK_FALSE(is_valid_transition("Completed", "Running"));
  CHECK_FALSE(is_valid_transition("Failed", "Completed"));
  CHECK_FALSE(is_valid_transition("Canceled", "Failed"));
  CHECK_FALSE(is_valid_transition("CancelRequested", "Running"));
  CHECK_FALSE(is_valid_transition("Starting", "NotStarted"));
}

TEST_CASE("a run's statuses are recorded in order with timestamps", "[history][status]") {
  TempHome t;
  auto ws = Workspace::create("hist", "s", "r");
  RunStore store(ws.impl().db);
  store.insert_run(record("exp_1_aaaaaaaa"), "2026-01-01T00:00:00.000Z");
  CHECK(store.find("exp_1_aaaaaaaa")->status == "Starting");
  for (const char* s : {"Preparing", "Queued", "Running", "Finalizing", "Completed"}) {
    CHECK(store.set_status("exp_1_aaaaaaaa", s, "2026-01-01T00:00:01.000Z"));
  }
  CHECK_FALSE(store.set_status("exp_1_aaaaaaaa", "Failed", "2026-01-01T00:00:02.000Z"));
  const auto h = store.status_history("exp_1_aaaaaaaa");
  std::vector<std::string> names;
  for (const auto& c : h) names.push_back(c.status);
  CHECK(names == std::vector<std::string>{"NotStarted", "Starting", "Preparing", "Queued",
                                          "Running", "Finalizing", "Completed"});
  const auto rec = store.find("exp_1_aaaaaaaa");
  CHECK(rec->status == "Completed");
  CHECK(rec->start_time == "2026-01-01T00:00:01.000Z");
  CHECK(rec->end_time == "2026-01-01T00:00:01.000Z");
  CHECK(rec->error.is_null());
}

TEST_CASE("a failed run keeps its error object", "[history][status]") {
  TempHome t;
  auto ws = Workspace::create("hist", "s", "r");
  RunStore store(ws.impl().db);
  store.insert_run(record("exp_2_bbbbbbbb"), "2026-01-01T00:00:00.000Z");
  const json err = {{"error", {{"code", "UserError"}, {"message", "boom"}}}};
  CHECK(store.set_status("exp_2_bbbbbbbb", "Failed", "2026-01-01T00:00:03.000Z", err));
  CHECK(store.find("exp_2_bbbbbbbb")->error == err);
  CHECK(Run(ws, "exp_2_bbbbbbbb").get_details()["error"] == err);
}

TEST_CASE("runs list newest first, per experiment or all", "[history]") {
  TempHome t;
  auto ws = Workspace::create("hist", "s", "r");
  RunStore store(ws.impl().db);
  store.insert_run(record("a_1_00000001", "a"), "2026-01-01T00:00:01.000Z");
  store.insert_run(record("b_2_00000002", "b"), "2026-01-01T00:00:02.000Z");
  store.insert_run(record("a_3_00000003", "a"), "2026-01-01T00:00:03.000Z");
  const auto all = store.list(std::nullopt);
  REQUIRE(all.size() == 3);
  CHECK(all[0].run_id == "a_3_00000003");
  CHECK(all[2].run_id == "a_1_00000001");
  CHECK(store.list(std::string("a")).size() == 2);
  CHECK(store.list(std::nullopt, 1).size() == 1);
}

TEST_CASE("get_metrics: once is a scalar, many times a list, log_list a list", "[history][metrics]") {
  const std::vector<MetricRow> rows = {{"final_acc", "scalar", 0.9},
                                       {"acc", "scalar", 0.1},
                                       {"acc", "scalar", 0.2},
                                       {"name", "scalar", "x"},
                                       {"acc", "scalar", 0.3},
                                       {"losses", "list", json::array({1, 2, 3})},
                                       {"flag", "scalar", true},
                                       {"nothing", "scalar", nullptr}};
  const auto m = history::shape_metrics(rows);
  CHECK(m["final_acc"] == 0.9);
  CHECK(m["acc"] == json::array({0.1, 0.2, 0.3}));
  CHECK(m["name"] == "x");
  CHECK(m["losses"] == json::array({1, 2, 3}));
  CHECK(m["flag"] == true);
  CHECK(m["nothing"].is_null());
  CHECK(history::shape_metrics({}).empty());
}

TEST_CASE("metrics stored in SQLite come back in logging order", "[history][metrics]") {
  TempHome t;
  auto ws = Workspace::create("hist", "s", "r");
  RunStore store(ws.impl().db);
  store.insert_run(record("exp_4_cccccccc"), "2026-01-01T00:00:00.000Z");
  for (int i = 0; i < 5; ++i) store.log_metric("exp_4_cccccccc", "loss", "scalar", 5 - i, "t");
  store.log_metric("exp_4_cccccccc", "best", "scalar", 1, "t");
  const Run run(ws, "exp_4_cccccccc");
  CHECK(run.get_metrics()["loss"] == json::array({5, 4, 3, 2, 1}));
  CHECK(run.get_metrics()["best"] == 1);
  CHECK(run.get_metrics(std::string("best")) == json({{"best", 1}}));
  CHECK(run.get_metrics(std::string("missing")).empty());
}

TEST_CASE("run files are recorded and listed sorted", "[history]") {
  TempHome t;
  auto ws = Workspace::create("hist", "s", "r");
  RunStore store(ws.impl().db);
  store.insert_run(record("exp_5_dddddddd"), "2026-01-01T00:00:00.000Z");
  store.add_files("exp_5_dddddddd", {{"outputs/model/w.npz", 10}, {"azureml-logs/70_driver_log.txt", 5}});
  CHECK(Run(ws, "exp_5_dddddddd").get_file_names() ==
        std::vector<std::string>{"azureml-logs/70_driver_log.txt", "outputs/model/w.npz"});
}

TEST_CASE("an unknown run id is not found", "[history]") {
  TempHome t;
  auto ws = Workspace::create("hist", "s", "r");
  CHECK_THROWS_WITH(Run(ws, "nope_1_00000000"), Catch::Contains("Run 'nope_1_00000000' not found"));
}

TEST_CASE("download_file copies one run file to a path or into a folder", "[history]") {
  TempHome t;
  auto ws = Workspace::create("hist", "s", "r");
  RunStore store(ws.impl().db);
  store.insert_run(record("exp_6_eeeeeeee"), "2026-01-01T00:00:00.000Z");
  TempHome::write(ws.state_dir() / "runs" / "exp_6_eeeeeeee" / "artifacts" / "outputs" / "m.txt", "model");
  store.add_files("exp_6_eeeeeeee", {{"outputs/m.txt", 5}});
  const Run run(ws, "exp_6_eeeeeeee");
  run.download_file("outputs/m.txt", t.work() / "copy.txt");
  CHECK(amlemu::fs::read_file(t.work() / "copy.txt") == "model");
  std::filesystem::create_directories(t.work() / "dir");
  run.download_file("outputs/m.txt", t.work() / "dir");
  CHECK(amlemu::fs::read_file(t.work() / "dir" / "m.txt") == "model");
  CHECK_THROWS_WITH(run.download_file("outputs/other.txt", t.work()),
                    Catch::Contains("'outputs/other.txt' is not a file of run exp_6_eeeeeeee"));
  CHECK(run.download_files("outputs/", t.work() / "all") == 1);
  CHECK(std::filesystem::exists(t.work() / "all" / "outputs" / "m.txt"));
  CHECK(run.download_files("outputs/", t.work() / "flat", false) == 1);
  CHECK(std::filesystem::exists(t.work() / "flat" / "m.txt"));
}
