// The service plane's settings: where `amlemu serve` keeps its certificate authority and secrets,
// which port it listens on, and the environment variables that point the unchanged Azure SDKs at
// it. Shared by the server and the CLI's `amlemu env`; nothing here opens a socket.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace amlemu {

/// The port `amlemu serve` listens on when none is given (127.0.0.1 only).
inline constexpr int kDefaultServicePort = 8643;
/// The cloud name the server's metadata answers with (`AZUREML_CURRENT_CLOUD`).
inline constexpr const char* kServiceCloudName = "AmlemuCloud";
/// The storage suffix of that cloud: datastores live at `<account>.blob.<suffix>`, names that
/// reach the server through its proxy (`HTTPS_PROXY`) and never the network: .test is reserved
/// (RFC 2606) and resolves nowhere, and it is not under localhost, which NO_PROXY lists. It starts
/// with "core." because the storage SDK finds the account name by splitting on ".blob.core.".
inline constexpr const char* kServiceStorageSuffix = "core.amlemu.test";

/// `$AMLEMU_HOME/server`: the certificate authority, the server certificate and the secrets.
std::filesystem::path service_dir();
/// The CA bundle clients trust (`REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`): amlemu's own CA followed
/// by the machine's public CAs, so other HTTPS traffic of the same shell keeps working.
std::filesystem::path service_ca_bundle();

/// The secrets the server checks. Created at random (from the kernel's entropy, file mode 0600)
/// by whichever of `amlemu serve` and `amlemu env` runs first; the same afterwards.
struct ServiceCredentials {
  std::string msi_secret;      // the `secret` header of the managed-identity token endpoint
  std::string proxy_password;  // Proxy-Authorization of the storage proxy (user "amlemu")
  std::string signing_key;     // 64 hex digits: signs bearer tokens and derives account keys
  std::string tenant_id;       // the `tid` of issued tokens
};
/// Reads `service_dir()/credentials.json`, creating it first when missing. Safe against a
/// concurrent first call from another process. Throws std::runtime_error naming the file.
ServiceCredentials service_credentials();

/// The port of the server running for this $AMLEMU_HOME (its `server.json`, while the process
/// that wrote it lives), else kDefaultServicePort.
int service_port();

/// Records (or, with pid 0, clears) the running server's port and pid in `server.json`.
void record_service_process(int port, int pid);

/// The variables that point unchanged clients at the server on `port`, in the order `amlemu env`
/// prints them: cloud metadata, managed identity, CA bundle, storage proxy.
std::vector<std::pair<std::string, std::string>> service_environment(int port);

/// The workspace's MLflow tracking URI as the service gives it (`mlflowTrackingUri`):
/// azureml://127.0.0.1:<port>/mlflow/v1.0/subscriptions/<sub>/resourceGroups/<rg>/providers/
/// Microsoft.MachineLearningServices/workspaces/<name>. The azureml-mlflow plugin turns it into
/// https://127.0.0.1:<port>/mlflow/v2.0/... calls to the server.
std::string mlflow_tracking_uri(const std::string& subscription_id,
                                const std::string& resource_group,
                                const std::string& workspace_name, int port);

}  // namespace amlemu
