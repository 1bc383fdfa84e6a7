// End to end: the run engine's stages with real processes: environments built once, the log
// layout, streaming, live logs, read-only mounts, crashes.
#include <catch2/catch.hpp>
#include <regex>
#include <thread>

#include "e2e/cli.hpp"
#include "support/skip.hpp"

using namespace amlemu::testing;
using nlohmann::json;
namespace stdfs = std::filesystem;
using Catch::Contains;

namespace {

std::string spec(const TempHome& t, const std::string& name, const json& body) {
  return write_spec(t, name, "engine", body);
}

void set_up(const TempHome& t) { standard_workspace(t, "engine-ws"); }

std::vector<std::string> files_of(const TempHome& t, const std::string& run_id) {
  std::vector<std::string> out;
  const auto d = cli(t, {"job", "show", "--name", run_id}).json();
  for (const auto& [name, path] : d["logFiles"].items()) out.push_back(name);
  return out;
}

std::string log_text(const TempHome& t, const std::string& run_id, const std::string& prefix) {
  const auto d = cli(t, {"job", "show", "--name", run_id}).json();
  for (const auto& [name, path] : d["logFiles"].items()) {
    if (name.rfind(prefix, 0) == 0) return amlemu::fs::read_file(path.get<std::string>());
  }
  return "";
}

bool has_build_log(const TempHome& t, const std::string& run_id) {
  const auto f = files_of(t, run_id);
  return std::find(f.begin(), f.end(), "azureml-logs/20_image_build_log.txt") != f.end();
}

json numpy_env(const std::string& marker) {
  return {{"entry_script", "slow_ok.py"},
          {"pip_packages", {"numpy"}},
          {"environment_variables", {{"MARKER", marker}}}};
}

}  // namespace

TEST_CASE("a run's azureml-logs follow the service's layout", "[e2e][engine]") {
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         spec(t, "ok.json", {{"entry_script", "slow_ok.py"}, {"compute_target", "cpu-cluster"}})});
  REQUIRE(r.code == 0);
  const auto files = files_of(t, run_id_of(r));
  const std::regex node_log(R"(azureml-logs/(55_azureml-execution|65_job_prep|75_job_post)-tvmps_[0-9a-f]{64}_d\.txt)");
  CHECK(std::count_if(files.begin(), files.end(),
                      [&](const std::string& f) { return std::regex_match(f, node_log); }) == 3);
  for (const char* f : {"azureml-logs/70_driver_log.txt", "azureml-logs/process_info.json",
                        "azureml-logs/process_status.json"}) {
    CHECK(std::find(files.begin(), files.end(), f) != files.end());
  }
  const auto driver = log_text(t, run_id_of(r), "azureml-logs/70_driver_log.txt");
  CHECK(std::regex_search(driver, std::regex(R"(\[\d{4}-\d\d-\d\dT[\d:.]+\] The experiment completed successfully\. Finalizing run\.\.\.\n$)")));
  const auto exec = log_text(t, run_id_of(r), "azureml-logs/55_");
  CHECK_THAT(exec, Contains("IsDedicatedCompute == True, won't poll for Low Pri Preemption"));
  CHECK_THAT(exec, Contains("The vmsize standard_d2_v2 is not a GPU VM"));
  CHECK_THAT(log_text(t, run_id_of(r), "azureml-logs/75_"), Contains("Uploaded 1 files from ./outputs"));
  const auto status = json::parse(log_text(t, run_id_of(r), "azureml-logs/process_status.json"));
  CHECK(status["processes"][0]["exitCode"] == 0);
}

TEST_CASE("an environment is built once, reused, listed and removable", "[e2e][engine]") {
  TempHome t;
  set_up(t);
  const auto first = cli(t, {"job", "create", "--stream", "--file", spec(t, "a.json", numpy_env("cache"))});
  REQUIRE(first.code == 0);
  CHECK(has_build_log(t, run_id_of(first)));
  CHECK_THAT(log_text(t, run_id_of(first), "azureml-logs/20_"), Contains("from the base interpreter satisfies numpy"));
  CHECK_THAT(log_text(t, run_id_of(first), "azureml-logs/55_"), Contains(" built in "));

  const auto second = cli(t, {"job", "create", "--stream", "--file", spec(t, "a.json", numpy_env("cache"))});
  REQUIRE(second.code == 0);
  CHECK_FALSE(has_build_log(t, run_id_of(second)));
  CHECK_THAT(log_text(t, run_id_of(second), "azureml-logs/55_"), Contains("found in the cache, reused in"));

  const auto envs = cli(t, {"environment", "list", "-o", "json"}).json();
  REQUIRE(envs.size() == 1);
  CHECK(envs[0]["sizeBytes"].get<long long>() > 0);
  CHECK(envs[0]["specification"]["pipPackages"] == json::array({"numpy"}));
  CHECK_FALSE(envs[0]["lastUsedTime"].get<std::string>().empty());
  const std::string id = envs[0]["name"];
  CHECK(std::regex_match(id, std::regex("env-[0-9a-f]{20}")));

  REQUIRE(cli(t, {"environment", "delete", "--name", id}).code == 0);
  CHECK(cli(t, {"environment", "list"}).json().empty());
  const auto third = cli(t, {"job", "create", "--stream", "--file", spec(t, "a.json", numpy_env("cache"))});
  CHECK(has_build_log(t, run_id_of(third)));
  CHECK(cli(t, {"environment", "delete", "--name", "env-nosuch"}).code == 1);
}

TEST_CASE("an environment a running job uses cannot be deleted until the job ends", "[e2e][engine]") {
  TempHome t;
  set_up(t);
  const auto started = t.work() / "script.pid";
  auto body = numpy_env("in-use");
  body["entry_script"] = "sleep_long.py";
  body["script_params"] = {{"--pid-file", started.string()}};
  const auto r = cli(t, {"job", "create", "-o", "json", "--file", spec(t, "long.json", body)});
  REQUIRE(r.code == 0);
  const std::string run_id = r.json()["name"];
  for (int i = 0; i < 600 && !stdfs::exists(started); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(stdfs::exists(started));  // the script runs in the environment
  const auto envs = cli(t, {"environment", "list", "-o", "json"}).json();
  REQUIRE(envs.size() == 1);
  const std::string id = envs[0]["name"];

  const auto refused = cli(t, {"environment", "delete", "--name", id});
  CHECK(refused.code == 1);
  CHECK(refused.err == "error: Environment '" + id + "' is in use by a job that has not ended, "
                       "or is being built; delete it once the job ends\n");
  CHECK(cli(t, {"environment", "list", "-o", "json"}).json().size() == 1);

  REQUIRE(cli(t, {"job", "cancel", "--name", run_id}).code == 0);
  CHECK(wait_terminal(t, run_id)["status"] == "Canceled");
  CHECK(cli(t, {"environment", "delete", "--name", id}).code == 0);
  CHECK(cli(t, {"environment", "list", "-o", "json"}).json().empty());
}

TEST_CASE("two runs that need the same new environment build it once", "[e2e][engine]") {
  TempHome t;
  set_up(t);
  const auto a = cli(t, {"job", "create", "-o", "json", "--file", spec(t, "a.json", numpy_env("concurrent"))});
  const auto b = cli(t, {"job", "create", "-o", "json", "--file", spec(t, "b.json", numpy_env("concurrent"))});
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  const std::string ra = a.json()["name"], rb = b.json()["name"];
  CHECK(wait_terminal(t, ra)["status"] == "Completed");
  CHECK(wait_terminal(t, rb)["status"] == "Completed");
  CHECK(has_build_log(t, ra) + has_build_log(t, rb) == 1);
  CHECK(cli(t, {"environment", "list"}).json().size() == 1);
}

TEST_CASE("user_managed runs on the interpreter as it is, without a build", "[e2e][engine]") {
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         spec(t, "u.json", {{"entry_script", "slow_ok.py"}, {"user_managed", true}})});
  REQUIRE(r.code == 0);
  CHECK_FALSE(has_build_log(t, run_id_of(r)));
  CHECK_THAT(log_text(t, run_id_of(r), "azureml-logs/55_"), Contains("user_managed_dependencies"));
  CHECK(cli(t, {"environment", "list"}).json().empty());
}

TEST_CASE("an estimator's conda_packages are PyPI requirements, refused by name when they have none", "[e2e][engine]") {
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         spec(t, "c.json", {{"entry_script", "slow_ok.py"}, {"conda_packages", {"numpy>=1", "mkl"}}})});
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Contains("Preparing failed: conda package 'mkl' has no PyPI counterpart"));
  const auto ok = cli(t, {"job", "create", "--stream", "--file",
                          spec(t, "d.json", {{"entry_script", "slow_ok.py"}, {"conda_packages", {"numpy>=1"}}})});
  REQUIRE(ok.code == 0);
  CHECK_THAT(log_text(t, run_id_of(ok), "azureml-logs/20_"), Contains("from the base interpreter satisfies numpy>=1"));
}

TEST_CASE("job stream attaches to a finished run and to a running one", "[e2e][engine]") {
  TempHome t;
  set_up(t);
  const auto go = t.work() / "go";
  const auto r = cli(t, {"job", "create", "-o", "json", "--file",
                         spec(t, "l.json", {{"entry_script", "engine_logs.py"},
                                            {"script_params", {{"--go-file", go.string()}}}})});
  REQUIRE(r.code == 0);
  const std::string run_id = r.json()["name"];

  // ./logs reaches run history while the script is still running.
  bool seen_live = false;
  for (int i = 0; i < 100 && !seen_live; ++i) {
    const auto d = cli(t, {"job", "download", "--name", run_id, "--download-path", "live", "--prefix", "logs/"});
    seen_live = stdfs::exists(t.work() / "live" / "logs" / "progress.txt");
    if (!seen_live) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(seen_live);
  CHECK(cli(t, {"job", "show", "--name", run_id}).json()["status"] == "Running");

  // Attach while it runs: the stream shows what was printed before and after attaching.
  namespace bp = boost::process;
  const auto out_file = t.work() / "stream.out";
  bp::child streamer(bp::exe = AMLEMU_CLI, bp::args = {"job", "stream", "--name", run_id},
                     bp::start_dir = t.work().string(), bp::std_out > out_file.string(),
                     bp::std_err > bp::null);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  TempHome::write(go, "go");
  streamer.wait();
  const auto live = amlemu::fs::read_file(out_file);
  CHECK(streamer.exit_code() == 0);
  CHECK_THAT(live, Contains("progress written") && Contains("go file seen, finishing") &&
                       Contains("Execution Summary"));

  const auto again = cli(t, {"job", "stream", "--name", run_id});
  CHECK(again.code == 0);
  CHECK_THAT(again.out, Contains("Streaming azureml-logs/70_driver_log.txt") &&
                            Contains("progress written") && Contains("go file seen, finishing"));
}

TEST_CASE("a mounted datastore is read-only to the script", "[e2e][engine]") {
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         spec(t, "ro.json", {{"entry_script", "readonly_mount.py"},
                                             {"script_params", {{"--data-folder", {{"datastore", "workspaceblobstore"}, {"path_on_datastore", "nums"}}}}}})});
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("read 3 numbers") && Contains("read-only ok"));
  const auto ws_dir = t.home() / "workspaces" / "sub-1" / "rg-1" / "engine-ws";
  CHECK_FALSE(stdfs::exists(ws_dir / "datastores" / "workspaceblobstore" / "nums" / "written-by-run.txt"));
}

TEST_CASE("a script killed by a signal fails with the signal and its last lines", "[e2e][engine]") {
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--stream", "--file", spec(t, "k.json", {{"entry_script", "kill_self.py"}})});
  CHECK(r.code == 1);
  const auto show = cli(t, {"job", "show", "--name", run_id_of(r)}).json();
  CHECK(show["status"] == "Failed");
  CHECK(show["error"]["error"]["message"] == "User program was killed by signal 9 (Killed)");
  CHECK(show["error"]["error"]["exitCode"] == 137);
  CHECK_THAT(show["error"]["error"]["details"][0]["message"].get<std::string>(),
             Contains("line 2\nabout to die\n"));
}

TEST_CASE("the snapshot honours .amlignore and is shared by runs of the same folder", "[e2e][engine]") {
  TempHome t;
  set_up(t);
  const auto src = t.work() / "src";
  TempHome::write(src / ".amlignore", "big/\n*.tmp\n");
  TempHome::write(src / "keep.txt", "keep\n");
  TempHome::write(src / "scratch.tmp", "drop\n");
  TempHome::write(src / "big" / "data.bin", "drop\n");
  TempHome::write(src / "list.py",
                  "import os\n"
                  "print(sorted(os.path.relpath(os.path.join(d, f)) for d, _, fs in os.walk('.') "
                  "for f in fs if not f.startswith(('outputs', 'logs'))))\n");
  TempHome::write(t.work() / "ig.json",
                  json({{"experiment_name", "engine"}, {"source_directory", "src"},
                        {"entry_script", "list.py"}}).dump());
  const auto a = cli(t, {"job", "create", "--stream", "--file", "ig.json"});
  const auto b = cli(t, {"job", "create", "--stream", "--file", "ig.json"});
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  CHECK_THAT(a.out, Contains("['.amlignore', 'keep.txt', 'list.py']"));
  const auto da = cli(t, {"job", "show", "--name", run_id_of(a)}).json();
  const auto db = cli(t, {"job", "show", "--name", run_id_of(b)}).json();
  CHECK(da["properties"]["ContentSnapshotId"] == db["properties"]["ContentSnapshotId"]);
  CHECK(std::regex_match(da["properties"]["ContentSnapshotId"].get<std::string>(),
                         std::regex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")));
}

TEST_CASE("download mode copies the data to path_on_compute in the working folder", "[e2e][engine]") {
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         spec(t, "dl.json", {{"entry_script", "download_check.py"},
                                             {"script_params", {{"--data", {{"datastore", "workspaceblobstore"},
                                                                           {"path_on_datastore", "nums"},
                                                                           {"mode", "download"},
                                                                           {"path_on_compute", "local/nums"}}}}}})});
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("data at local/nums holds ['numbers.txt']") && Contains("wrote to the downloaded copy"));
  const auto ws_dir = t.home() / "workspaces" / "sub-1" / "rg-1" / "engine-ws";
  CHECK(amlemu::fs::read_file(ws_dir / "datastores" / "workspaceblobstore" / "nums" / "numbers.txt") == "1\n2\n3\n");
}

TEST_CASE("TensorFlow(framework_version) is satisfied by the interpreter's TensorFlow", "[e2e][engine][tf-real]") {
  namespace bp = boost::process;
  bp::ipstream out;
  bp::child probe(bp::search_path("python3"), "-c",
                  "import importlib.metadata as m\n"
                  "for d in ('tensorflow', 'tensorflow-cpu'):\n"
                  "    try: print('.'.join(m.version(d).split('.')[:2])); break\n"
                  "    except m.PackageNotFoundError: pass\n",
                  bp::std_out > out, bp::std_err > bp::null);
  std::string version;
  std::getline(out, version);
  probe.wait();
  AMLEMU_SKIP_UNLESS(!version.empty(), "TensorFlow for python3", kInstallDeps);
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         spec(t, "tfv.json", {{"entry_script", "slow_ok.py"}, {"estimator", "TensorFlow"},
                                              {"framework_version", version}})});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const auto build = log_text(t, run_id_of(r), "azureml-logs/20_");
  CHECK_THAT(build, Contains("from the base interpreter satisfies tensorflow==" + version + ".*"));
}
