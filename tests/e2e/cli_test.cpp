// End to end: the real CLI, the detached supervisor and real Python scripts, each test in a
// fresh $AMLEMU_HOME.
#include <catch2/catch.hpp>
#include <signal.h>

#include <regex>
#include <thread>

#include "common/paths.hpp"
#include "e2e/cli.hpp"

using namespace amlemu::testing;
using nlohmann::json;
namespace stdfs = std::filesystem;
using Catch::Contains;

namespace {

std::string spec(const TempHome& t, const std::string& name, const json& body) {
  return write_spec(t, name, "e2e", body);
}

void set_up(const TempHome& t) { standard_workspace(t, "e2e-ws"); }

json ok_spec_body() {
  return {{"entry_script", "train_ok.py"},
          {"script_params",
           {{"--data-folder", {{"datastore", "workspaceblobstore"}, {"path_on_datastore", "nums"}}},
            {"--learning-rate", 0.01}}},
          {"compute_target", "cpu-cluster"},
          {"environment_variables", {{"EXAMPLE", "1"}}}};
}

}  // namespace

TEST_CASE("train, stream, inspect, download and register through the CLI", "[e2e]") {
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--file", spec(t, "ok.json", ok_spec_body()), "--stream"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  // The SDK's console framing.
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex("^RunId: (e2e_[0-9]+_[0-9a-f]{8})\n")));
  const std::string run_id = m[1];
  CHECK_THAT(r.out, Contains("\nStreaming azureml-logs/70_driver_log.txt\n"
                             "========================================\n\n"));
  CHECK_THAT(r.out, Contains("sum of numbers: 6"));
  CHECK_THAT(r.out, Contains("The experiment completed successfully. Finalizing run..."));
  CHECK_THAT(r.out, Catch::EndsWith("\nExecution Summary\n=================\nRunId: " + run_id + "\n\n"));

  const auto show = cli(t, {"job", "show", "--name", run_id, "-o", "json"}).json();
  CHECK(show["status"] == "Completed");
  std::vector<std::string> statuses;
  for (const auto& s : show["statusHistory"]) statuses.push_back(s["status"]);
  CHECK(statuses == std::vector<std::string>{"NotStarted", "Starting", "Preparing", "Queued",
                                             "Running", "Finalizing", "Completed"});
  CHECK(show["runDefinition"]["arguments"][1] ==
        "$AZUREML_DATAREFERENCE_" + show["runDefinition"]["dataReferences"].begin().key());
  CHECK(show["target"] == "cpu-cluster");

  const auto metrics = cli(t, {"job", "metrics", "--name", run_id, "-o", "json"}).json();
  CHECK(metrics["accuracy"] == json::array({0.5, 0.6, 0.7}));
  CHECK(metrics["final_acc"] == 0.9);
  CHECK(metrics["data_sum"] == 6);
  CHECK(metrics["losses"] == json::array({3, 2, 1}));

  const auto dl = cli(t, {"job", "download", "--name", run_id, "--download-path", "dl",
                             "--prefix", "outputs/"});
  CHECK(dl.code == 0);
  CHECK(amlemu::fs::read_file(t.work() / "dl" / "outputs" / "model" / "weights.txt") == "lr=0.01\n");
  CHECK_FALSE(stdfs::exists(t.work() / "dl" / "logs"));
  const auto env = json::parse(amlemu::fs::read_file(t.work() / "dl" / "outputs" / "env.json"));
  CHECK(env["AZUREML_RUN_ID"] == run_id);
  CHECK(env["AZUREML_ARM_PROJECT_NAME"] == "e2e");
  CHECK(env["AZUREML_ARM_WORKSPACE_NAME"] == "e2e-ws");
  CHECK(env["EXAMPLE"] == "1");
  for (const char* v : {"AZUREML_EXPERIMENT_ID", "AZUREML_WORKSPACE_ID", "AZUREML_ARM_SUBSCRIPTION",
                        "AZUREML_ARM_RESOURCEGROUP", "AZUREML_RUN_TOKEN"}) {
    CHECK_FALSE(env.value(v, "").empty());
  }
  CHECK(env.contains("AZUREML_DATAREFERENCE_" + show["runDefinition"]["dataReferences"].begin().key()));

  cli(t, {"job", "download", "--name", run_id, "--download-path", "all"});
  CHECK(stdfs::exists(t.work() / "all" / "logs" / "extra.txt"));
  CHECK(stdfs::exists(t.work() / "all" / "azureml-logs" / "70_driver_log.txt"));

  const auto m1 = cli(t, {"model", "create", "--name", "e2e-model", "--run", run_id, "--path",
                             "outputs/model", "-o", "json"});
  REQUIRE(m1.code == 0);
  CHECK(m1.json()["id"] == "e2e-model:1");
  CHECK(m1.json()["runId"] == run_id);
  CHECK(cli(t, {"model", "create", "--name", "e2e-model", "--run", run_id, "--path",
                   "outputs/model"}).json()["version"] == 2);
  const auto missing = cli(t, {"model", "create", "--name", "e2e-model", "--run", run_id,
                                  "--path", "outputs/nothing"});
  CHECK(missing.code == 1);
  CHECK_THAT(missing.err, Contains("Could not locate the provided model_path outputs/nothing"));
  const auto list = cli(t, {"model", "list", "-o", "json"}).json();
  CHECK(list.size() == 2);
  CHECK(cli(t, {"model", "download", "--name", "e2e-model", "--version", "1",
                   "--download-path", "models"}).code == 0);
  CHECK(amlemu::fs::read_file(t.work() / "models" / "model" / "weights.txt") == "lr=0.01\n");
  const auto jobs = cli(t, {"job", "list", "-o", "json"}).json();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0]["name"] == run_id);
}

TEST_CASE("a failing entry script gives a Failed run with its error in the log and job show",
          "[e2e]") {
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--file",
                            spec(t, "fail.json", {{"entry_script", "train_fail.py"}}), "--stream"});
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Contains("starting training"));
  CHECK_THAT(r.out, Contains("ValueError: bad learning rate"));
  CHECK_THAT(r.out, Contains("\nError:\n{\n    \"error\": {"));
  CHECK_THAT(r.out, Contains("\"message\": \"User program failed with ValueError: bad learning rate\""));
  const std::string run_id = run_id_of(r);
  const auto show = cli(t, {"job", "show", "--name", run_id}).json();
  CHECK(show["status"] == "Failed");
  CHECK(show["error"]["error"]["message"] == "User program failed with ValueError: bad learning rate");
  const auto log = amlemu::fs::read_file(show["logFiles"]["azureml-logs/70_driver_log.txt"].get<std::string>());
  CHECK_THAT(log, Contains("Traceback (most recent call last):"));
}

TEST_CASE("bad input gives a one-line error naming the problem and records nothing", "[e2e]") {
  TempHome t;
  set_up(t);
  TempHome::write(t.work() / "notjson.json", "{oops");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"job", "create", "--file", spec(t, "a.json", {{"entry_script", "missing.py"}})},
       "entry_script 'missing.py' not found in source_directory"},
      {{"job", "create", "--file", spec(t, "b.json", {{"entry_script", "train_ok.py"}, {"nodes", 2}})},
       "b.json: nodes: unknown key"},
      {{"job", "create", "--file", spec(t, "c.json", {{"entry_script", "train_ok.py"}, {"node_count", "two"}})},
       "node_count: must be an integer, got string"},
      {{"job", "create", "--file", spec(t, "d.json", {{"entry_script", "train_ok.py"}, {"compute_target", "nosuch"}})},
       "Compute target with name 'nosuch' not found"},
      {{"job", "create", "--file", spec(t, "e.json", {{"entry_script", "train_ok.py"}, {"compute_target", "cpu-cluster"}, {"node_count", 3}})},
       "node_count 3 is above max_nodes 2"},
      {{"job", "create", "--file", "notjson.json"}, "notjson.json: not valid JSON"},
      {{"job", "create", "--file", "absent.json"}, "spec file not found: absent.json"},
      {{"model", "create", "--name", "bad name!", "--path", "data"}, "Error, provided model name is invalid."},
      {{"compute", "create", "--name", "c2", "--size", "STANDARD_NC7", "--max-instances", "1"},
       "vm_size 'STANDARD_NC7' is not a supported VM size"},
      {{"job", "show", "--name", "nope_1_00000000"}, "Run 'nope_1_00000000' not found"},
      {{"datastore", "upload", "--src-dir", "data", "--target-path", "../out"}, "target_path '../out'"},
      {{"model", "download", "--name", "nosuch", "--download-path", "x"}, "ModelNotFound"},
  };
  for (const auto& c : cases) {
    const auto r = cli(t, c.args);
    INFO(c.args[0] << " " << c.args[1] << ": " << r.err);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains(c.message));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.out.empty());
  }
  CHECK(cli(t, {"job", "list"}).json().empty());
  CHECK(cli(t, {"model", "list"}).json().empty());
  CHECK(cli(t, {"compute", "list"}).json().size() == 1);
  CHECK(cli(t, {"job", "nonsense"}).code == 2);  // usage errors
}

TEST_CASE("a run outlives the command that submitted it", "[e2e]") {
  TempHome t;
  set_up(t);
  const auto started = std::chrono::steady_clock::now();
  const auto r = cli(t, {"job", "create", "--file",
                            spec(t, "slow.json", {{"entry_script", "slow_ok.py"}}), "-o", "json"});
  const auto took = std::chrono::steady_clock::now() - started;
  REQUIRE(r.code == 0);
  const auto created = r.json();
  CHECK(created["status"] != "Completed");  // the script sleeps 1.5 s; submission returned first
  CHECK(took < std::chrono::milliseconds(1500));
  const auto done = wait_terminal(t, created["name"]);
  CHECK(done["status"] == "Completed");
  const auto files = cli(t, {"job", "download", "--name", created["name"], "--download-path", "o"});
  CHECK(amlemu::fs::read_file(t.work() / "o" / "outputs" / "done.txt") == "done\n");
}

TEST_CASE("two workspaces never share state", "[e2e]") {
  TempHome t;
  set_up(t);
  const auto other = t.work() / "other";
  t.write_config("other-ws", other);
  REQUIRE(run_program(AMLEMU_CLI, {"workspace", "create"}, other).code == 0);
  REQUIRE(cli(t, {"job", "create", "--file",
                     spec(t, "s.json", {{"entry_script", "slow_ok.py"}}), "--stream"}).code == 0);
  CHECK(cli(t, {"job", "list"}).json().size() == 1);
  CHECK(run_program(AMLEMU_CLI, {"job", "list"}, other).json().empty());
  CHECK(run_program(AMLEMU_CLI, {"compute", "list"}, other).json().empty());
  CHECK(run_program(AMLEMU_CLI, {"--config", (t.work() / "config.json").string(), "job", "list"}, other)
            .json().size() == 1);
}

TEST_CASE("outside a run, Run.get_context() is the SDK's offline run", "[e2e]") {
  TempHome t;
  ::setenv("PYTHONPATH", (amlemu::share_dir() / "python").c_str(), 1);
  const auto r = run_program("/usr/bin/env", {"python3", std::string(AMLEMU_TEST_SCRIPTS) + "/offline.py"}, t.work());
  ::unsetenv("PYTHONPATH");
  CHECK(r.code == 0);
  CHECK(r.out == "OfflineRun\nAttempted to log scalar metric accuracy:\n0.5\n");
}

namespace {
// Waits until the script has written its pid file; returns the pid.
pid_t wait_for_pid(const stdfs::path& file) {
  for (int i = 0; i < 300 && !stdfs::exists(file); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(stdfs::exists(file));
  return static_cast<pid_t>(std::stol(amlemu::fs::read_file(file)));
}

bool gone(pid_t pid) {
  for (int i = 0; i < 100; ++i) {
    if (::kill(pid, 0) != 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}
}  // namespace

TEST_CASE("job cancel ends the script and the run is Canceled", "[e2e]") {
  TempHome t;
  set_up(t);
  const auto pid_file = t.work() / "script.pid";
  const auto r = cli(t, {"job", "create", "-o", "json", "--file",
                         spec(t, "long.json", {{"entry_script", "sleep_long.py"},
                                               {"script_params", {{"--pid-file", pid_file.string()}}}})});
  REQUIRE(r.code == 0);
  const std::string run_id = r.json()["name"];
  const pid_t pid = wait_for_pid(pid_file);
  CHECK(cli(t, {"job", "cancel", "--name", run_id}).code == 0);
  const auto done = wait_terminal(t, run_id);
  CHECK(done["status"] == "Canceled");
  std::vector<std::string> statuses;
  for (const auto& s : done["statusHistory"]) statuses.push_back(s["status"]);
  CHECK(statuses[statuses.size() - 2] == "CancelRequested");
  CHECK(gone(pid));
}

TEST_CASE("a run over max_run_duration_seconds is canceled and says why", "[e2e]") {
  TempHome t;
  set_up(t);
  const auto pid_file = t.work() / "script.pid";
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         spec(t, "limit.json", {{"entry_script", "sleep_long.py"},
                                                {"max_run_duration_seconds", 1},
                                                {"script_params", {{"--pid-file", pid_file.string()}}}})});
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Contains("The run exceeded max_run_duration_seconds (1 s) and was canceled"));
  CHECK(gone(wait_for_pid(pid_file)));
  const std::string run_id = run_id_of(r);
  const auto show = cli(t, {"job", "show", "--name", run_id}).json();
  CHECK(show["status"] == "Canceled");
  const auto& h = show["statusHistory"];
  CHECK(h[h.size() - 2]["status"] == "CancelRequested");
}

TEST_CASE("a pip package that cannot be installed offline fails the run in Preparing", "[e2e]") {
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         spec(t, "pip.json", {{"entry_script", "train_ok.py"},
                                              {"pip_packages", {"numpy", "amlemu-no-such-package==1.0"}}})});
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Contains("Preparing failed: installing pip packages failed: ") &&
                        Contains("amlemu-no-such-package"));
  const std::string run_id = run_id_of(r);
  const auto show = cli(t, {"job", "show", "--name", run_id}).json();
  CHECK(show["status"] == "Failed");
  const auto& h = show["statusHistory"];
  CHECK(h[h.size() - 2]["status"] == "Preparing");
  const auto build_log = amlemu::fs::read_file(show["logFiles"]["azureml-logs/20_image_build_log.txt"].get<std::string>());
  CHECK_THAT(build_log, Contains("amlemu-no-such-package==1.0"));
  CHECK(cli(t, {"environment", "list"}).json().empty());  // no half environment is kept
}

TEST_CASE("job list of one experiment gives its newest runs, at most --max-results", "[e2e]") {
  TempHome t;
  set_up(t);
  std::vector<std::string> ids;
  for (const char* experiment : {"first", "second", "first", "first"}) {
    const auto r = cli(t, {"job", "create", "-o", "json", "--experiment-name", experiment,
                           "--file", spec(t, "q.json", {{"entry_script", "offline.py"}})});
    REQUIRE(r.code == 0);
    ids.push_back(r.json()["name"]);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // distinct creation times
  }
  const auto rows = cli(t, {"job", "list", "--experiment-name", "first", "--max-results", "2"}).json();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0]["name"] == ids[3]);
  CHECK(rows[1]["name"] == ids[2]);
  CHECK(cli(t, {"job", "list", "--experiment-name", "first"}).json().size() == 3);
  CHECK(cli(t, {"job", "list", "--experiment-name", "second"}).json().size() == 1);
  for (const auto& id : ids) wait_terminal(t, id);
}

TEST_CASE("the top-level help lists every command group, and a misspelt group is a usage error", "[e2e]") {
  TempHome t;
  // A command line that names a group builds that group's parser alone; any other builds all.
  const auto help = cli(t, {"--help"});
  CHECK(help.code == 0);
  for (const char* group : {"workspace", "datastore", "compute", "job", "model", "environment",
                            "gpu", "data", "mirror", "serve", "env", "online-endpoint",
                            "online-deployment"}) {
    CHECK_THAT(help.out, Contains(std::string("  ") + group));
  }
  const auto group_help = cli(t, {"job", "--help"});
  CHECK(group_help.code == 0);
  CHECK_THAT(group_help.out, Contains("create"));
  const auto wrong = cli(t, {"jobs", "list"});
  CHECK(wrong.code == 2);
  CHECK_THAT(wrong.err, Contains("subcommand"));
}
