// Online endpoints and deployments over the service plane, as azure-ai-ml's online_endpoints and
// online_deployments send them. A PUT finishes its work before it answers (a deployment's
// environment built and its instances ready), so the SDK's poller ends on the first answer, with
// provisioningState Succeeded. The SDK then calls the scoring URI itself, with a key from
// listKeys.
#include "amlemu/endpoints.hpp"
#include "amlemu/errors.hpp"
#include "server/arm.hpp"
#include "server/service.hpp"

namespace amlemu::server {

namespace {

using nlohmann::json;

json endpoint_resource(const Workspace& ws, const OnlineEndpoint& e) {
  auto r = arm::resource(ws, "onlineEndpoints", "onlineEndpoints/" + e.name, e.name, endpoint_to_rest(e),
                         e.created_time);
  r["location"] = "local";
  r["kind"] = "Managed";
  r["tags"] = e.tags;
  r["identity"] = {{"type", "None"}};
  return r;
}

json deployment_resource(const Workspace& ws, const OnlineDeployment& d) {
  auto r = arm::resource(ws, "onlineEndpoints/deployments",
                         "onlineEndpoints/" + d.endpoint + "/deployments/" + d.name, d.name,
                         deployment_to_rest(ws, d), d.created_time);
  r["location"] = "local";
  r["kind"] = "Managed";
  r["tags"] = json::object();
  r["sku"] = {{"name", "Default"}, {"tier", "Standard"}, {"capacity", d.instance_count}};
  return r;
}

OnlineEndpoint endpoint_of(const Call& call) {
  const auto e = get_online_endpoint(call.workspace(), call.param("name"));
  if (!e) throw HttpError(404, "UserError", "Could not find online endpoint " + call.param("name") + ".");
  return *e;
}

Response endpoints(Call& call) {
  json items = json::array();
  for (const auto& e : list_online_endpoints(call.workspace())) items.push_back(endpoint_resource(call.workspace(), e));
  return json_response(call, 200, arm::list(items));
}

Response endpoint_get(Call& call) { return json_response(call, 200, endpoint_resource(call.workspace(), endpoint_of(call))); }

Response endpoint_put(Call& call) {
  const auto wanted = endpoint_from_rest(call.param("name"), call.json_body());
  const auto& ws = call.workspace();
  // An existing endpoint: update_online_endpoint takes what a PUT may change (description, tags,
  // traffic, mirror traffic) and keeps the rest.
  if (get_online_endpoint(ws, wanted.name)) {
    return json_response(call, 200, endpoint_resource(ws, update_online_endpoint(ws, wanted)));
  }
  return json_response(call, 201, endpoint_resource(ws, create_online_endpoint(ws, wanted)));
}

Response endpoint_delete(Call& call) {
  delete_online_endpoint(call.workspace(), endpoint_of(call).name);
  return json_response(call, 200, json::object());
}

Response list_keys(Call& call) {
  const auto e = endpoint_of(call);
  if (e.auth_mode != "key") throw HttpError(400, "UserError", "Endpoint " + e.name + " uses AMLToken auth: ask for a token");
  return json_response(call, 200, get_endpoint_credentials(call.workspace(), e.name));
}

Response get_token(Call& call) {
  const auto e = endpoint_of(call);
  if (e.auth_mode != "aml_token") throw HttpError(400, "UserError", "Endpoint " + e.name + " uses Key auth: list its keys");
  return json_response(call, 200, get_endpoint_credentials(call.workspace(), e.name));
}

OnlineDeployment deployment_of(const Call& call) {
  const auto d = get_online_deployment(call.workspace(), call.param("name"), call.param("deployment"));
  if (!d) {
    throw HttpError(404, "UserError", "Could not find deployment " + call.param("deployment") + " of online endpoint " +
                                          call.param("name") + ".");
  }
  return *d;
}

Response deployments(Call& call) {
  endpoint_of(call);
  json items = json::array();
  for (const auto& d : list_online_deployments(call.workspace(), call.param("name"))) {
    items.push_back(deployment_resource(call.workspace(), d));
  }
  return json_response(call, 200, arm::list(items));
}

Response deployment_get(Call& call) { return json_response(call, 200, deployment_resource(call.workspace(), deployment_of(call))); }

Response deployment_put(Call& call) {
  const auto& ws = call.workspace();
  endpoint_of(call);
  if (get_online_deployment(ws, call.param("name"), call.param("deployment"))) {
    throw HttpError(409, "UserError", "Deployment " + call.param("deployment") + " exists; amlemu does not update "
                                      "deployments yet: delete it and create it again");
  }
  const auto d = deployment_from_rest(ws, call.param("name"), call.param("deployment"), call.json_body());
  return json_response(call, 200, deployment_resource(ws, create_online_deployment(ws, d)));
}

Response deployment_delete(Call& call) {
  delete_online_deployment(call.workspace(), call.param("name"), deployment_of(call).name);
  return json_response(call, 200, json::object());
}

Response deployment_logs(Call& call) {
  const auto d = deployment_of(call);
  const auto body = call.json_body();
  const int tail = body.is_object() && body.contains("tail") && body["tail"].is_number_integer() ? body["tail"].get<int>() : 0;
  return json_response(call, 200, {{"content", get_deployment_logs(call.workspace(), d.endpoint, d.name, tail)}});
}

}  // namespace

void add_endpoint_routes(Router& r) {
  const std::string base = std::string(kWorkspacePattern) + "/onlineEndpoints";
  r.add(http::verb::get, base, endpoints);
  r.add(http::verb::get, base + "/{name}", endpoint_get);
  r.add(http::verb::put, base + "/{name}", endpoint_put);
  r.add(http::verb::delete_, base + "/{name}", endpoint_delete);
  r.add(http::verb::post, base + "/{name}/listKeys", list_keys);
  r.add(http::verb::post, base + "/{name}/token", get_token);
  r.add(http::verb::get, base + "/{name}/deployments", deployments);
  r.add(http::verb::get, base + "/{name}/deployments/{deployment}", deployment_get);
  r.add(http::verb::put, base + "/{name}/deployments/{deployment}", deployment_put);
  r.add(http::verb::delete_, base + "/{name}/deployments/{deployment}", deployment_delete);
  r.add(http::verb::post, base + "/{name}/deployments/{deployment}/getLogs", deployment_logs);
}

}  // namespace amlemu::server
