// The registered-environment repository: every SQL statement about the `environments` table
// (`amlemu environment create --file env.yml`, `azureml:<name>:<version>` in job files) lives
// here, and nowhere else.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "amlemu/workspace.hpp"

namespace amlemu::environment {

struct RegisteredEnvironment {
  std::string name;
  std::string version;
  nlohmann::json definition;  // image, pipPackages, condaPackages, description, tags
  std::string created_time;
};

class RegisteredStore {
 public:
  explicit RegisteredStore(const Workspace& ws) : ws_(ws) {}

  /// The version asked for, or with an empty `version` the newest registered.
  std::optional<RegisteredEnvironment> find(const std::string& name, const std::string& version);
  /// Records a version, in one transaction: `version`, or with an empty one the next integer
  /// above the highest numeric version. Returns the version recorded, or nullopt (writing
  /// nothing) when `version` exists already.
  std::optional<std::string> insert(const std::string& name, const std::string& version,
                                    const nlohmann::json& definition, const std::string& time);
  /// Newest first.
  std::vector<RegisteredEnvironment> list();

 private:
  Workspace ws_;
};

}  // namespace amlemu::environment
