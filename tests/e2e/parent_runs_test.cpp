// End to end: parent runs, whose "processes" are child runs submitted through the ordinary
// submission path, each with its own real supervisor.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "amlemu/experiment.hpp"
#include "amlemu/run.hpp"
#include "e2e/cli.hpp"

using namespace amlemu;
using namespace amlemu::testing;
using nlohmann::ordered_json;
using Catch::Contains;

namespace {

ordered_json child(const std::string& script, ordered_json params = ordered_json::object()) {
  ordered_json spec = {{"experiment_name", "parents"},
                       {"source_directory", AMLEMU_TEST_SCRIPTS},
                       {"entry_script", script},
                       {"script_params", params}};
  return spec;
}

ordered_json data_params() {
  return {{"--data-folder", {{"datastore", "workspaceblobstore"}, {"path_on_datastore", "nums"}}}};
}

std::string wait_for_end(const Run& run, int seconds = 120) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < until) {
    const auto s = run.get_status();
    if (RunStatus::is_terminal(s)) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return run.get_status();
}

}  // namespace

TEST_CASE("a parent run's children run as ordinary runs and roll up: one failure fails it",
          "[e2e][parent]") {
  TempHome t;
  standard_workspace(t, "parent-ws");
  const auto ws = Workspace::from_config(t.work());
  const Experiment exp(ws, "parents");
  const auto parent = exp.submit_parent(
      {child("train_ok.py", data_params()), child("train_fail.py"),
       child("train_ok.py", data_params())},
      t.work(), /*max_concurrent_runs=*/2);
  CHECK(wait_for_end(parent) == "Failed");
  const auto children = parent.get_children();
  REQUIRE(children.size() == 3);
  CHECK(children[0].get_status() == "Completed");
  CHECK(children[1].get_status() == "Failed");
  CHECK(children[2].get_status() == "Completed");  // a failure does not stop the others
  const auto d = parent.get_details();
  CHECK_THAT(d["error"]["error"]["message"].get<std::string>(),
             Contains("Child run " + children[1].id() + " failed: User program failed with "
                      "ValueError: bad learning rate"));
  CHECK(d["error"]["error"]["failedChildRun"] == children[1].id());
  std::vector<std::string> statuses;
  for (const auto& s : parent.get_status_history()) statuses.push_back(s.status);
  CHECK(statuses == std::vector<std::string>{"NotStarted", "Starting", "Running", "Failed"});
  // Children are runs of the parent's experiment, seen by job list like any other.
  CHECK(children[0].experiment_name() == "parents");
  const auto listed = cli(t, {"job", "list", "-o", "json"}).json();
  CHECK(listed.size() == 4);
}

TEST_CASE("canceling a parent run cancels its children together", "[e2e][parent]") {
  TempHome t;
  standard_workspace(t, "parent-cancel");
  const auto ws = Workspace::from_config(t.work());
  const Experiment exp(ws, "parents");
  const auto pid_a = (t.work() / "a.pid").string();
  const auto pid_b = (t.work() / "b.pid").string();
  const auto parent =
      exp.submit_parent({child("sleep_long.py", {{"--pid-file", pid_a}}),
                         child("sleep_long.py", {{"--pid-file", pid_b}})},
                        t.work());
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((!std::filesystem::exists(pid_a) || !std::filesystem::exists(pid_b)) &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(std::filesystem::exists(pid_a));
  REQUIRE(std::filesystem::exists(pid_b));
  parent.cancel();
  CHECK(wait_for_end(parent) == "Canceled");
  for (const auto& c : parent.get_children()) CHECK(c.get_status() == "Canceled");
}

TEST_CASE("a parent run with a bad child spec is refused before anything is written",
          "[e2e][parent]") {
  TempHome t;
  standard_workspace(t, "parent-bad");
  const auto ws = Workspace::from_config(t.work());
  const Experiment exp(ws, "parents");
  CHECK_THROWS_WITH(exp.submit_parent({child("train_ok.py", data_params()), child("missing.py")},
                                      t.work()),
                    Contains("missing.py"));
  CHECK(list_runs(ws).empty());
}
