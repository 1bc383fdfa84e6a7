// Computes: AmlCompute clusters created, read, listed and deleted through ComputeTarget, and
// their nodes. Creation finishes at once (the cluster exists; its nodes scale as runs come), so
// the SDK's long-running-operation poller needs no second request.
#include "amlemu/compute.hpp"
#include "amlemu/errors.hpp"
#include "common/clock.hpp"
#include "server/arm.hpp"
#include "server/service.hpp"

namespace amlemu::server {

namespace {

using nlohmann::json;

json compute_resource(const Workspace& ws, const ComputeTarget& t) {
  const auto status = t.get_status();
  const auto& cfg = t.configuration();
  const std::string created = status.value("creationTime", "");
  json inner = {{"vmSize", cfg.vm_size},
                {"vmPriority", cfg.vm_priority == "lowpriority" ? "LowPriority" : "Dedicated"},
                {"scaleSettings", status["scaleSettings"]},
                {"subnet", nullptr},
                {"currentNodeCount", status["currentNodeCount"]},
                {"targetNodeCount", status["targetNodeCount"]},
                {"nodeStateCounts", status["nodeStateCounts"]},
                {"allocationState", status["allocationState"]},
                {"allocationStateTransitionTime", created},
                {"errors", nullptr},
                {"remoteLoginPortPublicAccess", "Disabled"},
                {"osType", "Linux"},
                {"virtualMachineImage", nullptr},
                {"isolatedNetwork", false},
                {"enableNodePublicIp", false},
                {"propertyBag", json::object()}};
  json props = {{"createdOn", created},
                {"modifiedOn", created},
                {"disableLocalAuth", true},
                {"description", nullptr},
                {"resourceId", nullptr},
                {"computeType", "AmlCompute"},
                {"computeLocation", "local"},
                {"provisioningState", t.provisioning_state()},
                {"provisioningErrors", nullptr},
                {"provisioningWarnings", json::object()},
                {"isAttachedCompute", false},
                {"properties", inner}};
  return {{"id", arm::id(ws, "computes/" + t.name())},
          {"name", t.name()},
          {"type", "Microsoft.MachineLearningServices/workspaces/computes"},
          {"location", "local"},
          {"tags", json::object()},
          {"properties", props}};
}

ComputeTarget find(const Call& call) {
  try {
    return ComputeTarget(call.workspace(), call.param("name"));
  } catch (const ComputeTargetException&) {
    throw HttpError(404, "UserError", "Compute " + call.param("name") + " not found in workspace " +
                                          call.workspace().name());
  }
}

Response get(Call& call) { return json_response(call, 200, compute_resource(call.workspace(), find(call))); }

Response list(Call& call) {
  json items = json::array();
  for (const auto& t : ComputeTarget::list(call.workspace())) {
    items.push_back(compute_resource(call.workspace(), t));
  }
  return json_response(call, 200, arm::list(items));
}

Response create(Call& call) {
  const auto body = call.json_body();
  if (!body.is_object() || !body.contains("properties") || !body["properties"].is_object()) {
    throw HttpError(400, "UserError", "properties: is required (an object with computeType)");
  }
  const auto& p = body["properties"];
  const std::string type = string_field(p, "computeType", "", "properties.computeType");
  if (type != "AmlCompute") {
    throw HttpError(400, "UserError", "properties.computeType: '" + type +
                                          "' is not supported; amlemu emulates AmlCompute clusters");
  }
  const json inner = p.contains("properties") && p["properties"].is_object() ? p["properties"] : json::object();
  const json scale = inner.contains("scaleSettings") && inner["scaleSettings"].is_object()
                         ? inner["scaleSettings"]
                         : json::object();
  auto integer = [&](const char* key, int fallback) -> int {
    if (!scale.contains(key) || scale[key].is_null()) return fallback;
    if (!scale[key].is_number_integer()) {
      throw HttpError(400, "UserError", std::string("properties.properties.scaleSettings.") + key +
                                            ": must be an integer");
    }
    return scale[key].get<int>();
  };
  int idle = 1800;
  if (scale.contains("nodeIdleTimeBeforeScaleDown") && scale["nodeIdleTimeBeforeScaleDown"].is_string()) {
    const auto s = iso8601_duration_seconds(scale["nodeIdleTimeBeforeScaleDown"].get<std::string>());
    if (!s) {
      throw HttpError(400, "UserError",
                      "properties.properties.scaleSettings.nodeIdleTimeBeforeScaleDown: not an ISO "
                      "8601 duration such as PT2M");
    }
    idle = static_cast<int>(*s);
  }
  if (!scale.contains("maxNodeCount")) {
    throw HttpError(400, "UserError", "properties.properties.scaleSettings.maxNodeCount: is required");
  }
  const std::string priority =
      string_field(inner, "vmPriority", "Dedicated", "properties.properties.vmPriority");
  if (priority != "Dedicated" && priority != "LowPriority") {
    throw HttpError(400, "UserError", "properties.properties.vmPriority: '" + priority +
                                          "' is not Dedicated or LowPriority");
  }
  const auto cfg = AmlCompute::provisioning_configuration(
      string_field(inner, "vmSize", "", "properties.properties.vmSize"), priority == "LowPriority" ? "lowpriority" : "dedicated",
      integer("minNodeCount", 0), integer("maxNodeCount", 0), idle);
  const auto target = ComputeTarget::create(call.workspace(), call.param("name"), cfg);
  return json_response(call, 200, compute_resource(call.workspace(), target));
}

Response remove(Call& call) {
  auto t = find(call);
  try {
    t.delete_target();
  } catch (const ComputeTargetException& e) {
    throw HttpError(409, "UserError", e.what());
  }
  Response res{http::status::ok, call.req.version()};
  return res;
}

Response nodes(Call& call) {
  json out = json::array();
  for (const auto& n : find(call).list_nodes()) {
    out.push_back({{"nodeId", n["nodeId"]},
                   {"privateIpAddress", n["privateIpAddress"]},
                   {"publicIpAddress", nullptr},
                   {"port", nullptr},
                   {"nodeState", n["state"]},
                   {"runId", n["runId"]}});
  }
  return json_response(call, 200, {{"nodes", out}});
}

}  // namespace

void add_compute_routes(Router& r) {
  const std::string base = std::string(kWorkspacePattern) + "/computes";
  r.add(http::verb::get, base, list);
  r.add(http::verb::get, base + "/{name}", get);
  r.add(http::verb::put, base + "/{name}", create);
  r.add(http::verb::delete_, base + "/{name}", remove);
  r.add(http::verb::post, base + "/{name}/listNodes", nodes);
}

}  // namespace amlemu::server
