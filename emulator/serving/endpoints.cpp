// Online endpoints (include/amlemu/endpoints.hpp): validation, the deployment's environment,
// model and code, the endpoint's host process, and a client for invoke.
#include "amlemu/endpoints.hpp"

#include <signal.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "amlemu/errors.hpp"
#include "amlemu/estimator.hpp"
#include "amlemu/job_yaml.hpp"
#include "amlemu/model.hpp"
#include "common/clock.hpp"
#include "common/fs.hpp"
#include "common/ids.hpp"
#include "common/launcher.hpp"
#include "common/paths.hpp"
#include "common/proc.hpp"
#include "environment/environment.hpp"
#include "serving/endpoint_store.hpp"
#include "serving/host.hpp"
#include "spec/data_inputs.hpp"
#include "workspace/layout.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace std::chrono_literals;
using serving::EndpointStore;

namespace {

// The service's rule for endpoint and deployment names: 3 to 32 characters, a letter first,
// then letters, digits and '-', not ending with '-'.
void check_name(const std::string& what, const std::string& name) {
  bool ok = name.size() >= 3 && name.size() <= 32 && std::isalpha(static_cast<unsigned char>(name[0])) &&
            name.back() != '-';
  for (const char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-');
  if (!ok) {
    throw UserErrorException(what + " name '" + name + "' must be 3 to 32 characters: a letter first, then "
                             "letters, digits and '-' (not last)");
  }
}

void check_shares(const std::map<std::string, int>& shares, const std::string& what, bool sums_to_100,
                  const std::vector<serving::DeploymentRecord>& deployments) {
  int total = 0;
  for (const auto& entry : shares) {
    const std::string& name = entry.first;  // a plain reference: Clang 14 cannot capture a structured binding
    const int share = entry.second;
    if (share < 0 || share > 100) throw UserErrorException(what + "." + name + ": must be 0 to 100");
    const bool known = std::any_of(deployments.begin(), deployments.end(),
                                   [&](const auto& d) { return d.deployment.name == name; });
    if (!known && share > 0) {
      throw UserErrorException(what + "." + name + ": the endpoint has no deployment '" + name + "'");
    }
    total += share;
  }
  if (sums_to_100 && total != 0 && total != 100) {
    throw UserErrorException(what + ": the shares sum to " + std::to_string(total) + "; they must sum to 100 (or 0)");
  }
}

int free_port() {
  net::io_context ioc;
  net::ip::tcp::acceptor a(ioc, net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

bool host_alive(int pid) {
  if (pid <= 0 || !process_alive(pid, std::nullopt)) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return cmd.find("--endpoint-host") != std::string::npos;
}

std::string last_line(const stdfs::path& file) {
  std::ifstream in(file);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

serving::EndpointRecord require_endpoint(const Workspace& ws, const std::string& name) {
  auto r = EndpointStore(ws).find(name);
  if (!r) throw NotFoundException("online endpoint '" + name + "' not found in workspace '" + ws.name() + "'");
  return *r;
}

// Starts the endpoint's host unless it runs; returns its pid.
int ensure_host(const Workspace& ws, const std::string& name) {
  const auto r = require_endpoint(ws, name);
  if (host_alive(r.host_pid)) return r.host_pid;
  const auto dir = serving::endpoint_dir(ws.state_dir(), name);
  stdfs::create_directories(dir);
  const auto log = dir / "host.log";
  const auto launcher = make_local_launcher();
  ProcessSpec spec;
  spec.program = runner_executable();
  spec.args = {"--endpoint-host", "--state-dir", ws.state_dir().string(), "--endpoint", name, "--detach"};
  spec.env = current_environment();
  spec.cwd = dir;
  spec.output_file = log;
  if (run_to_end(*launcher, spec) != 0) {
    throw AmlException("online endpoint " + name + ": its host did not start: " + last_line(log));
  }
  const auto until = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < until) {
    const auto now = EndpointStore(ws).find(name);
    if (!now) throw NotFoundException("online endpoint '" + name + "' was deleted");
    if (now->host_pid != r.host_pid && host_alive(now->host_pid)) return now->host_pid;
    std::this_thread::sleep_for(20ms);
  }
  throw AmlException("online endpoint " + name + ": its host did not start: " + last_line(log));
}

// Has the host apply what changed, and waits until it has: a request sent after this returns
// sees the new traffic, and a deleted deployment's instances have stopped.
void signal_host(const Workspace& ws, const std::string& name) {
  const auto generation = EndpointStore(ws).bump_generation(name);
  const int pid = ensure_host(ws, name);
  ::kill(pid, SIGHUP);
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < until) {
    if (EndpointStore(ws).generations(name).second >= generation) return;
    if (!host_alive(pid)) break;
    std::this_thread::sleep_for(10ms);
  }
  throw AmlException("online endpoint " + name + ": its host did not apply the change in time (see " +
                     (serving::endpoint_dir(ws.state_dir(), name) / "host.log").string() + ")");
}

OnlineEndpoint shown(const serving::EndpointRecord& r) {
  auto e = r.endpoint;
  e.provisioning_state = host_alive(r.host_pid) ? "Succeeded" : "NotRunning";
  return e;
}

struct Built {
  stdfs::path python;
};

// The deployment's environment, as a job's is built, with the inference server added (what
// Azure's inference images carry); an image alone becomes the machine's interpreter with it.
Built build_scoring_environment(const Workspace& ws, const OnlineDeployment& d, const stdfs::path& log,
                                std::ostream* progress) {
  Estimator e = environment_estimator_from(ws, d.environment);
  for (const auto& w : e.warnings) {
    if (progress) *progress << "Warning: " << w << "\n";
  }
  e.user_managed_dependencies = false;
  const bool own_packages = !e.pip_packages.empty() || !e.conda_packages.empty();
  e.pip_packages.push_back("azureml-inference-server-http");
  if (!own_packages) {
    // On the machine's interpreter, the server's azure.monitor.opentelemetry must be the
    // environment's whole: a base Python with the azure-monitor-opentelemetry distribution (the
    // Azure SDKs bring it) would otherwise lend its regular package, which shadows the
    // environment's namespace portion, and the server could not import its exporter.
    e.pip_packages.push_back("azure-monitor-opentelemetry");
  }
  const nlohmann::json def = {{"environment", environment_definition(e)}, {"framework", "Python"}};
  const auto launcher = make_local_launcher();
  auto spec = environment::resolve(def, *launcher);
  if (!own_packages) spec.installed_here = {"azureml-inference-server-http", "azure-monitor-opentelemetry"};
  // An environment with packages of its own is that and the server only; an image alone is the
  // machine's interpreter with its packages, as an image's would be, and the server.
  spec.isolated = own_packages;
  const auto root = layout::environments(ws.state_dir());
  if (progress && !environment::is_ready(spec, root)) {
    *progress << "Building the deployment's environment " << spec.id() << " (" << spec.interpreter << ")\n"
              << std::flush;
  }
  stdfs::create_directories(log.parent_path());
  const auto p = environment::prepare(spec, root, log, *launcher);
  return {p.python};
}

// The model read-only under azureml-models/<name>/<version>/, as on Azure.
void materialise_model(const Workspace& ws, const OnlineDeployment& d, const stdfs::path& dir) {
  if (!d.model.empty()) {
    const auto ref = spec::short_asset(d.model);  // azureml:<name>:<version> or azureml:<name>@latest
    const std::string name = ref ? ref->first : d.model.substr(8);
    const std::string version = ref ? ref->second : "";
    std::optional<int> v;
    if (!version.empty()) {
      try {
        v = std::stoi(version);
      } catch (const std::exception&) {
        throw UserErrorException("model: '" + d.model + "': the version must be a number");
      }
    }
    std::optional<Model> model;
    try {
      model.emplace(ws, name, v);
    } catch (const AmlException&) {
      throw UserErrorException("model: '" + d.model + "' is not registered in workspace '" + ws.name() + "'");
    }
    const auto target = dir / "azureml-models" / model->name() / std::to_string(model->version());
    stdfs::create_directories(target);
    model->download(target, true);
    return;
  }
  const auto name = d.model_path.filename().string();
  const auto target = dir / "azureml-models" / name / "1";
  stdfs::create_directories(target);
  if (stdfs::is_directory(d.model_path)) {
    fs::copy_tree(d.model_path, target / name);
  } else {
    fs::copy_file(d.model_path, target / name);
  }
}

// The exception the user's script raised, from an instance's log: the last line of the form
// "<Type>Error: ..." or "<Type>Exception: ..." that the server itself did not write.
std::string raised(const std::string& error) {
  std::string last;
  std::istringstream in(error);
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(": ");
    if (colon == std::string::npos || line.empty() || line[0] == ' ') continue;
    const auto type = line.substr(0, colon);
    const bool named = type.ends_with("Error") || type.ends_with("Exception") || type.ends_with("Interrupt");
    const bool plain = type.find(' ') == std::string::npos;
    if (named && plain && type.rfind("azureml_inference_server_http", 0) != 0) last = line;
  }
  return last;
}

}  // namespace

nlohmann::json serialize(const OnlineEndpoint& e) {
  return {{"name", e.name},
          {"auth_mode", e.auth_mode},
          {"scoring_uri", e.scoring_uri},
          {"swagger_uri", e.swagger_uri},
          {"traffic", e.traffic},
          {"mirror_traffic", e.mirror_traffic},
          {"provisioning_state", e.provisioning_state},
          {"description", e.description},
          {"tags", e.tags},
          {"created_time", e.created_time}};
}

nlohmann::json serialize(const OnlineDeployment& d) {
  auto j = serving::deployment_json(d);
  j["provisioning_state"] = d.provisioning_state;
  if (!d.error.empty()) j["error"] = d.error;
  j["created_time"] = d.created_time;
  return j;
}

OnlineEndpoint create_online_endpoint(const Workspace& ws, const OnlineEndpoint& endpoint) {
  check_name("endpoint", endpoint.name);
  if (endpoint.auth_mode != "key" && endpoint.auth_mode != "aml_token") {
    throw UserErrorException("auth_mode: '" + endpoint.auth_mode + "' is not supported (key or aml_token)");
  }
  check_shares(endpoint.traffic, "traffic", true, {});
  check_shares(endpoint.mirror_traffic, "mirror_traffic", false, {});
  serving::EndpointRecord r;
  r.endpoint = endpoint;
  r.endpoint.port = free_port();
  r.endpoint.created_time = now_iso();
  r.primary_key = secret_hex(32);
  r.secondary_key = secret_hex(32);
  if (!EndpointStore(ws).insert(r)) {
    throw UserErrorException("online endpoint '" + endpoint.name + "' already exists in workspace '" + ws.name() + "'");
  }
  try {
    ensure_host(ws, endpoint.name);
  } catch (...) {
    EndpointStore(ws).remove(endpoint.name);
    throw;
  }
  return shown(require_endpoint(ws, endpoint.name));
}

OnlineEndpoint update_online_endpoint(const Workspace& ws, const OnlineEndpoint& endpoint) {
  auto r = require_endpoint(ws, endpoint.name);
  const auto deployments = EndpointStore(ws).list_deployments(endpoint.name);
  check_shares(endpoint.traffic, "traffic", true, deployments);
  check_shares(endpoint.mirror_traffic, "mirror_traffic", false, deployments);
  for (const auto& [name, share] : endpoint.mirror_traffic) {
    if (share > 0 && endpoint.traffic.count(name) && endpoint.traffic.at(name) > 0) {
      throw UserErrorException("mirror_traffic." + name + ": a deployment with live traffic cannot also get mirrored traffic");
    }
  }
  r.endpoint.description = endpoint.description;
  r.endpoint.tags = endpoint.tags;
  r.endpoint.traffic = endpoint.traffic;
  r.endpoint.mirror_traffic = endpoint.mirror_traffic;
  EndpointStore(ws).update(r.endpoint);
  signal_host(ws, endpoint.name);
  return shown(require_endpoint(ws, endpoint.name));
}

std::optional<OnlineEndpoint> get_online_endpoint(const Workspace& ws, const std::string& name) {
  const auto r = EndpointStore(ws).find(name);
  if (!r) return std::nullopt;
  return shown(*r);
}

std::vector<OnlineEndpoint> list_online_endpoints(const Workspace& ws) {
  std::vector<OnlineEndpoint> out;
  for (const auto& r : EndpointStore(ws).list()) out.push_back(shown(r));
  return out;
}

void delete_online_endpoint(const Workspace& ws, const std::string& name) {
  const auto r = require_endpoint(ws, name);
  if (host_alive(r.host_pid)) {
    ::kill(r.host_pid, SIGTERM);
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (host_alive(r.host_pid) && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(20ms);
    if (host_alive(r.host_pid)) ::kill(r.host_pid, SIGKILL);
  }
  EndpointStore(ws).remove(name);
  std::error_code ec;
  stdfs::remove_all(serving::endpoint_dir(ws.state_dir(), name), ec);
}

nlohmann::json get_endpoint_credentials(const Workspace& ws, const std::string& name) {
  const auto r = require_endpoint(ws, name);
  if (r.endpoint.auth_mode == "aml_token") {
    const auto expiry = epoch_seconds(std::chrono::system_clock::now()) + 24 * 3600;
    return {{"accessToken", serving::endpoint_token(r.primary_key, expiry)},
            {"expiryTimeUtc", expiry},
            {"tokenType", "Bearer"}};
  }
  return {{"primaryKey", r.primary_key}, {"secondaryKey", r.secondary_key}};
}

OnlineDeployment create_online_deployment(const Workspace& ws, const OnlineDeployment& deployment,
                                          bool all_traffic, std::ostream* progress) {
  check_name("deployment", deployment.name);
  const auto endpoint = EndpointStore(ws).find(deployment.endpoint);
  if (!endpoint) {
    throw UserErrorException("endpoint_name: online endpoint '" + deployment.endpoint + "' not found in workspace '" +
                             ws.name() + "'; create it first (amlemu online-endpoint create)");
  }
  if (EndpointStore(ws).find(deployment.endpoint, deployment.name)) {
    throw UserErrorException("online deployment '" + deployment.name + "' already exists in endpoint " + deployment.endpoint);
  }
  std::error_code ec;
  if (!stdfs::is_regular_file(deployment.code / deployment.scoring_script, ec)) {
    throw UserErrorException("code_configuration.scoring_script: '" + deployment.scoring_script + "' is not a file in " +
                             deployment.code.string());
  }
  if (deployment.model.empty() && !stdfs::exists(deployment.model_path, ec)) {
    throw UserErrorException("model.path: '" + deployment.model_path.string() + "' does not exist");
  }
  // Everything is made in a staging folder, then renamed into place: nothing half-made.
  const auto dir = serving::deployment_dir(ws.state_dir(), deployment.endpoint, deployment.name);
  const auto staging = dir.parent_path() / (".staging-" + deployment.name + "-" + random_hex(8));
  stdfs::create_directories(staging);
  serving::DeploymentRecord rec;
  try {
    materialise_model(ws, deployment, staging);
    fs::copy_tree(deployment.code, staging / "code");
    if (progress) *progress << "Model and code of " << deployment.name << " in place\n" << std::flush;
    rec.python = build_scoring_environment(ws, deployment, staging / "environment-build.txt", progress).python.string();
  } catch (...) {
    stdfs::remove_all(staging, ec);
    throw;
  }
  fs::make_read_only(staging / "azureml-models");
  stdfs::remove_all(dir, ec);
  stdfs::rename(staging, dir);
  rec.deployment = deployment;
  rec.deployment.provisioning_state = "Creating";
  rec.deployment.created_time = now_iso();
  if (!EndpointStore(ws).insert(rec)) {
    throw UserErrorException("online deployment '" + deployment.name + "' already exists in endpoint " + deployment.endpoint);
  }
  if (progress) *progress << "Starting " << deployment.instance_count << " instance(s) of " << deployment.name << "\n" << std::flush;
  signal_host(ws, deployment.endpoint);
  const auto until = std::chrono::steady_clock::now() + 15min;
  std::optional<serving::DeploymentRecord> now;
  while (std::chrono::steady_clock::now() < until) {
    now = EndpointStore(ws).find(deployment.endpoint, deployment.name);
    if (!now) throw AmlException("online deployment " + deployment.name + " was deleted while it was created");
    const auto& state = now->deployment.provisioning_state;
    if (state == "Succeeded" || state == "Failed") break;
    std::this_thread::sleep_for(100ms);
  }
  if (!now || now->deployment.provisioning_state != "Succeeded") {
    const auto why = now ? raised(now->deployment.error) : std::string();
    throw UserErrorException("online deployment " + deployment.name + " failed: its instances did not start" +
                             (why.empty() ? "" : " (" + why + ")") + "; its logs: amlemu online-deployment get-logs --name " +
                             deployment.name + " --endpoint-name " + deployment.endpoint);
  }
  if (all_traffic) {
    auto e = EndpointStore(ws).find(deployment.endpoint)->endpoint;
    e.traffic = {{deployment.name, 100}};
    e.mirror_traffic.erase(deployment.name);
    EndpointStore(ws).update(e);
    signal_host(ws, deployment.endpoint);
  }
  return now->deployment;
}

std::optional<OnlineDeployment> get_online_deployment(const Workspace& ws, const std::string& endpoint,
                                                      const std::string& name) {
  const auto r = EndpointStore(ws).find(endpoint, name);
  if (!r) return std::nullopt;
  return r->deployment;
}

std::vector<OnlineDeployment> list_online_deployments(const Workspace& ws, const std::string& endpoint) {
  require_endpoint(ws, endpoint);
  std::vector<OnlineDeployment> out;
  for (const auto& r : EndpointStore(ws).list_deployments(endpoint)) out.push_back(r.deployment);
  return out;
}

void delete_online_deployment(const Workspace& ws, const std::string& endpoint, const std::string& name) {
  const auto e = require_endpoint(ws, endpoint);
  const auto r = EndpointStore(ws).find(endpoint, name);
  if (!r) throw NotFoundException("online deployment '" + name + "' not found in endpoint " + endpoint);
  if (e.endpoint.traffic.count(name) && e.endpoint.traffic.at(name) > 0) {
    throw UserErrorException("online deployment " + name + " has " + std::to_string(e.endpoint.traffic.at(name)) +
                             "% of the traffic; give it 0 first (amlemu online-endpoint update --traffic ...)");
  }
  auto updated = e.endpoint;
  updated.mirror_traffic.erase(name);
  EndpointStore(ws).update(updated);
  EndpointStore(ws).remove(endpoint, name);
  if (host_alive(e.host_pid)) signal_host(ws, endpoint);  // its instances stop
  std::error_code ec;
  stdfs::remove_all(serving::deployment_dir(ws.state_dir(), endpoint, name), ec);
}

std::string get_deployment_logs(const Workspace& ws, const std::string& endpoint, const std::string& name,
                                int lines) {
  require_endpoint(ws, endpoint);
  if (!EndpointStore(ws).find(endpoint, name)) {
    throw NotFoundException("online deployment '" + name + "' not found in endpoint " + endpoint);
  }
  const auto log = serving::deployment_dir(ws.state_dir(), endpoint, name) / "logs" / "instance-0.log";
  std::error_code ec;
  if (!stdfs::exists(log, ec)) return "";
  return fs::tail_lines(log, static_cast<std::size_t>(std::max(0, lines)));
}

InvokeResult invoke_online_endpoint(const Workspace& ws, const std::string& endpoint, const std::string& body,
                                    const std::string& deployment) {
  ensure_host(ws, endpoint);
  const auto r = require_endpoint(ws, endpoint);
  const auto creds = get_endpoint_credentials(ws, endpoint);
  const std::string credential = r.endpoint.auth_mode == "aml_token" ? creds["accessToken"].get<std::string>()
                                                                     : creds["primaryKey"].get<std::string>();
  net::io_context ioc;
  net::ip::tcp::socket sock(ioc);
  beast::error_code ec;
  sock.connect({net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(r.endpoint.port)}, ec);
  if (ec) throw AmlException("online endpoint " + endpoint + ": cannot connect to " + r.endpoint.scoring_uri + ": " + ec.message());
  http::request<http::string_body> req{http::verb::post, "/score", 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(r.endpoint.port));
  req.set(http::field::authorization, "Bearer " + credential);
  req.set(http::field::content_type, "application/json");
  if (!deployment.empty()) req.set("azureml-model-deployment", deployment);
  req.body() = body;
  req.keep_alive(false);
  req.prepare_payload();
  http::write(sock, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  if (!ec) http::read(sock, buffer, res, ec);
  if (ec) throw AmlException("online endpoint " + endpoint + ": " + ec.message());
  return {static_cast<int>(res.result_int()), res.body(), std::string(res["azureml-model-deployment"])};
}

}  // namespace amlemu
