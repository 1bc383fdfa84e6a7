// Environments: what a run's Python needs (interpreter, pip packages, framework, variables),
// built once into a cached virtual environment (amlemu's stand-in for an environment image) and
// reused by every later run that resolves to the same specification.
#pragma once

#include <cstdint>
#include <filesystem>
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
  std::string interpreter;        // "3.12.1 (/path/to/python3.12)"
  nlohmann::json serialize() const;
};

/// What `environment build` did: the environment a run would get, built or found in the cache.
struct EnvironmentBuild {
  std::string id;                         // env-...; empty for a user-managed environment
  std::string interpreter;                // "3.12.1 (/path/to/python3.12)", or its path
  std::string python_version;             // the minor version asked for, if any
  std::vector<std::string> requirements;  // the resolved PyPI requirements
  std::vector<std::string> notes;         // conda translation, curated table, fallbacks
  bool built = false;                     // false: found in the cache (or user-managed)
  double seconds = 0;
  std::filesystem::path build_log;        // the installer's output (when built)
  nlohmann::json serialize() const;
};

/// Resolves and builds, exactly as Preparing does for a run, the environment of a run
/// definition's "environment" object (environment_definition() of an Estimator), so that a later
/// run finds it in the cache. Throws UserErrorException with Preparing's one-line message.
EnvironmentBuild build_environment(const Workspace& ws, const nlohmann::json& environment);

/// One built environment. Throws NotFoundException when there is no such id.
CachedEnvironment show_environment(const Workspace& ws, const std::string& id);

/// The workspace's built environments, most recently used first. Builds in progress and failed
/// builds are not listed.
std::vector<CachedEnvironment> list_environments(const Workspace& ws);

/// Removes a cached environment; the next run that needs it builds it again. Throws
/// NotFoundException when there is no such id, and UserErrorException, removing nothing, while
/// a run that has not ended uses it or a build of it is in progress.
void delete_environment(const Workspace& ws, const std::string& id);

}  // namespace amlemu
