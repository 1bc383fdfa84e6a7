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
  RunStore store(ws);
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
  RunStore store(ws);
  store.insert_run(record("exp_2_bbbbbbbb"), "2026-01-01T00:00:00.000Z");
  const json err = {{"error", {{"code", "UserError"}, {"message", "boom"}}}};
  CHECK(store.set_status("exp_2_bbbbbbbb", "Failed", "2026-01-01T00:00:03.000Z", err));
  CHECK(store.find("exp_2_bbbbbbbb")->error == err);
  CHECK(Run(ws, "exp_2_bbbbbbbb").get_details()["error"] == err);
}

TEST_CASE("runs list newest first, per experiment or all", "[history]") {
  TempHome t;
  auto ws = Workspace::create("hist", "s", "r");
  RunStore store(ws);
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
  RunStore store(ws);
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
  RunStore store(ws);
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
  RunStore store(ws);
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

TEST_CASE("get_metrics: log_row once gives values, several rows give lists with nulls for gaps",
          "[history][metrics]") {
  const std::vector<MetricRow> rows = {
      {"one", "row", {{"epoch", 1}, {"acc", 0.5}}},
      {"rows", "row", {{"epoch", 1}, {"acc", 0.5}}},
      {"rows", "row", {{"epoch", 2}, {"acc", 0.75}}},
      {"rows", "row", {{"epoch", 3}, {"note", "late"}}},
      {"empty_row", "row", json::object()}};
  const auto m = history::shape_metrics(rows);
  CHECK(m["one"] == json({{"epoch", 1}, {"acc", 0.5}}));
  CHECK(m["rows"] == json({{"epoch", {1, 2, 3}},
                           {"acc", {0.5, 0.75, nullptr}},
                           {"note", {nullptr, nullptr, "late"}}}));
  CHECK(m["empty_row"] == json::object());
}

TEST_CASE("get_metrics: log_table gives its columns, one row its values, and rows and tables merge",
          "[history][metrics]") {
  const std::vector<MetricRow> rows = {
      {"table", "table", {{"x", {1, 2, 3}}, {"y", {0.5, 0.25, 0.125}}}},
      {"single", "table", {{"x", json::array({1})}, {"y", json::array({"a"})}}},
      {"no_rows", "table", {{"x", json::array()}}},
      {"grown", "row", {{"x", 0}}},
      {"grown", "table", {{"x", {1, 2}}, {"y", {10, 20}}}},
      {"grown", "row", {{"y", 30}}},
      {"two_tables", "table", {{"x", json::array({1})}}},
      {"two_tables", "table", {{"x", json::array({2})}}}};
  const auto m = history::shape_metrics(rows);
  CHECK(m["table"] == json({{"x", {1, 2, 3}}, {"y", {0.5, 0.25, 0.125}}}));
  CHECK(m["single"] == json({{"x", 1}, {"y", "a"}}));
  CHECK(m["no_rows"] == json({{"x", json::array()}}));
  CHECK(m["grown"] == json({{"x", {0, 1, 2, nullptr}}, {"y", {nullptr, 10, 20, 30}}}));
  CHECK(m["two_tables"] == json({{"x", {1, 2}}}));
}

TEST_CASE("get_metrics: an image is its aml:// address, several images a list", "[history][metrics]") {
  const std::string a = "aml://artifactId/ExperimentRun/dcid.exp_1_aaaaaaaa/outputs/roc.png";
  const std::string b = "aml://artifactId/ExperimentRun/dcid.exp_1_aaaaaaaa/plot_1700000000.png";
  const auto m = history::shape_metrics({{"roc", "image", a}, {"plot", "image", a}, {"plot", "image", b}});
  CHECK(m["roc"] == a);
  CHECK(m["plot"] == json::array({a, b}));
}

TEST_CASE("get_metrics: log_list calls concatenate and an empty list stays a list",
          "[history][metrics]") {
  const auto m = history::shape_metrics({{"two", "list", {1, 2}},
                                         {"two", "list", {3}},
                                         {"single", "list", json::array({7})},
                                         {"empty", "list", json::array()}});
  CHECK(m["two"] == json({1, 2, 3}));
  CHECK(m["single"] == json::array({7}));
  CHECK(m["empty"] == json::array());
}

TEST_CASE("get_metrics: the kind first logged under a name wins, others are ignored",
          "[history][metrics]") {
  const auto m = history::shape_metrics({{"a", "scalar", 1},
                                         {"a", "list", {2, 3}},
                                         {"b", "list", json::array({1})},
                                         {"b", "scalar", 2},
                                         {"c", "row", {{"x", 1}}},
                                         {"c", "scalar", 5},
                                         {"c", "image", "aml://artifactId/x"},
                                         {"d", "image", "aml://artifactId/x"},
                                         {"d", "scalar", 1},
                                         {"e", "scalar", 1},
                                         {"e", "scalar", 2},
                                         {"e", "table", {{"x", json::array({1})}}}});
  CHECK(m["a"] == 1);
  CHECK(m["b"] == json::array({1}));
  CHECK(m["c"] == json({{"x", 1}}));
  CHECK(m["d"] == "aml://artifactId/x");
  CHECK(m["e"] == json({1, 2}));
}

TEST_CASE("get_metrics: non-finite floats stored as markers are shown as strings",
          "[history][metrics]") {
  const json nan = {{"$float", "NaN"}};
  const json inf = {{"$float", "Infinity"}};
  const auto m = history::shape_metrics({{"loss", "scalar", nan},
                                         {"losses", "scalar", 1.5},
                                         {"losses", "scalar", {{"$float", "-Infinity"}}},
                                         {"list", "list", {1, nan}},
                                         {"table", "table", {{"x", {inf, 2}}}},
                                         {"row", "row", {{"x", nan}}},
                                         {"object", "scalar", {{"$float", "NaN"}, {"other", 1}}}});
  CHECK(m["loss"] == "NaN");
  CHECK(m["losses"] == json({1.5, "-Infinity"}));
  CHECK(m["list"] == json({1, "NaN"}));
  CHECK(m["table"] == json({{"x", {"Infinity", 2}}}));
  CHECK(m["row"] == json({{"x", "NaN"}}));
  CHECK(m["object"] == json({{"$float", "NaN"}, {"other", 1}}));  // not a marker: as stored
}

TEST_CASE("metrics of every kind stored in SQLite come back shaped", "[history][metrics]") {
  TempHome t;
  auto ws = Workspace::create("hist", "s", "r");
  RunStore store(ws);
  const std::string id = "exp_7_ffffffff";
  store.insert_run(record(id), "2026-01-01T00:00:00.000Z");
  store.log_metric(id, "acc", "scalar", 0.5, "t");
  store.log_metric(id, "losses", "list", {3, 2}, "t");
  store.log_metric(id, "roc", "row", {{"fpr", 0.1}, {"tpr", 0.8}}, "t");
  store.log_metric(id, "roc", "row", {{"fpr", 0.2}, {"tpr", 0.9}}, "t");
  store.log_metric(id, "table", "table", {{"x", {1, 2}}}, "t");
  store.log_metric(id, "img", "image", "aml://artifactId/ExperimentRun/dcid." + id + "/a.png", "t");
  store.log_metric(id, "big", "scalar", json::parse("18446744073709551615"), "t");
  const Run run(ws, id);
  CHECK(run.get_metrics() ==
        json({{"acc", 0.5},
              {"losses", {3, 2}},
              {"roc", {{"fpr", {0.1, 0.2}}, {"tpr", {0.8, 0.9}}}},
              {"table", {{"x", {1, 2}}}},
              {"img", "aml://artifactId/ExperimentRun/dcid." + id + "/a.png"},
              {"big", UINT64_MAX}}));
  CHECK(run.get_metrics(std::string("roc")) ==
        json({{"roc", {{"fpr", {0.1, 0.2}}, {"tpr", {0.8, 0.9}}}}}));
}

TEST_CASE("a live run whose supervisor is gone is marked Failed when next looked at", "[history]") {
  TempHome t;
  auto ws = Workspace::create("hist", "s", "r");
  RunStore store(ws);
  store.insert_run(record("exp_7_ffffffff"), "2026-01-01T00:00:00.000Z");
  store.set_status("exp_7_ffffffff", "Running", "2026-01-01T00:00:01.000Z");
  CHECK(Run(ws, "exp_7_ffffffff").get_status() == "Running");  // no supervisor recorded yet
  store.set_supervisor("exp_7_ffffffff", 99999999, std::nullopt);  // beyond pid_max: gone
  const Run run(ws, "exp_7_ffffffff");
  CHECK(run.get_status() == "Failed");
  CHECK_THAT(run.get_details()["error"]["error"]["message"].get<std::string>(),
             Catch::Contains("supervisor (pid 99999999) ended without finishing the run"));
}

TEST_CASE("child runs are numbered in submission order and listed with their parent",
          "[history][children]") {
  TempHome t;
  auto ws = Workspace::create("kids", "s", "r");
  RunStore store(ws);
  store.insert_run(record("sweep_1_00000001"), "2026-01-01T00:00:00.000Z");
  for (const char* id : {"sweep_1_00000001_0", "sweep_1_00000001_1", "sweep_1_00000001_2"}) {
    auto child = record(id);
    child.parent_run_id = "sweep_1_00000001";
    child.child_number = 41;  // ignored: the store numbers children
    store.insert_run(child, "2026-01-01T00:00:01.000Z");
  }
  store.insert_run(record("other_1_00000002"), "2026-01-01T00:00:02.000Z");
  const auto kids = store.children("sweep_1_00000001");
  REQUIRE(kids.size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(kids[static_cast<size_t>(i)].child_number == i);
    CHECK(kids[static_cast<size_t>(i)].parent_run_id == "sweep_1_00000001");
  }
  CHECK(kids[2].run_id == "sweep_1_00000001_2");
  CHECK(store.find("sweep_1_00000001")->parent_run_id.empty());
  CHECK(store.find("sweep_1_00000001")->child_number == -1);
  CHECK(store.children("other_1_00000002").empty());
  auto orphan = record("orphan_1_00000003");
  orphan.parent_run_id = "no_such_parent";
  CHECK_THROWS_WITH(store.insert_run(orphan, "2026-01-01T00:00:03.000Z"),
                    Catch::Contains("parent run 'no_such_parent' not found"));
  CHECK_FALSE(store.find("orphan_1_00000003"));
}

TEST_CASE("a database made by a newer amlemu is refused with its version, not used",
          "[history][schema]") {
  TempHome t;
  const auto state = Workspace::create("future", "s", "r").state_dir();
  detail::database(Workspace::open_state_dir(state)).exec("PRAGMA user_version=99");
  CHECK_THROWS_WITH(Workspace::open_state_dir(state),
                    Catch::Contains("has schema version 99 but this amlemu knows up to") &&
                        Catch::Contains("use the amlemu build that created it"));
}

TEST_CASE("statuses written together skip the ones a cancel made impossible",
          "[history][status]") {
  TempHome t;
  auto ws = Workspace::create("batch", "s", "r");
  RunStore store(ws);
  store.insert_run(record("exp_1_bbbbbbbb"), "2026-01-01T00:00:00.000Z");
  CHECK(store.set_statuses("exp_1_bbbbbbbb", {{"Preparing", "2026-01-01T00:00:01.000Z", nullptr},
                                              {"Queued", "2026-01-01T00:00:02.000Z", nullptr}}));
  CHECK(store.set_status("exp_1_bbbbbbbb", "CancelRequested", "2026-01-01T00:00:03.000Z"));
  // Running is refused after CancelRequested; Canceled, last, is recorded.
  CHECK(store.set_statuses("exp_1_bbbbbbbb", {{"Running", "2026-01-01T00:00:04.000Z", nullptr},
                                              {"Canceled", "2026-01-01T00:00:05.000Z", nullptr}}));
  std::vector<std::string> names, times;
  for (const auto& c : store.status_history("exp_1_bbbbbbbb")) {
    names.push_back(c.status);
    times.push_back(c.time);
  }
  CHECK(names == std::vector<std::string>{"NotStarted", "Starting", "Preparing", "Queued",
                                          "CancelRequested", "Canceled"});
  CHECK(times[2] == "2026-01-01T00:00:01.000Z");  // each keeps its own time
  CHECK(times[3] == "2026-01-01T00:00:02.000Z");
  CHECK_FALSE(store.set_statuses("exp_1_bbbbbbbb", {{"Running", "2026-01-01T00:00:06.000Z", nullptr}}));
}
