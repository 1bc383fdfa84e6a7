#include "launch/topology.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <set>
#include <stdexcept>

#include "common/text.hpp"

namespace amlemu::launch {

bool port_is_free(const std::string& address, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  // Servers (gRPC, Gloo, NCCL) bind with SO_REUSEADDR, so connections of an earlier run still in
  // TIME_WAIT do not make a port busy; only a live listener does.
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

namespace {
const char* kReservations = "/tmp/amlemu-ports";
}

PortReservations::~PortReservations() {
  for (int port : held_) ::unlink((std::string(kReservations) + "/" + std::to_string(port)).c_str());
}

bool PortReservations::reserve(const std::string& address, int port) {
  ::mkdir(kReservations, 01777);
  const std::string file = std::string(kReservations) + "/" + std::to_string(port);
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      const std::string pid = std::to_string(::getpid());
      (void)!::write(fd, pid.data(), pid.size());
      ::close(fd);
      if (!port_is_free(address, port)) {
        ::unlink(file.c_str());
        return false;
      }
      held_.push_back(port);
      return true;
    }
    // Reserved: by a live process, or left by one that is gone (then take it over).
    char buf[32] = {0};
    const int in = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (in >= 0) {
      (void)!::read(in, buf, sizeof buf - 1);
      ::close(in);
    }
    const long owner = std::atol(buf);
    if (owner > 0 && (::kill(static_cast<pid_t>(owner), 0) == 0 || errno == EPERM)) return false;
    ::unlink(file.c_str());
  }
  return false;
}

PortCheck PortReservations::checker() {
  return [this](const std::string& address, int port) { return reserve(address, port); };
}

std::vector<TfTask> place_tf_tasks(int worker_count, int parameter_server_count, bool chief,
                                   const std::vector<std::string>& addresses,
                                   const PortCheck& free, bool shared_ports) {
  const int nodes = std::max<int>(1, static_cast<int>(addresses.size()));
  std::vector<TfTask> tasks;
  for (int j = 0; j < parameter_server_count; ++j) tasks.push_back({"ps", j, j % nodes, 0});
  if (chief) tasks.push_back({"chief", 0, 0, 0});
  for (int i = 0; i < worker_count; ++i) tasks.push_back({"worker", i, i % nodes, 0});
  std::map<int, int> next_port;  // per node
  std::set<int> taken;           // across nodes, with shared_ports
  for (auto& t : tasks) {
    const std::string address =
        addresses.empty() ? "127.0.0.1" : addresses[static_cast<size_t>(t.node)];
    int port = next_port.count(t.node) ? next_port[t.node] : 2222;
    while ((shared_ports && taken.count(port)) ||
           !free(shared_ports ? "0.0.0.0" : address, port)) {
      if (++port > 65535) {
        throw std::runtime_error("no free TCP port from 2222 up on " + address +
                                 " for TensorFlow task " + t.type + " " +
                                 std::to_string(t.index));
      }
    }
    t.port = port;
    taken.insert(port);
    next_port[t.node] = port + 1;
  }
  return tasks;
}

std::string tf_config(const std::vector<TfTask>& tasks, const TfTask& task,
                      const std::vector<std::string>& addresses) {
  nlohmann::ordered_json cluster;
  for (const char* job : {"chief", "ps", "worker"}) {
    std::vector<const TfTask*> of;
    for (const auto& t : tasks) {
      if (t.type == job) of.push_back(&t);
    }
    if (of.empty() && std::string(job) != "ps") continue;
    std::sort(of.begin(), of.end(), [](const TfTask* a, const TfTask* b) { return a->index < b->index; });
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto* t : of) {
      list.push_back(addresses[static_cast<size_t>(t->node)] + ":" + std::to_string(t->port));
    }
    cluster[job] = list;
  }
  nlohmann::ordered_json doc;
  doc["cluster"] = cluster;
  doc["task"] = {{"type", task.type}, {"index", task.index}};
  doc["environment"] = "cloud";
  return doc.dump();
}

std::string mpi_hostfile(const std::vector<std::string>& addresses, int slots) {
  std::string out;
  for (const auto& a : addresses) out += a + " slots=" + std::to_string(slots) + "\n";
  return out;
}


std::map<std::string, std::string> mpi_node_variables(const std::vector<std::string>& addresses,
                                                      int node, int processes_per_node) {
  std::map<std::string, std::string> env;
  env["AZ_BATCH_HOST_LIST"] = join(addresses, ",");
  env["AZ_BATCH_NODE_LIST"] = join(addresses, ";");
  env["AZ_BATCH_IS_CURRENT_NODE_MASTER"] = node == 0 ? "true" : "false";
  std::string ccp = std::to_string(addresses.size());
  for (const auto& a : addresses) ccp += " " + a + " " + std::to_string(processes_per_node);
  env["CCP_NODES"] = ccp;
  if (addresses.size() > 1) {
    env["AZ_BATCH_MASTER_NODE"] = addresses[0] + ":6105";
  } else {
    env["AZ_BATCHAI_MPI_MASTER_NODE"] = addresses[0];
  }
  return env;
}

std::map<std::string, std::string> pytorch_variables(const std::vector<std::string>& addresses,
                                                     int node, int local_rank,
                                                     int processes_per_node, int master_port) {
  const int world = static_cast<int>(addresses.size()) * processes_per_node;
  return {{"MASTER_ADDR", addresses[0]},
          {"MASTER_PORT", std::to_string(master_port)},
          {"WORLD_SIZE", std::to_string(world)},
          {"NODE_RANK", std::to_string(node)},
          {"RANK", std::to_string(node * processes_per_node + local_rank)},
          {"LOCAL_RANK", std::to_string(local_rank)},
          {"LOCAL_WORLD_SIZE", std::to_string(processes_per_node)}};
}

}  // namespace amlemu::launch
