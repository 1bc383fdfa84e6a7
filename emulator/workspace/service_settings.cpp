// The service plane's settings on disk ($AMLEMU_HOME/server) and the variables that point
// unchanged clients at the server. See include/amlemu/service.hpp.
#include "amlemu/service.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "amlemu/workspace.hpp"
#include "common/fs.hpp"
#include "common/ids.hpp"
#include "common/proc.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;

stdfs::path service_dir() { return amlemu_home() / "server"; }
stdfs::path service_ca_bundle() { return service_dir() / "ca-bundle.pem"; }

namespace {

stdfs::path credentials_file() { return service_dir() / "credentials.json"; }
stdfs::path process_file() { return service_dir() / "server.json"; }

ServiceCredentials parse_credentials(const stdfs::path& file) {
  try {
    const auto doc = nlohmann::json::parse(fs::read_file(file));
    ServiceCredentials c;
    c.msi_secret = doc.at("msiSecret").get<std::string>();
    c.proxy_password = doc.at("proxyPassword").get<std::string>();
    c.signing_key = doc.at("signingKey").get<std::string>();
    c.tenant_id = doc.at("tenantId").get<std::string>();
    if (c.signing_key.size() != 64) throw std::runtime_error("signingKey must be 64 hex digits");
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(file.string() + ": not amlemu's credentials file (" + e.what() +
                             "); remove it to make new ones");
  }
}

// The current value of a variable, for lists the user may already have (NO_PROXY).
std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

ServiceCredentials service_credentials() {
  const auto file = credentials_file();
  std::error_code ec;
  if (stdfs::exists(file, ec)) return parse_credentials(file);
  stdfs::create_directories(service_dir());
  ::chmod(service_dir().c_str(), 0700);
  const nlohmann::json doc = {{"msiSecret", secret_hex(40)},
                              {"proxyPassword", secret_hex(40)},
                              {"signingKey", secret_hex(64)},
                              {"tenantId", new_guid()}};
  // Written beside the target, then linked into place: a second process doing the same at the
  // same moment either wins or finds this file, and both read one set of secrets.
  auto tmp = file;
  tmp += ".tmp-" + random_hex(8);
  {
    fs::Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0) fs::throw_errno("cannot write", tmp);
    const auto text = doc.dump(2) + "\n";
    fs::write_all(fd.get(), text.data(), text.size(), tmp);
    ::fsync(fd.get());
  }
  const int linked = ::link(tmp.c_str(), file.c_str());
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (linked != 0 && link_errno != EEXIST) {
    errno = link_errno;
    fs::throw_errno("cannot write", file);
  }
  return parse_credentials(file);
}

int service_port() {
  std::error_code ec;
  if (!stdfs::exists(process_file(), ec)) return kDefaultServicePort;
  try {
    const auto doc = nlohmann::json::parse(fs::read_file(process_file()));
    const long pid = doc.at("pid").get<long>();
    const auto start = doc.at("startTicks").get<std::int64_t>();
    if (pid > 0 && process_alive(pid, start)) return doc.at("port").get<int>();
  } catch (const std::exception&) {
    // A torn or foreign file says nothing about a running server.
  }
  return kDefaultServicePort;
}

void record_service_process(int port, int pid) {
  if (pid == 0) {
    std::error_code ec;
    stdfs::remove(process_file(), ec);
    return;
  }
  stdfs::create_directories(service_dir());
  const auto start = process_start_ticks(pid);
  fs::atomic_write(process_file(),
                   nlohmann::json{{"port", port}, {"pid", pid}, {"startTicks", start.value_or(0)}}
                           .dump() + "\n",
                   fs::Durability::unsynced);
}

std::vector<std::pair<std::string, std::string>> service_environment(int port) {
  const auto creds = service_credentials();
  const std::string base = "https://127.0.0.1:" + std::to_string(port);
  const std::string proxy =
      "http://amlemu:" + creds.proxy_password + "@127.0.0.1:" + std::to_string(port);
  // Direct calls to the server skip the proxy; only the storage names it answers for use it.
  std::vector<std::string> hosts = {"127.0.0.1", "localhost"};
  for (const char* name : {"NO_PROXY", "no_proxy"}) {
    std::stringstream list(env_or_empty(name));
    for (std::string h; std::getline(list, h, ',');) {
      if (!h.empty() && std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
    }
  }
  std::string no_proxy;
  for (const auto& h : hosts) no_proxy += (no_proxy.empty() ? "" : ",") + h;
  const auto bundle = service_ca_bundle().string();
  return {
      {"AZUREML_CURRENT_CLOUD", kServiceCloudName},
      {"ARM_CLOUD_METADATA_URL", base + "/metadata/endpoints?api-version=2019-05-01"},
      {"MSI_ENDPOINT", base + "/msi/token"},
      {"MSI_SECRET", creds.msi_secret},
      {"REQUESTS_CA_BUNDLE", bundle},
      {"SSL_CERT_FILE", bundle},
      {"HTTPS_PROXY", proxy},
      {"https_proxy", proxy},
      {"NO_PROXY", no_proxy},
      {"no_proxy", no_proxy},
  };
}

std::string mlflow_tracking_uri(const std::string& subscription_id,
                                const std::string& resource_group,
                                const std::string& workspace_name, int port) {
  return "azureml://127.0.0.1:" + std::to_string(port) + "/mlflow/v1.0/subscriptions/" +
         subscription_id + "/resourceGroups/" + resource_group +
         "/providers/Microsoft.MachineLearningServices/workspaces/" + workspace_name;
}

}  // namespace amlemu
