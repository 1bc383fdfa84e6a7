// Making a run's data references visible on a node: mount mode binds the datastore read-only
// into the script's mount namespace (one point per run, the same on every node); download mode
// copies the referenced file or folder into the node's working directory; direct mode hands
// the script the URI itself.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace amlemu::datastore {

struct NodeData {
  std::map<std::string, std::string> paths;  // data reference name -> path on the node
  std::vector<std::pair<std::string, std::string>> binds;  // datastore folder -> mount point
  std::vector<std::string> execution_lines;    // for the node's execution log
  std::vector<std::string> preparation_lines;  // for the node's job-preparation log
};

/// Whether any reference is copied (download mode) rather than mounted: preparing the node
/// then takes a while.
bool any_download(const nlohmann::json& data_references);

/// Resolves the runDefinition's `dataReferences` for one node. `datastores_of(name)` is the
/// datastore's folder; `mounts` the run's mount points; `working_dir` the node's. Throws
/// UserErrorException naming the reference when its datastore or path does not exist.
NodeData materialise(const nlohmann::json& data_references,
                     const std::filesystem::path& workspace_state,
                     const std::filesystem::path& mounts,
                     const std::filesystem::path& working_dir);

}  // namespace amlemu::datastore
