// Distributed topologies: what each process of an MPI, TensorFlow or PyTorch run is told, as
// pure functions of the nodes and counts, so the generated artefacts (TF_CONFIG, hostfiles,
// variables) are golden-tested.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace amlemu::launch {

/// One TensorFlow task: its type ("chief", "worker" or "ps"), index, node and port.
struct TfTask {
  std::string type;
  int index = 0;
  int node = 0;
  int port = 0;
};

/// Whether `address:port` can be bound now (the port is free on that address).
using PortCheck = std::function<bool(const std::string& address, int port)>;
bool port_is_free(const std::string& address, int port);

/// Machine-wide port reservations between runs: a run's servers start seconds after their
/// ports were chosen (TensorFlow takes that long to import), so two runs starting together
/// would pick the same free port. A reservation is a file /tmp/amlemu-ports/<port> holding the
/// pid of the process that made it; one whose process is gone is taken over.
class PortReservations {
 public:
  PortReservations() = default;
  ~PortReservations();
  PortReservations(const PortReservations&) = delete;
  PortReservations& operator=(const PortReservations&) = delete;
  PortReservations(PortReservations&& o) noexcept : held_(std::move(o.held_)) { o.held_.clear(); }
  /// Reserves `port` when it is free (port_is_free) and not reserved by a live process.
  bool reserve(const std::string& address, int port);
  /// A PortCheck that reserves what it accepts.
  PortCheck checker();
  const std::vector<int>& held() const { return held_; }

 private:
  std::vector<int> held_;
};

/// Places the tasks on the nodes the way Azure does: worker i and ps j on node i and j modulo
/// the node count (the optional chief on node 0); per host, ports from 2222 upward, parameter
/// servers first, then the chief, then workers, skipping any port `free` says is taken.
/// With `shared_ports` (emulated hosts on one machine), a port given to a task on one host is
/// taken on all: TensorFlow's servers listen on every address, so two hosts cannot both use
/// 2222 as they would on Azure.
std::vector<TfTask> place_tf_tasks(int worker_count, int parameter_server_count, bool chief,
                                   const std::vector<std::string>& addresses,
                                   const PortCheck& free = port_is_free, bool shared_ports = true);

/// The TF_CONFIG of `task`: {"cluster": {...}, "task": {"type", "index"}, "environment":
/// "cloud"} with keys in that order, the cluster's jobs in name order, and "ps": [] even when
/// there are no parameter servers, as Azure emits.
std::string tf_config(const std::vector<TfTask>& tasks, const TfTask& task,
                      const std::vector<std::string>& addresses);

/// Open MPI's hostfile: one `<address> slots=<n>` line per node.
std::string mpi_hostfile(const std::vector<std::string>& addresses, int slots);

/// The per-node variables of an MPI run (Azure's, beside what Open MPI sets per rank).
std::map<std::string, std::string> mpi_node_variables(const std::vector<std::string>& addresses,
                                                      int node, int processes_per_node);

/// The variables of PyTorch process `local_rank` on node `node`.
std::map<std::string, std::string> pytorch_variables(const std::vector<std::string>& addresses,
                                                     int node, int local_rank,
                                                     int processes_per_node, int master_port);

}  // namespace amlemu::launch
