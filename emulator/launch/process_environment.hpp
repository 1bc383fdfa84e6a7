// The environment of a run's process: the caller's variables less those that would confuse the
// run's own context, the run's AZUREML_* variables, the node's Azure Batch variables, data
// paths and named outputs, the job's own variables. Pure: every input is an argument, so the
// result is golden-tested like the topology.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/launcher.hpp"
#include "compute/cluster_store.hpp"

namespace amlemu::launch {

using Environment = std::map<std::string, std::string>;

/// What every process of the run shares.
struct RunFacts {
  std::string run_id;
  std::string experiment_name;
  std::string experiment_id;
  std::string subscription_id;
  std::string resource_group;
  std::string workspace_name;
  std::string workspace_id;
  std::filesystem::path database;   // AMLEMU_DATABASE
  std::filesystem::path artifacts;  // AMLEMU_RUN_ARTIFACTS
  std::filesystem::path workspace_dir;  // the workspace's folder: MLflow's amlemu:// URI
  std::filesystem::path cli;            // AMLEMU_CLI
  std::filesystem::path python_package;  // share/amlemu/python, first on PYTHONPATH
  std::filesystem::path python;          // the interpreter the script runs with
  bool virtual_environment = false;      // `python` is in a built environment
  std::int64_t token_expiry = 0;         // epoch seconds
  Environment job_variables;             // runDefinition.environment.environmentVariables
};

/// What differs from node to node.
struct NodeFacts {
  compute::NodeInfo node;
  std::filesystem::path working_dir;
  std::map<std::string, std::string> data_paths;     // data reference / input name -> path
  std::map<std::string, std::string> output_paths;   // named output -> its folder
  std::vector<std::string> run_addresses;            // every node of the run, in order
  std::map<std::string, std::string> cache_variables;  // KERAS_HOME, SCIKIT_LEARN_DATA, ...
};

using amlemu::kNoRouteProxy;

/// The whole environment of a process on `node`, starting from `inherited` (the supervisor's).
/// A run has no route out: the proxies of `inherited` are dropped, HTTP(S)_PROXY name
/// kNoRouteProxy (loopback and the run's nodes excepted), and Hugging Face is offline; unless
/// AMLEMU_RUN_NETWORK=allow is in `inherited` or the job's variables, and a job's own
/// variables win.
Environment compose_environment(const Environment& inherited, const RunFacts& run,
                                const NodeFacts& node);

}  // namespace amlemu::launch
