// The endpoint repository: every SQL statement about `online_endpoints` and
// `online_deployments` lives here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "amlemu/endpoints.hpp"

namespace amlemu::serving {

struct EndpointRecord {
  OnlineEndpoint endpoint;
  std::string primary_key, secondary_key;
  int host_pid = 0;
};

struct DeploymentRecord {
  OnlineDeployment deployment;
  std::string python;  // the interpreter of its built environment
};

class EndpointStore {
 public:
  explicit EndpointStore(const Workspace& ws) : ws_(ws) {}

  /// False when the name is taken.
  bool insert(const EndpointRecord& r);
  std::optional<EndpointRecord> find(const std::string& name);
  std::vector<EndpointRecord> list();
  /// Description, tags, traffic and mirror traffic.
  void update(const OnlineEndpoint& e);
  void set_host_pid(const std::string& name, int pid);
  /// A change for the host to apply: returns the new generation.
  std::int64_t bump_generation(const std::string& name);
  /// {generation, applied}; the host records what it read once it applied it.
  std::pair<std::int64_t, std::int64_t> generations(const std::string& name);
  void set_applied(const std::string& name, std::int64_t generation);
  /// With its deployments.
  bool remove(const std::string& name);

  /// False when the deployment exists.
  bool insert(const DeploymentRecord& r);
  std::optional<DeploymentRecord> find(const std::string& endpoint, const std::string& name);
  std::vector<DeploymentRecord> list_deployments(const std::string& endpoint);
  void set_state(const std::string& endpoint, const std::string& name, const std::string& state,
                 const std::string& error = "");
  bool remove(const std::string& endpoint, const std::string& name);

 private:
  Workspace ws_;
};

/// The v2 JSON of a deployment (what show prints, and what the store keeps) and back.
nlohmann::json deployment_json(const OnlineDeployment& d);
OnlineDeployment deployment_from_json(const nlohmann::json& j);

}  // namespace amlemu::serving
