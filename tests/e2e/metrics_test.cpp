// End to end: the metrics API from real scripts (tests/scripts/metrics_*.py), read back through
// `amlemu job metrics`, `job show` and `job download`, each test in a fresh $AMLEMU_HOME.
#include <catch2/catch.hpp>

#include <chrono>
#include <regex>
#include <thread>

#include "common/fs.hpp"
#include "common/paths.hpp"
#include "e2e/cli.hpp"

using namespace amlemu::testing;
using nlohmann::json;
namespace stdfs = std::filesystem;
using Catch::Contains;

namespace {

// A workspace; runs go to the `local` target.
void set_up(const TempHome& t) {
  t.write_config("metrics-ws");
  REQUIRE(cli(t, {"workspace", "create"}).code == 0);
}

std::string spec(const TempHome& t, const std::string& name, json body) {
  json doc = {{"experiment_name", "metrics"},
              {"source_directory", AMLEMU_TEST_SCRIPTS},
              {"compute_target", "local"}};
  doc.update(body);
  TempHome::write(t.work() / name, doc.dump(2));
  return name;
}

// The run id from the first line of a streamed `job create` ("RunId: <id>").
std::string streamed_run_id(const CliResult& r) {
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex("^RunId: (metrics_[0-9]+_[0-9a-f]{8})\n")));
  return m[1];
}

json metrics_of(const TempHome& t, const std::string& run_id) {
  const auto r = cli(t, {"job", "metrics", "--name", run_id, "-o", "json"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  return r.json();
}

void wait_for_file(const stdfs::path& file) {
  for (int i = 0; i < 600 && !stdfs::exists(file); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(stdfs::exists(file));
}

json series(int n) {
  json out = json::array();
  for (int i = 0; i < n; ++i) out.push_back(i);
  return out;
}

}  // namespace

TEST_CASE("every metric kind comes back from job metrics with the SDK's shapes and type rules",
          "[e2e][metrics]") {
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         spec(t, "kinds.json", {{"entry_script", "metrics_kinds.py"},
                                                {"environment_variables",
                                                 {{"AZUREML_METRICS_BATCH_SIZE", "7"}}}})});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const std::string run_id = streamed_run_id(r);
  // The repr fallback and the conflicting kind are reported on the script's stderr.
  CHECK_THAT(r.out, Contains("Converted key object of value {'k': 1} to {'k': 1}."));
  CHECK_THAT(r.out, Contains("Conflicting metric types, logged metric of type: azureml.v1.list "
                             "to name: mixed, expected metric type is azureml.v1.scalar"));

  auto metrics = metrics_of(t, run_id);
  const std::string prefix = "aml://artifactId/ExperimentRun/dcid." + run_id + "/";
  CHECK(metrics["roc"] == prefix + "outputs/roc.png");
  const std::string plot = metrics["plot"].get<std::string>();
  std::smatch m;
  REQUIRE(std::regex_match(plot, m, std::regex(std::regex_replace(prefix, std::regex("\\."), "\\.") +
                                               "(plot_[0-9]+\\.png)")));
  const std::string plot_file = m[1];
  CHECK(metrics["series"] == series(2500));

  const json expected = {
      // log: once a value, N times a list in order; numpy converted; others as repr
      {"batch", series(7)},
      {"accuracy", 0.5},
      {"loss", {3, 2, 1}},
      {"name", "resnet"},
      {"flag", true},
      {"nothing", nullptr},
      {"not_a_number", "NaN"},
      {"infinite", "-Infinity"},
      {"int64_min", INT64_MIN},
      {"uint64_max", UINT64_MAX},
      {"np_float", 0.5},
      {"np_int", 7},
      {"np_bool", false},
      {"np_str", "text"},
      {"object", "{'k': 1}"},
      {"stepped", 0.25},
      {"series", series(2500)},
      // log_list: always a list; calls concatenate
      {"losses", {3, 2, 1}},
      {"np_list", {0.5, 0.25}},
      {"two_calls", {1, 2, 3}},
      {"empty", json::array()},
      // log_row / log_table: one row gives values, more rows lists; missing cells are null
      {"one_row", {{"epoch", 1}, {"acc", 0.5}}},
      {"rows", {{"epoch", {1, 2, 3}}, {"acc", {0.5, 0.75, nullptr}}, {"note", {nullptr, nullptr, "late"}}}},
      {"table", {{"x", {1, 2, 3}}, {"y", {0.5, 0.25, 0.125}}}},
      {"one_row_table", {{"x", 1}, {"y", "a"}}},
      {"np_table", {{"x", {1, 2}}, {"y", {5.0, 5.0}}}},
      {"grown", {{"x", {0, 1, 2}}, {"y", {nullptr, 10, 20}}}},
      // log_image: the aml:// address of the image among the run's files
      {"roc", prefix + "outputs/roc.png"},
      {"plot", plot},
      // the first kind logged under a name wins
      {"mixed", 1},
  };
  CHECK(metrics == expected);
  for (auto it = expected.begin(); it != expected.end(); ++it) {
    INFO(it.key());
    CHECK(metrics[it.key()] == it.value());
  }
  CHECK(cli(t, {"job", "metrics", "--name", run_id, "--metric", "rows"}).json() ==
        json({{"rows", expected["rows"]}}));

  // What the script saw: Python's get_metrics() has exactly the shapes of `job metrics`.
  REQUIRE(cli(t, {"job", "download", "--name", run_id, "--download-path", "dl"}).code == 0);
  const auto dl = t.work() / "dl";
  CHECK(json::parse(amlemu::fs::read_file(dl / "outputs" / "py_metrics.json")) == metrics);
  const auto checks = json::parse(amlemu::fs::read_file(dl / "outputs" / "checks.json"));
  INFO(checks.dump(2));
  CHECK(checks["batch_after_6"] == 0);  // AZUREML_METRICS_BATCH_SIZE=7
  CHECK(checks["batch_after_7"] == 7);
  CHECK(checks["sigterm_handler_installed"] == true);
  CHECK(checks["too_big"] == json({"AzureMLException",
                                   "Number size of <class 'int'> is larger than the max size of 64 "
                                   "bits: 18446744073709551616"}));
  CHECK(checks["too_small"][0] == "AzureMLException");
  CHECK(checks["list_too_big"][0] == "AzureMLException");
  CHECK(checks["list_of_dicts"][0] == "AzureMLException");
  CHECK(checks["uneven"] == json({"InvalidColumnLength",
                                  "Columns must have the same length, column a had length 2, "
                                  "however, column b had length 1."}));
  CHECK(checks["uneven_is_azureml"] == true);
  CHECK(checks["row_with_list"] ==
        json({"AzureMLException", "Rows cannot contain list values, column x contains a list."}));
  CHECK(checks["table_not_dict"][0] == "AzureMLException");
  CHECK(checks["image_not_image"][0] == "AzureMLException");
  CHECK(checks["image_both"][0] == "UserErrorException");
  CHECK(checks["image_neither"][0] == "UserErrorException");
  CHECK(checks["nan_is_float"] == true);
  CHECK(checks["one_metric"] == json({{"loss", {3, 2, 1}}}));
  CHECK(checks["status"] == "Running");

  // Tags (as the script read them back) and properties (also in job show).
  CHECK(checks["tags"] == json({{"quality", ""}, {"epochs", "10"}, {"b", "2"}}));
  CHECK(checks["property_change"][0] == "UserErrorException");
  CHECK_THAT(checks["property_change"][1].get<std::string>(), Contains("immutable"));
  CHECK(checks["properties"]["framework"] == "numpy");
  CHECK(checks["properties"]["seed"] == "42");
  CHECK(checks["properties"].contains("ContentSnapshotId"));
  const auto show = cli(t, {"job", "show", "--name", run_id, "-o", "json"}).json();
  CHECK(show["status"] == "Completed");
  CHECK(show["properties"]["framework"] == "numpy");
  CHECK(show["properties"]["seed"] == "42");

  // Files: uploaded ones and images are run files while the script runs, and downloadable.
  CHECK(checks["file_names"] == json({"extra/readme.txt", "outputs/roc.png",
                                      "outputs/uploaded/model.bin", plot_file}));
  CHECK(checks["upload_conflict"] ==
        json({"AzureMLException", "Resource Conflict: ArtifactId ExperimentRun/dcid." + run_id +
                                      "/extra/readme.txt already exists."}));
  CHECK(checks["upload_outside"][0] == "UserErrorException");
  CHECK(amlemu::fs::read_file(dl / "extra" / "readme.txt") == "uploaded from a stream");
  CHECK(amlemu::fs::read_file(dl / "outputs" / "uploaded" / "model.bin") == "weights");
  CHECK(amlemu::fs::read_file(dl / plot_file).rfind("\x89PNG\r\n\x1a\n", 0) == 0);
  CHECK(stdfs::exists(dl / "outputs" / "roc.png"));
}

TEST_CASE("metrics logged just before an uncaught exception are recorded", "[e2e][metrics]") {
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         spec(t, "raise.json", {{"entry_script", "metrics_raise.py"}})});
  INFO(r.out << r.err);
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Contains("RuntimeError: diverged after epoch 2"));
  const std::string run_id = streamed_run_id(r);
  CHECK(cli(t, {"job", "show", "--name", run_id}).json()["status"] == "Failed");
  CHECK(metrics_of(t, run_id) == json({{"own_handler_kept", true},
                                       {"loss", {1.0, 0.5, 1.0 / 3}},
                                       {"progress", {{"epoch", 2}, {"done", false}}}}));
}

TEST_CASE("a value logged once shows up while the script is still running", "[e2e][metrics]") {
  TempHome t;
  set_up(t);
  const auto marker = t.work() / "logged.marker";
  const auto r = cli(t, {"job", "create", "-o", "json", "--file",
                         spec(t, "sleep.json", {{"entry_script", "metrics_sleep.py"},
                                                {"script_params",
                                                 {{"--marker", marker.string()},
                                                  {"--seconds", 2.5}}}})});
  REQUIRE(r.code == 0);
  const std::string run_id = r.json()["name"];
  wait_for_file(marker);  // the script has logged and now sleeps 2.5 s
  json metrics;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  do {
    metrics = metrics_of(t, run_id);
    if (metrics.contains("early")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < deadline);
  CHECK(metrics == json({{"early", 1}, {"early_list", {1, 2}}}));
  CHECK(wait_terminal(t, run_id)["status"] == "Completed");
}

TEST_CASE("a canceled run keeps the metrics logged before SIGTERM", "[e2e][metrics]") {
  TempHome t;
  set_up(t);
  const auto marker = t.work() / "logged.marker";
  // --timer off: only the SIGTERM handler can write the values.
  const auto r = cli(t, {"job", "create", "-o", "json", "--file",
                         spec(t, "cancel.json", {{"entry_script", "metrics_sleep.py"},
                                                 {"script_params",
                                                  {{"--marker", marker.string()},
                                                   {"--seconds", 60},
                                                   {"--timer", "off"}}}})});
  REQUIRE(r.code == 0);
  const std::string run_id = r.json()["name"];
  wait_for_file(marker);
  CHECK(metrics_of(t, run_id).empty());  // nothing written yet
  REQUIRE(cli(t, {"job", "cancel", "--name", run_id}).code == 0);
  CHECK(wait_terminal(t, run_id)["status"] == "Canceled");
  CHECK(metrics_of(t, run_id) == json({{"early", 1}, {"early_list", {1, 2}}}));
}

TEST_CASE("outside a run, every metrics call prints what it would have logged", "[e2e][metrics]") {
  TempHome t;
  ::setenv("PYTHONPATH", (amlemu::share_dir() / "python").c_str(), 1);
  const auto r = run_program("/usr/bin/env",
                             {"python3", std::string(AMLEMU_TEST_SCRIPTS) + "/metrics_offline.py"},
                             t.work());
  ::unsetenv("PYTHONPATH");
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.out ==
        "OfflineRun\n"
        "Attempted to log scalar metric accuracy:\n0.5\n"
        "Attempted to log list metric losses:\n[3, 2, 1]\n"
        "Attempted to log row metric roc:\n{'fpr': 0.1, 'tpr': 0.8}\n"
        "Attempted to log table metric table:\n{'x': [1, 2]}\n"
        "Attempted to log image metric plot:\nroc.png\n"
        "Attempted to track file outputs/model.bin at model.bin\n"
        "Attempted to set tag quality:\ngood\n"
        "Attempted to set tags:\n{'a': '1'}\n"
        "Attempted to remove tags:\n['a']\n"
        "Attempted to add properties:\n{'seed': 42}\n"
        "{'quality': 'good'} {'seed': '42'}\n");
}
