// Fuzz target: the TF_CONFIG, hostfile and PyTorch variable generators over arbitrary shapes
// (worker, ps and node counts, a chief, ports taken at random). Checks what must always hold:
// TF_CONFIG is JSON whose cluster matches the request, no two tasks share an address and port,
// every task's own entry is itself, and the hostfile has one line per node.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "launch/topology.hpp"

#define REQUIRE_THAT(cond) \
  do {                     \
    if (!(cond)) __builtin_trap(); \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 5) return 0;
  const int workers = 1 + data[0] % 16;
  const int ps = data[1] % 5;
  const bool chief = data[2] & 1;
  const int nodes = 1 + data[3] % 8;
  const bool shared_ports = data[2] & 2;
  const std::uint8_t salt = data[4];
  std::vector<std::string> addresses;
  for (int i = 0; i < nodes; ++i) addresses.push_back("127.0.1." + std::to_string(i + 1));
  // Which ports are free follows the remaining bytes: deterministic for an input. With none
  // free, placement must fail with a message, not loop.
  const auto free = [&](const std::string& address, int port) {
    const std::size_t k = static_cast<std::size_t>(port) + address.size() + salt;
    return size <= 5 || (data[5 + k % (size - 5)] & 7) != 0;
  };
  std::vector<amlemu::launch::TfTask> tasks;
  try {
    tasks = amlemu::launch::place_tf_tasks(workers, ps, chief, addresses, free, shared_ports);
  } catch (const std::runtime_error&) {
    return 0;
  }
  REQUIRE_THAT(static_cast<int>(tasks.size()) == workers + ps + (chief ? 1 : 0));
  std::set<std::string> endpoints;
  for (const auto& t : tasks) {
    REQUIRE_THAT(t.port > 0 && t.port < 65536);
    const auto& address = addresses[static_cast<std::size_t>(t.node)];
    REQUIRE_THAT(t.node == 0 || !chief || t.type != "chief");
    REQUIRE_THAT(endpoints.insert(address + ":" + std::to_string(t.port)).second);
  }
  for (const auto& t : tasks) {
    const auto doc = nlohmann::json::parse(amlemu::launch::tf_config(tasks, t, addresses));
    REQUIRE_THAT(doc["cluster"]["worker"].size() == static_cast<std::size_t>(workers));
    REQUIRE_THAT(doc["cluster"]["ps"].size() == static_cast<std::size_t>(ps));
    REQUIRE_THAT(doc["cluster"].contains("chief") == chief);
    const auto& mine = doc["cluster"][doc["task"]["type"].get<std::string>()]
                          [doc["task"]["index"].get<std::size_t>()];
    REQUIRE_THAT(mine == addresses[static_cast<std::size_t>(t.node)] + ":" + std::to_string(t.port));
  }
  const int slots = 1 + data[4] % 8;
  const auto hostfile = amlemu::launch::mpi_hostfile(addresses, slots);
  REQUIRE_THAT(static_cast<int>(std::count(hostfile.begin(), hostfile.end(), '\n')) == nodes);
  for (int n = 0; n < nodes; ++n) {
    const auto vars = amlemu::launch::pytorch_variables(addresses, n, slots - 1, slots, 29500);
    REQUIRE_THAT(vars.at("MASTER_ADDR") == addresses.front());
  }
  return 0;
}
