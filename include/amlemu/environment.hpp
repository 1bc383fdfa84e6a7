// Environments: what a run's Python needs (interpreter, pip packages, framework, variables),
// built once into a cached virtual environment (amlemu's stand-in for an environment image) and
// reused by every later run that resolves to the same specification.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "amlemu/workspace.hpp"

namespace amlemu {

/// One cached environment of a workspace.
struct CachedEnvironment {
  std::string id;                 // "env-<hash of the resolved specification>"
  nlohmann::json specification;   // the resolved specification it was built from
  std::string created_time;
  std::string last_used_time;
  double build_seconds = 0;
  std::uint64_t size_bytes = 0;
  nlohmann::json serialize() const;
};

/// The workspace's built environments, most recently used first. Builds in progress and failed
/// builds are not listed.
std::vector<CachedEnvironment> list_environments(const Workspace& ws);

/// Removes a cached environment; the next run that needs it builds it again. Throws
/// NotFoundException when there is no such id, and UserErrorException, removing nothing, while
/// a run that has not ended uses it or a build of it is in progress.
void delete_environment(const Workspace& ws, const std::string& id);

}  // namespace amlemu
