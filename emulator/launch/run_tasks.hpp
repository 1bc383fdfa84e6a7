// The processes of a run: one script, MPI ranks under mpirun, TensorFlow tasks or PyTorch
// processes, each with its node's context, its variables and its own log.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "compute/cluster_store.hpp"
#include "collection/collect.hpp"
#include "common/launcher.hpp"
#include "launch/topology.hpp"

namespace amlemu::launch {

/// A node as the run uses it: where its copy of the snapshot is, what its processes see.
struct NodeContext {
  compute::NodeInfo node;
  std::vector<int> cpus;
  std::filesystem::path job_dir;
  std::filesystem::path wd;
  std::map<std::string, std::string> env;  // the full environment of a process on this node
  std::vector<std::pair<std::string, std::string>> binds;  // read-only datastore mounts
  /// Data reference name -> its path on this node, for the $AZUREML_DATAREFERENCE_<name>
  /// placeholders of the command line (each node mounts its own).
  std::map<std::string, std::string> placeholders;
  /// The frameworks' download caches on this node (KERAS_HOME, SCIKIT_LEARN_DATA, HF_HOME, ...).
  std::map<std::string, std::string> cache_variables;
  /// The v2 named outputs as this node writes them, for Finalizing.
  std::vector<collection::NamedOutput> outputs;
};

/// One process the supervisor starts.
struct Task {
  std::string name;     // "" for a single-process run, else "rank 1", "worker 0", "ps 0", ...
  std::string log;      // its log's file name in azureml-logs/
  bool server = false;  // ended by the platform once the others are done (parameter servers)
  int node = 0;
  ProcessSpec spec;
};

struct TaskPlan {
  std::vector<Task> tasks;
  std::string primary_log;  // the log that gets the completion line and that streaming follows
  std::filesystem::path rank_status_dir;  // MPI: where each rank records how it ended
  std::shared_ptr<PortReservations> ports;  // held until the run ends
  int ranks = 0;                          // MPI: the number of ranks
};

/// Builds the run's processes from its runDefinition ("distributed" {type, processCountPerNode,
/// workerCount, parameterServerCount, chief}), its nodes, the interpreter and the script's
/// command line. `logs_dir` is azureml-logs/; `scratch` is a folder for the hostfile and node
/// contexts. Throws UserErrorException when a distribution needs something missing (mpirun).
/// `free` decides which ports TensorFlow and PyTorch servers may use; by default a port is
/// reserved machine-wide (PortReservations) for as long as the plan lives.
TaskPlan plan_tasks(const nlohmann::json& run_definition, const std::vector<NodeContext>& nodes,
                    const std::vector<std::string>& command, const std::filesystem::path& logs_dir,
                    const std::filesystem::path& scratch, const PortCheck& free = nullptr);

/// Which MPI rank failed first, from the status files the rank wrapper wrote: the earliest
/// non-zero exit. -1 when none did.
int first_failed_rank(const std::filesystem::path& rank_status_dir, int* exit_code = nullptr);

/// When MPI_Abort took every rank down before they could record anything: the rank whose log
/// holds a Python traceback (the earliest written), or -1.
int rank_with_traceback(const std::filesystem::path& logs_dir, int ranks);

}  // namespace amlemu::launch
