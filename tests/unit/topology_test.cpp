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
