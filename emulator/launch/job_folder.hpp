// A node's job folder, prepared before the run's processes start on it: its CPU share, its copy
// of the snapshot, its data (mounted or downloaded), its outputs and logs folders, and the
// execution and job-preparation log lines that say so; retired when the run ends.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "compute/cluster_store.hpp"
#include "launch/run_tasks.hpp"
#include "launch/service_logs.hpp"

namespace amlemu::launch {

/// What every node's folder is made from.
struct JobFolder {
  std::filesystem::path workspace_state;
  std::string workspace_name;
  std::string run_id;
  std::string target;
  std::filesystem::path snapshot;  // the stored snapshot's folder
  std::string snapshot_id;         // ContentSnapshotId, for the log
  nlohmann::json data_references;  // runDefinition.dataReferences
  bool use_gpu = false;
};

/// Prepares node number `index` of the run (`node`), writing its log lines to `logs`, and
/// returns its context (without the process environment, composed later).
NodeContext prepare_job_folder(const JobFolder& run, const compute::NodeInfo& node, size_t index,
                               ServiceLogs& logs);

/// Ends a node's job folder when its run is over. Its skeleton (the folders every run's job
/// folder has: the working directory with outputs/ and logs/, KERAS_HOME), emptied of everything
/// else, is kept as the node's spare, which the node's next run takes over by renaming instead
/// of making its folders again; a node that has a spare already, or a folder whose skeleton is
/// not plain folders, is removed. Either way nothing of the run is left in it.
void retire_job_folder(const NodeContext& node);

}  // namespace amlemu::launch
