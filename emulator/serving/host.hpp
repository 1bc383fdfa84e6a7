// An endpoint's host process (`amlemu-runner --endpoint-host`): the router on the endpoint's
// loopback port and the supervisor of its deployments' instances. Started detached by the
// library when an endpoint is created (or found not running); re-reads the workspace on SIGHUP;
// on SIGTERM stops every instance and exits.
#pragma once

#include <filesystem>
#include <string>

namespace amlemu::serving {

/// The host's main loop; returns the process's exit code.
int run_endpoint_host(const std::filesystem::path& state_dir, const std::string& endpoint);

/// Where an endpoint keeps its files: <workspace>/endpoints/<endpoint>/.
std::filesystem::path endpoint_dir(const std::filesystem::path& state_dir, const std::string& endpoint);
/// A deployment's folder under it: code/, azureml-models/, logs/.
std::filesystem::path deployment_dir(const std::filesystem::path& state_dir, const std::string& endpoint,
                                     const std::string& deployment);

/// The Unix socket instance `i` of a deployment listens on (under a private folder of the user's
/// in the temporary directory: a socket path has 107 bytes at most).
std::string instance_socket(const std::filesystem::path& state_dir, const std::string& endpoint,
                            const std::string& deployment, size_t i);

/// The token of aml_token auth for `expiry` (epoch seconds), from the endpoint's key:
/// "<expiry>.<hash>"; and whether a token is one of the endpoint's and not expired.
std::string endpoint_token(const std::string& key, long long expiry);
bool token_valid(const std::string& key, const std::string& token, long long now);

}  // namespace amlemu::serving
