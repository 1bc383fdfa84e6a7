// Room: launch. Golden tests for the generated artefacts of distributed runs: TF_CONFIG of every
// task of several topologies, MPI hostfiles and node variables, PyTorch variables.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "launch/topology.hpp"

using namespace amlemu::launch;

namespace {
const std::vector<std::string> kOne = {"127.11.0.2"};
const std::vector<std::string> kTwo = {"127.11.0.2", "127.11.0.3"};
bool all_free(const std::string&, int) { return true; }

struct TfCase {
  const char* name;
  int workers, ps;
  bool chief;
  std::vector<std::string> nodes;
  std::vector<std::string> expected;  // TF_CONFIG of each task, in placement order
};
}  // namespace

TEST_CASE("TF_CONFIG of every task, golden", "[topology][tensorflow]") {
  const std::vector<TfCase> cases = {
      {"1 worker", 1, 0, false, kOne,
       {R"({"cluster":{"ps":[],"worker":["127.11.0.2:2222"]},"task":{"type":"worker","index":0},"environment":"cloud"})"}},
      {"2 workers on 2 nodes", 2, 0, false, kTwo,
       {R"({"cluster":{"ps":[],"worker":["127.11.0.2:2222","127.11.0.3:2222"]},"task":{"type":"worker","index":0},"environment":"cloud"})",
        R"({"cluster":{"ps":[],"worker":["127.11.0.2:2222","127.11.0.3:2222"]},"task":{"type":"worker","index":1},"environment":"cloud"})"}},
      {"2 workers + 1 ps on 2 nodes (the reference's example)", 2, 1, false, kTwo,
       {R"({"cluster":{"ps":["127.11.0.2:2222"],"worker":["127.11.0.2:2223","127.11.0.3:2222"]},"task":{"type":"ps","index":0},"environment":"cloud"})",
        R"({"cluster":{"ps":["127.11.0.2:2222"],"worker":["127.11.0.2:2223","127.11.0.3:2222"]},"task":{"type":"worker","index":0},"environment":"cloud"})",
        R"({"cluster":{"ps":["127.11.0.2:2222"],"worker":["127.11.0.2:2223","127.11.0.3:2222"]},"task":{"type":"worker","index":1},"environment":"cloud"})"}},
      {"3 workers + 2 ps on 2 nodes", 3, 2, false, kTwo,
       {R"({"cluster":{"ps":["127.11.0.2:2222","127.11.0.3:2222"],"worker":["127.11.0.2:2223","127.11.0.3:2223","127.11.0.2:2224"]},"task":{"type":"ps","index":0},"environment":"cloud"})",
        R"({"cluster":{"ps":["127.11.0.2:2222","127.11.0.3:2222"],"worker":["127.11.0.2:2223","127.11.0.3:2223","127.11.0.2:2224"]},"task":{"type":"ps","index":1},"environment":"cloud"})",
        R"({"cluster":{"ps":["127.11.0.2:2222","127.11.0.3:2222"],"worker":["127.11.0.2:2223","127.11.0.3:2223","127.11.0.2:2224"]},"task":{"type":"worker","index":0},"environment":"cloud"})",
        R"({"cluster":{"ps":["127.11.0.2:2222","127.11.0.3:2222"],"worker":["127.11.0.2:2223","127.11.0.3:2223","127.11.0.2:2224"]},"task":{"type":"worker","index":1},"environment":"cloud"})",
        R"({"cluster":{"ps":["127.11.0.2:2222","127.11.0.3:2222"],"worker":["127.11.0.2:2223","127.11.0.3:2223","127.11.0.2:2224"]},"task":{"type":"worker","index":2},"environment":"cloud"})"}},
      {"the v2-style chief option", 2, 1, true, kTwo,
       {R"({"cluster":{"chief":["127.11.0.2:2223"],"ps":["127.11.0.2:2222"],"worker":["127.11.0.2:2224","127.11.0.3:2222"]},"task":{"type":"ps","index":0},"environment":"cloud"})",
        R"({"cluster":{"chief":["127.11.0.2:2223"],"ps":["127.11.0.2:2222"],"worker":["127.11.0.2:2224","127.11.0.3:2222"]},"task":{"type":"chief","index":0},"environment":"cloud"})",
        R"({"cluster":{"chief":["127.11.0.2:2223"],"ps":["127.11.0.2:2222"],"worker":["127.11.0.2:2224","127.11.0.3:2222"]},"task":{"type":"worker","index":0},"environment":"cloud"})",
        R"({"cluster":{"chief":["127.11.0.2:2223"],"ps":["127.11.0.2:2222"],"worker":["127.11.0.2:2224","127.11.0.3:2222"]},"task":{"type":"worker","index":1},"environment":"cloud"})"}},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto tasks = place_tf_tasks(c.workers, c.ps, c.chief, c.nodes, all_free, /*shared_ports=*/false);
    REQUIRE(tasks.size() == c.expected.size());
    for (size_t i = 0; i < tasks.size(); ++i) CHECK(tf_config(tasks, tasks[i], c.nodes) == c.expected[i]);
  }
}

TEST_CASE("a busy port is skipped before launch", "[topology][tensorflow]") {
  auto busy_2222_on_first = [](const std::string& address, int port) {
    return !(address == "127.11.0.2" && port == 2222);
  };
  const auto tasks = place_tf_tasks(2, 0, false, kTwo, busy_2222_on_first, /*shared_ports=*/false);
  CHECK(tf_config(tasks, tasks[0], kTwo) ==
        R"({"cluster":{"ps":[],"worker":["127.11.0.2:2223","127.11.0.3:2222"]},"task":{"type":"worker","index":0},"environment":"cloud"})");
}

TEST_CASE("on one machine a port is used by one host only", "[topology][tensorflow]") {
  // TensorFlow's servers listen on every address, so emulated hosts cannot share port numbers.
  const auto tasks = place_tf_tasks(2, 1, false, kTwo, all_free);
  CHECK(tf_config(tasks, tasks[0], kTwo) ==
        R"({"cluster":{"ps":["127.11.0.2:2222"],"worker":["127.11.0.2:2223","127.11.0.3:2224"]},"task":{"type":"ps","index":0},"environment":"cloud"})");
  int checked_on_wildcard = 0;
  place_tf_tasks(1, 0, false, kOne, [&](const std::string& address, int) {
    checked_on_wildcard += address == "0.0.0.0";
    return true;
  });
  CHECK(checked_on_wildcard == 1);
}

TEST_CASE("port_is_free sees a bound port", "[topology]") {
  // Find a free port, hold it, and check it reads as busy.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = 0;
  ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::listen(fd, 1);
  const int port = ntohs(sa.sin_port);
  CHECK_FALSE(port_is_free("127.0.0.1", port));
  ::close(fd);
  CHECK(port_is_free("127.0.0.1", port));
}

TEST_CASE("MPI hostfile and node variables, golden", "[topology][mpi]") {
  CHECK(mpi_hostfile(kTwo, 2) == "127.11.0.2 slots=2\n127.11.0.3 slots=2\n");
  const auto n1 = mpi_node_variables(kTwo, 1, 2);
  CHECK(n1 == std::map<std::string, std::string>{{"AZ_BATCH_HOST_LIST", "127.11.0.2,127.11.0.3"},
                                                 {"AZ_BATCH_NODE_LIST", "127.11.0.2;127.11.0.3"},
                                                 {"AZ_BATCH_IS_CURRENT_NODE_MASTER", "false"},
                                                 {"AZ_BATCH_MASTER_NODE", "127.11.0.2:6105"},
                                                 {"CCP_NODES", "2 127.11.0.2 2 127.11.0.3 2"}});
  const auto single = mpi_node_variables(kOne, 0, 4);
  CHECK(single.at("AZ_BATCHAI_MPI_MASTER_NODE") == "127.11.0.2");
  CHECK(single.count("AZ_BATCH_MASTER_NODE") == 0);
  CHECK(single.at("AZ_BATCH_IS_CURRENT_NODE_MASTER") == "true");
}

TEST_CASE("PyTorch variables of every process, golden", "[topology][pytorch]") {
  CHECK(pytorch_variables(kTwo, 1, 1, 2, 6105) ==
        std::map<std::string, std::string>{{"MASTER_ADDR", "127.11.0.2"},
                                           {"MASTER_PORT", "6105"},
                                           {"WORLD_SIZE", "4"},
                                           {"NODE_RANK", "1"},
                                           {"RANK", "3"},
                                           {"LOCAL_RANK", "1"},
                                           {"LOCAL_WORLD_SIZE", "2"}});
  CHECK(pytorch_variables(kOne, 0, 0, 1, 6105).at("WORLD_SIZE") == "1");
  CHECK(pytorch_variables(kTwo, 0, 1, 2, 6106).at("RANK") == "1");
}

// ---- plan_tasks: the processes and files of a distributed run ----

#include "common/fs.hpp"
#include "launch/run_tasks.hpp"
#include "support/temp_home.hpp"

namespace {
std::vector<NodeContext> two_nodes(const std::filesystem::path& root) {
  std::vector<NodeContext> nodes(2);
  for (int i = 0; i < 2; ++i) {
    auto& n = nodes[static_cast<size_t>(i)];
    n.node.index = i;
    n.node.node_id = "node" + std::to_string(i);
    n.node.address = kTwo[static_cast<size_t>(i)];
    n.job_dir = root / ("job" + std::to_string(i));
    n.wd = n.job_dir / "wd";
    n.cpus = {i};
    n.env = {{"AZ_BATCH_NODE_ID", n.node.node_id}, {"PATH", "/usr/bin:/bin"}};
  }
  return nodes;
}
}  // namespace

TEST_CASE("MPI daemons of emulated hosts get their own session folders (hwloc shmem race)",
          "[topology][mpi]") {
  amlemu::testing::TempHome t;
  const auto nodes = two_nodes(t.work());
  const nlohmann::json def = {{"distributed", {{"type", "mpi"}, {"processCountPerNode", 2}}}};
  const auto plan = plan_tasks(def, nodes, {"/usr/bin/python3", "train.py"}, t.work() / "logs",
                               t.work() / "scratch", all_free);
  REQUIRE(plan.tasks.size() == 1);
  CHECK(plan.tasks[0].log == "70_mpi_log.txt");
  CHECK(plan.primary_log == "70_driver_log_0.txt");
  CHECK(plan.ranks == 4);
  CHECK(amlemu::fs::read_file(t.work() / "scratch" / "hostfile") ==
        "127.11.0.2 slots=2\n127.11.0.3 slots=2\n");
  const auto a = amlemu::fs::read_file(t.work() / "scratch" / "contexts" / "127.11.0.2.sh");
  const auto b = amlemu::fs::read_file(t.work() / "scratch" / "contexts" / "127.11.0.3.sh");
  CHECK_THAT(a, Catch::Contains("export OMPI_MCA_orte_tmpdir_base='" + (t.work() / "job0" / "tmp").string() + "'"));
  CHECK_THAT(b, Catch::Contains("export OMPI_MCA_orte_tmpdir_base='" + (t.work() / "job1" / "tmp").string() + "'"));
  CHECK_THAT(b, Catch::Contains("export AZ_BATCH_IS_CURRENT_NODE_MASTER='false'"));
  CHECK_THAT(b, Catch::Contains("export AMLEMU_NODE_CPUS='1'"));
  CHECK_THAT(b, Catch::Contains("cd '" + (t.work() / "job1" / "wd").string() + "'"));
  const auto& args = plan.tasks[0].spec.args;
  CHECK(std::find(args.begin(), args.end(), "tcp,self") != args.end());  // no shared memory
}

TEST_CASE("TensorFlow and PyTorch runs start one process per task", "[topology]") {
  amlemu::testing::TempHome t;
  const auto nodes = two_nodes(t.work());
  const auto tf = plan_tasks({{"distributed", {{"type", "tensorflow"}, {"workerCount", 2}, {"parameterServerCount", 1}}}},
                             nodes, {"python3", "t.py"}, t.work(), t.work(), all_free);
  REQUIRE(tf.tasks.size() == 3);
  CHECK(tf.tasks[0].name == "ps 0");
  CHECK(tf.tasks[0].server);
  CHECK(tf.tasks[0].log == "70_driver_log_ps_0.txt");
  CHECK_FALSE(tf.tasks[2].server);
  CHECK(tf.tasks[2].node == 1);
  CHECK(tf.tasks[2].spec.env.at("AZ_BATCH_NODE_ID") == "node1");
  CHECK(tf.primary_log == "70_driver_log_worker_0.txt");
  const auto pt = plan_tasks({{"distributed", {{"type", "pytorch"}, {"processCountPerNode", 2}}}},
                             nodes, {"python3", "t.py"}, t.work(), t.work(), all_free);
  REQUIRE(pt.tasks.size() == 4);
  CHECK(pt.tasks[3].spec.env.at("RANK") == "3");
  CHECK(pt.tasks[3].spec.cpus == std::vector<int>{1});
  const auto single = plan_tasks(nlohmann::json::object(), nodes, {"python3", "t.py"}, t.work(), t.work(), all_free);
  REQUIRE(single.tasks.size() == 1);
  CHECK(single.primary_log == "70_driver_log.txt");
}
