// End to end: clusters whose nodes are local processes: queueing, node identity, CPU pinning,
// virtual GPUs, preemption.
#include <signal.h>

#include <catch2/catch.hpp>
#include <thread>

#include "e2e/cli.hpp"

using namespace amlemu::testing;
using nlohmann::json;
namespace stdfs = std::filesystem;
using Catch::Contains;

namespace {

std::string spec(const TempHome& t, const std::string& name, const std::string& target, json params = json::object()) {
  json doc = {{"experiment_name", "compute"}, {"source_directory", AMLEMU_TEST_SCRIPTS},
              {"entry_script", "node_info.py"}, {"compute_target", target}, {"user_managed", true},
              {"script_params", params}};
  TempHome::write(t.work() / name, doc.dump(2));
  return name;
}

void set_up(const TempHome& t, const std::vector<std::string>& cluster) {
  t.write_config("compute-ws");
  REQUIRE(cli(t, {"workspace", "create"}).code == 0);
  std::vector<std::string> args = {"compute", "create"};
  args.insert(args.end(), cluster.begin(), cluster.end());
  REQUIRE(cli(t, args).code == 0);
}

json node_of(const std::string& out) {
  const auto at = out.find("NODE ");
  REQUIRE(at != std::string::npos);
  return json::parse(out.substr(at + 5, out.find('\n', at) - at - 5));
}

void wait_for_file(const stdfs::path& f) {
  for (int i = 0; i < 400 && !stdfs::exists(f); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(stdfs::exists(f));
}

}  // namespace

TEST_CASE("two runs on a one-node cluster run one after the other, the second Queued", "[e2e][compute]") {
  TempHome t;
  set_up(t, {"--name", "one", "--size", "STANDARD_D2_V2", "--max-instances", "1"});
  const auto go = t.work() / "go";
  const auto a = cli(t, {"job", "create", "-o", "json", "--file", spec(t, "a.json", "one", {{"--go-file", go.string()}})});
  REQUIRE(a.code == 0);
  wait_for_file(t.work() / "go.started");  // the first run holds the only node
  const auto b = cli(t, {"job", "create", "-o", "json", "--file", spec(t, "b.json", "one")});
  REQUIRE(b.code == 0);
  const std::string ra = a.json()["name"], rb = b.json()["name"];
  bool b_queued = false;
  for (int i = 0; i < 100 && !b_queued; ++i) {
    b_queued = cli(t, {"job", "show", "--name", rb}).json()["status"] == "Queued";
    if (!b_queued) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(b_queued);
  CHECK(cli(t, {"job", "show", "--name", ra}).json()["status"] == "Running");
  const auto show = cli(t, {"compute", "show", "--name", "one"}).json();
  CHECK(show["status"]["nodeStateCounts"]["runningNodeCount"] == 1);
  CHECK(show["nodes"][0]["runId"] == ra);
  TempHome::write(go, "go");
  const auto da = wait_terminal(t, ra);
  const auto db = wait_terminal(t, rb);
  CHECK(da["status"] == "Completed");
  CHECK(db["status"] == "Completed");
  CHECK(db["startTimeUtc"].get<std::string>() >= da["endTimeUtc"].get<std::string>());
  std::vector<std::string> statuses;
  for (const auto& s : db["statusHistory"]) statuses.push_back(s["status"]);
  CHECK(statuses == std::vector<std::string>{"NotStarted", "Starting", "Preparing", "Queued",
                                             "Running", "Finalizing", "Completed"});
  // Both ran on the one node; it is idle now and stays until the scale-down time.
  const auto after = cli(t, {"compute", "show", "--name", "one"}).json();
  CHECK(after["status"]["nodeStateCounts"]["idleNodeCount"] == 1);
}

TEST_CASE("a node has its identity, Batch layout and pinned CPUs", "[e2e][compute]") {
  TempHome t;
  set_up(t, {"--name", "small", "--size", "STANDARD_D1_V2", "--max-instances", "2"});
  const auto r = cli(t, {"job", "create", "--stream", "--file", spec(t, "n.json", "small")});
  REQUIRE(r.code == 0);
  const auto n = node_of(r.out);
  CHECK(n["affinity"].size() == 1);  // Standard_D1_v2 has one core
  const auto nodes = cli(t, {"compute", "list-nodes", "--name", "small"}).json();
  REQUIRE(nodes.size() == 1);
  CHECK(n["AZ_BATCH_NODE_ID"] == nodes[0]["nodeId"]);
  CHECK(n["AMLEMU_NODE_ADDRESS"] == nodes[0]["privateIpAddress"]);
  CHECK(n["AZ_BATCH_MASTER_NODE"] == nodes[0]["privateIpAddress"].get<std::string>() + ":6000");
  CHECK(n["AZ_BATCH_NODE_IS_DEDICATED"] == "true");
  CHECK(n["CUDA_VISIBLE_DEVICES"] == "");  // a CPU size sees no GPU
  CHECK_THAT(n["cwd"].get<std::string>(), Contains("/shared/LS_root/jobs/compute-ws/azureml/"));
  CHECK(n["AZ_BATCH_TASK_WORKING_DIR"] == n["cwd"]);
  CHECK(stdfs::is_directory(n["AZ_BATCH_NODE_ROOT_DIR"].get<std::string>()));
  const auto log = amlemu::fs::read_file(
      cli(t, {"job", "show", "--name", run_id_of(r)}).json()["logFiles"]
          ["azureml-logs/55_azureml-execution-" + n["AZ_BATCH_NODE_ID"].get<std::string>() + ".txt"]
              .get<std::string>());
  CHECK_THAT(log, Contains("CPUs of this node: "));
}

TEST_CASE("a GPU size runs on a machine without GPUs in virtual GPU mode", "[e2e][compute]") {
  TempHome t;
  set_up(t, {"--name", "gpu", "--size", "STANDARD_NC6", "--max-instances", "1"});
  const auto gpus = cli(t, {"gpu", "list"}).json();
  const auto r = cli(t, {"job", "create", "--stream", "--file", spec(t, "g.json", "gpu")});
  REQUIRE(r.code == 0);
  const auto n = node_of(r.out);
  if (gpus["gpus"].empty()) {
    CHECK(gpus["virtualMode"] == true);
    CHECK(n["CUDA_VISIBLE_DEVICES"] == "");
    CHECK(n["AMLEMU_VIRTUAL_GPUS"] == "1");
    const auto logs = cli(t, {"job", "show", "--name", run_id_of(r)}).json()["logFiles"];
    const auto exec = "azureml-logs/55_azureml-execution-" + n["AZ_BATCH_NODE_ID"].get<std::string>() + ".txt";
    CHECK_THAT(amlemu::fs::read_file(logs[exec].get<std::string>()), Contains("virtual GPU mode"));
  } else {
    CHECK(n["CUDA_VISIBLE_DEVICES"] == gpus["gpus"][0]["uuid"]);  // exactly its one device
    CHECK_FALSE(n.contains("AMLEMU_VIRTUAL_GPUS"));
  }
}

TEST_CASE("preempting a lowpriority node fails its run and the cluster scales back", "[e2e][compute]") {
  TempHome t;
  set_up(t, {"--name", "spot", "--size", "STANDARD_D2_V2", "--max-instances", "1", "--tier", "lowpriority"});
  const auto go = t.work() / "go";
  const auto r = cli(t, {"job", "create", "-o", "json", "--file", spec(t, "p.json", "spot", {{"--go-file", go.string()}})});
  REQUIRE(r.code == 0);
  const std::string run_id = r.json()["name"];
  wait_for_file(t.work() / "go.started");
  const pid_t pid = static_cast<pid_t>(std::stol(amlemu::fs::read_file(t.work() / "go.started")));
  CHECK(cli(t, {"compute", "preempt", "--name", "spot", "--node", "0"}).code == 0);
  const auto d = wait_terminal(t, run_id);
  CHECK(d["status"] == "Failed");
  CHECK_THAT(d["error"]["error"]["message"].get<std::string>(), Contains("JobPreempted"));
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = ::kill(pid, 0) != 0;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(gone);
  const auto show = cli(t, {"compute", "show", "--name", "spot"}).json();
  CHECK(show["status"]["nodeStateCounts"]["preemptedNodeCount"] == 1);
  // The cluster can still run work: a new node replaces the preempted one.
  const auto again = cli(t, {"job", "create", "--stream", "--file", spec(t, "q.json", "spot")});
  CHECK(again.code == 0);
  CHECK(cli(t, {"compute", "preempt", "--name", "spot", "--node", "7"}).code == 1);
}

TEST_CASE("min_instances are provisioned and wait shows them", "[e2e][compute]") {
  TempHome t;
  set_up(t, {"--name", "warm", "--size", "STANDARD_D2_V2", "--max-instances", "3", "--min-instances", "2"});
  json show;
  for (int i = 0; i < 100; ++i) {
    show = cli(t, {"compute", "show", "--name", "warm"}).json();
    if (show["status"]["nodeStateCounts"]["idleNodeCount"] == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(show["status"]["nodeStateCounts"]["idleNodeCount"] == 2);
  CHECK(show["status"]["currentNodeCount"] == 2);
  CHECK(show["nodes"][0]["privateIpAddress"] != show["nodes"][1]["privateIpAddress"]);
}

TEST_CASE("AMLEMU_NODE_MEMORY_CAP caps a process at its VM size's memory", "[e2e][compute]") {
  TempHome t;
  set_up(t, {"--name", "tiny", "--size", "STANDARD_D1_V2", "--max-instances", "1"});
  json doc = {{"experiment_name", "compute"}, {"source_directory", AMLEMU_TEST_SCRIPTS},
              {"entry_script", "big_alloc.py"}, {"compute_target", "tiny"}, {"user_managed", true}};
  TempHome::write(t.work() / "m.json", doc.dump());
  ::setenv("AMLEMU_NODE_MEMORY_CAP", "1", 1);
  const auto capped = cli(t, {"job", "create", "--stream", "--file", "m.json"});
  ::unsetenv("AMLEMU_NODE_MEMORY_CAP");
  CHECK(capped.code == 0);
  CHECK_THAT(capped.out, Contains("MemoryError: node memory cap holds"));
}
