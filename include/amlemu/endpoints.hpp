// Managed online endpoints, offline: a registered model behind a scoring URI on this machine.
// An endpoint is a router on a loopback port that checks the endpoint's key, splits requests
// across its deployments by traffic percentages and forwards them; each deployment instance is a
// real azureml-inference-server-http process running the deployment's score.py, supervised by
// the endpoint's host process (started detached; nothing else needs a daemon).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "amlemu/workspace.hpp"

namespace amlemu {

struct OnlineEndpoint {
  std::string name;
  std::string auth_mode = "key";  // key or aml_token
  std::string description;
  std::map<std::string, std::string> tags;
  std::map<std::string, int> traffic;         // deployment -> percent (sums to 0 or 100)
  std::map<std::string, int> mirror_traffic;  // deployment -> percent copied, answers dropped
  // Read back:
  int port = 0;                    // the router's loopback port
  std::string scoring_uri;         // http://127.0.0.1:<port>/score
  std::string swagger_uri;         // http://127.0.0.1:<port>/swagger.json
  std::string provisioning_state;  // Succeeded while its host runs
  std::string created_time;
  std::vector<std::string> warnings;  // keys accepted but not honoured
};

/// A liveness or readiness probe (the v2 schema's keys; the service's defaults).
struct ProbeSettings {
  int initial_delay = 10;
  int period = 10;
  int timeout = 2;
  int success_threshold = 1;
  int failure_threshold = 30;
};

struct OnlineDeployment {
  std::string endpoint;
  std::string name;
  std::string model;                     // azureml:<name>:<version> (or @latest)
  std::filesystem::path model_path;      // or a local file or folder, served as it is
  std::filesystem::path code;            // code_configuration.code (absolute)
  std::string scoring_script;            // code_configuration.scoring_script, relative to code
  nlohmann::json environment;            // as a job's: azureml:<name>:<version> or {image, pipPackages, ...}
  int instance_count = 1;
  int request_timeout_ms = 5000;
  int max_concurrent_requests_per_instance = 1;
  ProbeSettings liveness;
  ProbeSettings readiness;
  std::map<std::string, std::string> environment_variables;
  std::string instance_type;
  std::string description;
  // Read back:
  std::string provisioning_state;  // Creating, Updating, Succeeded, Failed, Deleting
  std::string error;               // why it failed (the instance's last lines)
  std::string created_time;
  std::vector<std::string> warnings;
};

/// What `show` prints: the v2 shapes (name, auth_mode, scoring_uri, traffic, provisioning_state,
/// ...; a deployment's model, code_configuration, request_settings, probes, ...).
nlohmann::json serialize(const OnlineEndpoint& endpoint);
nlohmann::json serialize(const OnlineDeployment& deployment);

/// Reads an endpoint YAML (managedOnlineEndpoint.schema.json) or a deployment YAML
/// (managedOnlineDeployment.schema.json). UserErrorException "<file>:<line>: <key>: <problem>";
/// keys accepted but not honoured become warnings. Writes nothing.
OnlineEndpoint load_endpoint_yaml(const std::filesystem::path& file);
OnlineDeployment load_deployment_yaml(const std::filesystem::path& file);

/// The REST bodies of `PUT .../onlineEndpoints/<name>` and `.../deployments/<name>` (the ARM
/// shapes azure-ai-ml sends: authMode, traffic, mirrorTraffic, tags; model, codeConfiguration
/// with codeId, environmentId, sku.capacity, requestSettings and probes as ISO-8601 durations)
/// as the library's types, and back as `properties`. UserErrorException "properties.<x>: ...".
OnlineEndpoint endpoint_from_rest(const std::string& name, const nlohmann::json& body);
nlohmann::json endpoint_to_rest(const OnlineEndpoint& endpoint);
OnlineDeployment deployment_from_rest(const Workspace& ws, const std::string& endpoint, const std::string& name,
                                      const nlohmann::json& body);
nlohmann::json deployment_to_rest(const Workspace& ws, const OnlineDeployment& deployment);

/// Records the endpoint, gives it a loopback port and keys, and starts its host. Throws
/// UserErrorException when it exists or the name breaks the service's rule (3-32 characters,
/// a letter first, then letters, digits and '-').
OnlineEndpoint create_online_endpoint(const Workspace& ws, const OnlineEndpoint& endpoint);
/// Description, tags and traffic (each deployment must exist; the shares must sum to 100, or 0
/// for none); starts the host again when it is not running.
OnlineEndpoint update_online_endpoint(const Workspace& ws, const OnlineEndpoint& endpoint);
std::optional<OnlineEndpoint> get_online_endpoint(const Workspace& ws, const std::string& name);
std::vector<OnlineEndpoint> list_online_endpoints(const Workspace& ws);
/// Stops the host and every instance, and forgets the endpoint and its deployments.
/// NotFoundException when there is no such endpoint.
void delete_online_endpoint(const Workspace& ws, const std::string& name);
/// {"primaryKey", "secondaryKey"} for key auth; {"accessToken", "expiryTimeUtc", "tokenType"}
/// for aml_token.
nlohmann::json get_endpoint_credentials(const Workspace& ws, const std::string& name);

/// Builds the deployment's environment (as a job's, with azureml-inference-server-http added),
/// materialises the model read-only and the code, records the deployment and has the host start
/// its instances; waits until every instance answers its readiness probe (Succeeded) or the
/// deployment fails. Bad input (an unknown endpoint, model or script, a deployment that exists)
/// is a UserErrorException before anything is recorded. A deployment whose instances cannot
/// start is recorded Failed and reported as a UserErrorException naming the reason.
/// `all_traffic` then sends the endpoint's whole traffic to it. Progress lines go to `progress`.
OnlineDeployment create_online_deployment(const Workspace& ws, const OnlineDeployment& deployment,
                                          bool all_traffic = false, std::ostream* progress = nullptr);
std::optional<OnlineDeployment> get_online_deployment(const Workspace& ws, const std::string& endpoint,
                                                      const std::string& name);
std::vector<OnlineDeployment> list_online_deployments(const Workspace& ws, const std::string& endpoint);
/// Stops its instances and forgets it; refused while it has traffic.
void delete_online_deployment(const Workspace& ws, const std::string& endpoint, const std::string& name);
/// The last `lines` lines of the deployment's first instance's log (its stdout and stderr).
std::string get_deployment_logs(const Workspace& ws, const std::string& endpoint,
                                const std::string& name, int lines = 0);

struct InvokeResult {
  int status = 0;
  std::string body;
  std::string deployment;  // the deployment that answered
};
/// POSTs `body` to the endpoint's scoring URI with its key (to `deployment` when given), as a
/// client would. Starts the host again when it is not running.
InvokeResult invoke_online_endpoint(const Workspace& ws, const std::string& endpoint,
                                    const std::string& body, const std::string& deployment = "");

}  // namespace amlemu
