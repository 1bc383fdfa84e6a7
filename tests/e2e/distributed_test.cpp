// End to end: distributed runs with real processes: mpirun across emulated hosts with mpi4py,
// TF_CONFIG read back by every task, PyTorch variables, fail-fast, cancel, real TensorFlow.
#include <signal.h>

#include <catch2/catch.hpp>
#include <regex>
#include <set>
#include <thread>

#include "e2e/cli.hpp"
#include "support/skip.hpp"

using namespace amlemu::testing;
using nlohmann::json;
namespace stdfs = std::filesystem;
using Catch::Contains;

namespace {

std::string spec(const TempHome& t, const std::string& name, const std::string& script,
                 int nodes, json distributed, json params = json::object()) {
  json doc = {{"experiment_name", "dist"}, {"source_directory", AMLEMU_TEST_SCRIPTS},
              {"entry_script", script}, {"compute_target", "cluster"}, {"user_managed", true},
              {"node_count", nodes}, {"distributed_training", distributed},
              {"script_params", params}};
  TempHome::write(t.work() / name, doc.dump(2));
  return name;
}

void set_up(const TempHome& t) {
  t.write_config("dist-ws");
  REQUIRE(cli(t, {"workspace", "create"}).code == 0);
  REQUIRE(cli(t, {"compute", "create", "--name", "cluster", "--size", "STANDARD_D2_V2",
                  "--max-instances", "2"}).code == 0);
}

json outputs(const TempHome& t, const std::string& run_id, const std::string& prefix) {
  const auto dir = t.work() / ("dl-" + run_id);
  cli(t, {"job", "download", "--name", run_id, "--download-path", dir.string(), "--prefix", "outputs/"});
  json all = json::object();
  for (const auto& f : amlemu::fs::list_files(dir / "outputs")) {
    if (f.rfind(prefix, 0) == 0) all[f] = json::parse(amlemu::fs::read_file(dir / "outputs" / f));
  }
  return all;
}

std::vector<std::string> log_names(const TempHome& t, const std::string& run_id) {
  std::vector<std::string> out;
  const auto details = cli(t, {"job", "show", "--name", run_id}).json();
  for (const auto& [k, v] : details["logFiles"].items()) out.push_back(k);
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool tensorflow_installed() {
  return std::system("python3 -c 'import tensorflow' >/dev/null 2>&1") == 0;
}

}  // namespace

TEST_CASE("mpi4py allreduce on 2 nodes x 2 processes through real mpirun", "[e2e][distributed][mpi]") {
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         spec(t, "mpi.json", "mpi_allreduce.py", 2, {{"type", "mpi"}, {"process_count_per_node", 2}})});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("Streaming azureml-logs/70_driver_log_0.txt"));
  const auto ranks = outputs(t, run_id_of(r), "rank_");
  REQUIRE(ranks.size() == 4);
  std::set<std::string> addresses, cwds;
  for (const auto& [name, info] : ranks.items()) {
    CHECK(info["sum"] == 10);
    CHECK(info["size"] == 4);
    CHECK(info["local_size"] == 2);
    CHECK(info["shared_size"] == 2);  // MPI groups 2 ranks per emulated host
    CHECK(info["affinity"].size() == 2);
    addresses.insert(info["address"]);
    cwds.insert(info["cwd"]);
    CHECK_THAT(info["master"].get<std::string>(), Catch::EndsWith(":6105"));
  }
  CHECK(addresses.size() == 2);
  CHECK(cwds.size() == 2);  // each node has its own working folder
  const auto logs = log_names(t, run_id_of(r));
  for (const char* f : {"azureml-logs/70_mpi_log.txt", "azureml-logs/70_driver_log_0.txt",
                        "azureml-logs/70_driver_log_3.txt"}) {
    CHECK(has(logs, f));
  }
  CHECK(std::count_if(logs.begin(), logs.end(), [](const std::string& f) {
          return f.rfind("azureml-logs/55_azureml-execution-", 0) == 0;
        }) == 2);
}

TEST_CASE("one MPI rank crashing fails the whole run fast and names the rank", "[e2e][distributed][mpi]") {
  TempHome t;
  set_up(t);
  const auto started = std::chrono::steady_clock::now();
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         spec(t, "crash.json", "mpi_crash.py", 2, {{"type", "mpi"}})});
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(r.code == 1);
  CHECK(took < std::chrono::seconds(30));  // the other rank sleeps 60 s unless ended
  const auto show = cli(t, {"job", "show", "--name", run_id_of(r)}).json();
  CHECK(show["status"] == "Failed");
  CHECK(show["error"]["error"]["message"] ==
        "User program failed with ValueError: rank one is broken (rank 1 failed first)");
  CHECK_THAT(show["error"]["error"]["details"][0]["message"].get<std::string>(),
             Contains("rank one is broken"));
}

TEST_CASE("cancel ends every process of every node", "[e2e][distributed][mpi]") {
  TempHome t;
  set_up(t);
  const auto pids = t.work() / "pids";
  stdfs::create_directories(pids);
  const auto r = cli(t, {"job", "create", "-o", "json", "--file",
                         spec(t, "c.json", "sleep_ranked.py", 2, {{"type", "mpi"}, {"process_count_per_node", 2}},
                              {{"--pid-dir", pids.string()}})});
  REQUIRE(r.code == 0);
  const std::string run_id = r.json()["name"];
  for (int i = 0; i < 400 && amlemu::fs::list_files(pids).size() < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto files = amlemu::fs::list_files(pids);
  REQUIRE(files.size() == 4);
  CHECK(cli(t, {"job", "cancel", "--name", run_id}).code == 0);
  CHECK(wait_terminal(t, run_id)["status"] == "Canceled");
  for (const auto& f : files) {
    const pid_t pid = static_cast<pid_t>(std::stol(amlemu::fs::read_file(pids / f)));
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      gone = ::kill(pid, 0) != 0;
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(gone);
  }
}

TEST_CASE("every TensorFlow task reads its TF_CONFIG and the ps is ended by the platform", "[e2e][distributed][tensorflow]") {
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         spec(t, "tf.json", "tf_config_echo.py", 2,
                              {{"type", "tensorflow"}, {"worker_count", 2}, {"parameter_server_count", 1}})});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const auto tasks = outputs(t, run_id_of(r), "tf_");
  REQUIRE(tasks.size() == 3);
  const auto& ps = tasks["tf_ps_0.json"];
  const auto& w0 = tasks["tf_worker_0.json"];
  const auto& w1 = tasks["tf_worker_1.json"];
  const std::string a = ps["address"], b = w1["address"];
  CHECK(a != b);
  CHECK(w0["address"] == a);
  // Azure's placement; on one machine the second host's worker moves to the next free port.
  const json cluster = {{"ps", {a + ":2222"}}, {"worker", {a + ":2223", b + ":2224"}}};
  CHECK(ps["TF_CONFIG"] == json({{"cluster", cluster}, {"task", {{"type", "ps"}, {"index", 0}}}, {"environment", "cloud"}}));
  CHECK(w1["TF_CONFIG"] == json({{"cluster", cluster}, {"task", {{"type", "worker"}, {"index", 1}}}, {"environment", "cloud"}}));
  CHECK_THAT(r.out, Contains("Streaming azureml-logs/70_driver_log_worker_0.txt"));
  const auto show = cli(t, {"job", "show", "--name", run_id_of(r)}).json();
  const auto status = json::parse(amlemu::fs::read_file(show["logFiles"]["azureml-logs/process_status.json"].get<std::string>()));
  for (const auto& p : status["processes"]) {
    CHECK(p["status"] == (p["name"] == "ps 0" ? "Stopped" : "Completed"));
  }
}

TEST_CASE("process_status.json records when each process ended", "[e2e][distributed][pytorch]") {
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         spec(t, "pt.json", "staggered_exit.py", 1, {{"type", "pytorch"}, {"process_count_per_node", 2}})});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const auto show = cli(t, {"job", "show", "--name", run_id_of(r)}).json();
  const auto status = json::parse(amlemu::fs::read_file(show["logFiles"]["azureml-logs/process_status.json"].get<std::string>()));
  REQUIRE(status["processes"].size() == 2);
  const auto& first = status["processes"][0];
  const auto& second = status["processes"][1];
  INFO(status.dump(2));
  CHECK(first["startTime"] == second["startTime"]);
  // Rank 1 ends half a second after rank 0 (ISO 8601 times of one format sort as text).
  CHECK(first["endTime"].get<std::string>() < second["endTime"].get<std::string>());
  CHECK(first["startTime"].get<std::string>() < first["endTime"].get<std::string>());
}

TEST_CASE("PyTorch processes get the launch variables", "[e2e][distributed][pytorch]") {
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         spec(t, "pt.json", "torch_env.py", 2, {{"type", "pytorch"}, {"process_count_per_node", 2}})});
  REQUIRE(r.code == 0);
  const auto procs = outputs(t, run_id_of(r), "torch_");
  REQUIRE(procs.size() == 4);
  const std::string master = procs["torch_0.json"]["address"];
  // Azure's 6105, or the next free port when another run on this machine (a test running
  // beside this one) holds it; the unit golden test pins 6105 itself.
  const std::string port = procs["torch_0.json"]["MASTER_PORT"];
  CHECK(std::stoi(port) >= 6105);
  CHECK(std::stoi(port) < 6105 + 8);
  for (int rank = 0; rank < 4; ++rank) {
    const auto& p = procs["torch_" + std::to_string(rank) + ".json"];
    CHECK(p["MASTER_ADDR"] == master);
    CHECK(p["MASTER_PORT"] == port);
    CHECK(p["WORLD_SIZE"] == "4");
    CHECK(p["NODE_RANK"] == std::to_string(rank / 2));
    CHECK(p["LOCAL_RANK"] == std::to_string(rank % 2));
  }
  CHECK(procs["torch_2.json"]["address"] != master);
}

TEST_CASE("real TensorFlow forms a MultiWorkerMirroredStrategy cluster from TF_CONFIG", "[e2e][distributed][tensorflow][tf-real]") {
  AMLEMU_SKIP_IN_SANITIZER_SUITE("trains a real model");
  AMLEMU_SKIP_UNLESS(tensorflow_installed(), "TensorFlow for python3", kInstallDeps);
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         spec(t, "mw.json", "tf_multiworker.py", 2,
                              {{"type", "tensorflow"}, {"worker_count", 2}, {"parameter_server_count", 0}})});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("task worker 0 trained, replicas 2"));
  const auto show = cli(t, {"job", "show", "--name", run_id_of(r)}).json();
  CHECK_THAT(amlemu::fs::read_file(show["logFiles"]["azureml-logs/70_driver_log_worker_1.txt"].get<std::string>()),
             Contains("task worker 1 trained, replicas 2"));
}

TEST_CASE("real TensorFlow trains with ParameterServerStrategy and the v2-style chief", "[e2e][distributed][tensorflow][tf-real]") {
  AMLEMU_SKIP_IN_SANITIZER_SUITE("trains a real model");
  AMLEMU_SKIP_UNLESS(tensorflow_installed(), "TensorFlow for python3", kInstallDeps);
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         spec(t, "ps.json", "tf_ps.py", 2,
                              {{"type", "tensorflow"}, {"worker_count", 2}, {"parameter_server_count", 1}, {"chief", true}})});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("Streaming azureml-logs/70_driver_log_chief_0.txt"));
  CHECK_THAT(r.out, Contains("chief trained with 1 ps"));
}
