#include "serving/endpoint_store.hpp"

#include "storage/database.hpp"
#include "workspace/workspace_impl.hpp"

namespace amlemu::serving {

namespace {

using nlohmann::json;

constexpr const char* kEndpointColumns =
    "name, auth_mode, primary_key, secondary_key, port, traffic, mirror_traffic, definition, "
    "created_time, host_pid";

EndpointRecord read_endpoint(storage::Statement& st) {
  EndpointRecord r;
  auto& e = r.endpoint;
  e.name = st.text(0);
  e.auth_mode = st.text(1);
  r.primary_key = st.text(2);
  r.secondary_key = st.text(3);
  e.port = static_cast<int>(st.integer(4));
  e.traffic = json::parse(st.text(5)).get<std::map<std::string, int>>();
  e.mirror_traffic = json::parse(st.text(6)).get<std::map<std::string, int>>();
  const auto def = json::parse(st.text(7));
  e.description = def.value("description", "");
  e.tags = def.value("tags", std::map<std::string, std::string>{});
  e.created_time = st.text(8);
  r.host_pid = static_cast<int>(st.integer(9));
  e.scoring_uri = "http://127.0.0.1:" + std::to_string(e.port) + "/score";
  e.swagger_uri = "http://127.0.0.1:" + std::to_string(e.port) + "/swagger.json";
  return r;
}

json definition_of(const OnlineEndpoint& e) {
  return {{"description", e.description}, {"tags", e.tags}};
}

json probe_json(const ProbeSettings& p) {
  return {{"initial_delay", p.initial_delay}, {"period", p.period}, {"timeout", p.timeout},
          {"success_threshold", p.success_threshold}, {"failure_threshold", p.failure_threshold}};
}

ProbeSettings probe_from(const json& j) {
  ProbeSettings p;
  if (!j.is_object()) return p;
  p.initial_delay = j.value("initial_delay", p.initial_delay);
  p.period = j.value("period", p.period);
  p.timeout = j.value("timeout", p.timeout);
  p.success_threshold = j.value("success_threshold", p.success_threshold);
  p.failure_threshold = j.value("failure_threshold", p.failure_threshold);
  return p;
}

DeploymentRecord read_deployment(storage::Statement& st) {
  DeploymentRecord r;
  r.deployment = deployment_from_json(json::parse(st.text(2)));
  r.deployment.endpoint = st.text(0);
  r.deployment.name = st.text(1);
  r.python = st.text(3);
  r.deployment.provisioning_state = st.text(4);
  r.deployment.error = st.text(5);
  r.deployment.created_time = st.text(6);
  return r;
}

}  // namespace

json deployment_json(const OnlineDeployment& d) {
  json j = {{"name", d.name},
            {"endpoint_name", d.endpoint},
            {"model", d.model.empty() ? d.model_path.string() : d.model},
            {"code_configuration", {{"code", d.code.string()}, {"scoring_script", d.scoring_script}}},
            {"environment", d.environment},
            {"instance_count", d.instance_count},
            {"request_settings",
             {{"request_timeout_ms", d.request_timeout_ms},
              {"max_concurrent_requests_per_instance", d.max_concurrent_requests_per_instance}}},
            {"liveness_probe", probe_json(d.liveness)},
            {"readiness_probe", probe_json(d.readiness)},
            {"environment_variables", d.environment_variables},
            {"instance_type", d.instance_type},
            {"description", d.description}};
  return j;
}

OnlineDeployment deployment_from_json(const json& j) {
  OnlineDeployment d;
  d.name = j.value("name", "");
  d.endpoint = j.value("endpoint_name", "");
  const std::string model = j.value("model", "");
  if (model.rfind("azureml:", 0) == 0) {
    d.model = model;
  } else {
    d.model_path = model;
  }
  const auto code = j.value("code_configuration", json::object());
  d.code = code.value("code", "");
  d.scoring_script = code.value("scoring_script", "");
  d.environment = j.value("environment", json());
  d.instance_count = j.value("instance_count", 1);
  const auto rs = j.value("request_settings", json::object());
  d.request_timeout_ms = rs.value("request_timeout_ms", 5000);
  d.max_concurrent_requests_per_instance = rs.value("max_concurrent_requests_per_instance", 1);
  d.liveness = probe_from(j.value("liveness_probe", json::object()));
  d.readiness = probe_from(j.value("readiness_probe", json::object()));
  d.environment_variables = j.value("environment_variables", std::map<std::string, std::string>{});
  d.instance_type = j.value("instance_type", "");
  d.description = j.value("description", "");
  return d;
}

bool EndpointStore::insert(const EndpointRecord& r) {
  auto& db = detail::database(ws_);
  storage::Transaction tx(db);
  if (find(r.endpoint.name)) return false;
  db.prepare(std::string("INSERT INTO online_endpoints (") + kEndpointColumns +
             ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(1, r.endpoint.name)
      .bind(2, r.endpoint.auth_mode)
      .bind(3, r.primary_key)
      .bind(4, r.secondary_key)
      .bind(5, r.endpoint.port)
      .bind(6, json(r.endpoint.traffic).dump())
      .bind(7, json(r.endpoint.mirror_traffic).dump())
      .bind(8, definition_of(r.endpoint).dump())
      .bind(9, r.endpoint.created_time)
      .bind(10, r.host_pid)
      .run();
  tx.commit();
  return true;
}

std::optional<EndpointRecord> EndpointStore::find(const std::string& name) {
  auto st = detail::database(ws_).prepare(std::string("SELECT ") + kEndpointColumns +
                                          " FROM online_endpoints WHERE name = ?1");
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  return read_endpoint(st);
}

std::vector<EndpointRecord> EndpointStore::list() {
  auto st = detail::database(ws_).prepare(std::string("SELECT ") + kEndpointColumns +
                                          " FROM online_endpoints ORDER BY created_time DESC, name");
  std::vector<EndpointRecord> out;
  while (st.step()) out.push_back(read_endpoint(st));
  return out;
}

void EndpointStore::update(const OnlineEndpoint& e) {
  detail::database(ws_)
      .prepare("UPDATE online_endpoints SET traffic = ?2, mirror_traffic = ?3, definition = ?4 "
               "WHERE name = ?1")
      .bind(1, e.name)
      .bind(2, json(e.traffic).dump())
      .bind(3, json(e.mirror_traffic).dump())
      .bind(4, definition_of(e).dump())
      .run();
}

void EndpointStore::set_host_pid(const std::string& name, int pid) {
  detail::database(ws_)
      .prepare("UPDATE online_endpoints SET host_pid = ?2 WHERE name = ?1")
      .bind(1, name)
      .bind(2, pid)
      .run();
}

std::int64_t EndpointStore::bump_generation(const std::string& name) {
  auto& db = detail::database(ws_);
  storage::Transaction tx(db);
  db.prepare("UPDATE online_endpoints SET generation = generation + 1 WHERE name = ?1").bind(1, name).run();
  const auto g = generations(name).first;
  tx.commit();
  return g;
}

std::pair<std::int64_t, std::int64_t> EndpointStore::generations(const std::string& name) {
  auto st = detail::database(ws_).prepare("SELECT generation, applied FROM online_endpoints WHERE name = ?1");
  st.bind(1, name);
  if (!st.step()) return {0, 0};
  return {st.integer(0), st.integer(1)};
}

void EndpointStore::set_applied(const std::string& name, std::int64_t generation) {
  detail::database(ws_)
      .prepare("UPDATE online_endpoints SET applied = MAX(applied, ?2) WHERE name = ?1")
      .bind(1, name)
      .bind(2, generation)
      .run();
}

bool EndpointStore::remove(const std::string& name) {
  auto& db = detail::database(ws_);
  storage::Transaction tx(db);
  db.prepare("DELETE FROM online_deployments WHERE endpoint = ?1").bind(1, name).run();
  db.prepare("DELETE FROM online_endpoints WHERE name = ?1").bind(1, name).run();
  const bool removed = db.changes() > 0;
  tx.commit();
  return removed;
}

bool EndpointStore::insert(const DeploymentRecord& r) {
  auto& db = detail::database(ws_);
  storage::Transaction tx(db);
  if (find(r.deployment.endpoint, r.deployment.name)) return false;
  db.prepare("INSERT INTO online_deployments (endpoint, name, definition, python, state, error, "
             "created_time) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind(1, r.deployment.endpoint)
      .bind(2, r.deployment.name)
      .bind(3, deployment_json(r.deployment).dump())
      .bind(4, r.python)
      .bind(5, r.deployment.provisioning_state)
      .bind(6, r.deployment.error)
      .bind(7, r.deployment.created_time)
      .run();
  tx.commit();
  return true;
}

std::optional<DeploymentRecord> EndpointStore::find(const std::string& endpoint, const std::string& name) {
  auto st = detail::database(ws_).prepare(
      "SELECT endpoint, name, definition, python, state, error, created_time FROM "
      "online_deployments WHERE endpoint = ?1 AND name = ?2");
  st.bind(1, endpoint).bind(2, name);
  if (!st.step()) return std::nullopt;
  return read_deployment(st);
}

std::vector<DeploymentRecord> EndpointStore::list_deployments(const std::string& endpoint) {
  auto st = detail::database(ws_).prepare(
      "SELECT endpoint, name, definition, python, state, error, created_time FROM "
      "online_deployments WHERE endpoint = ?1 ORDER BY created_time, name");
  st.bind(1, endpoint);
  std::vector<DeploymentRecord> out;
  while (st.step()) out.push_back(read_deployment(st));
  return out;
}

void EndpointStore::set_state(const std::string& endpoint, const std::string& name,
                              const std::string& state, const std::string& error) {
  detail::database(ws_)
      .prepare("UPDATE online_deployments SET state = ?3, error = ?4 WHERE endpoint = ?1 AND name = ?2")
      .bind(1, endpoint)
      .bind(2, name)
      .bind(3, state)
      .bind(4, error)
      .run();
}

bool EndpointStore::remove(const std::string& endpoint, const std::string& name) {
  auto& db = detail::database(ws_);
  db.prepare("DELETE FROM online_deployments WHERE endpoint = ?1 AND name = ?2")
      .bind(1, endpoint)
      .bind(2, name)
      .run();
  return db.changes() > 0;
}

}  // namespace amlemu::serving
