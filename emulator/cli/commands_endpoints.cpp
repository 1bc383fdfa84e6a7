// `amlemu online-endpoint` and `amlemu online-deployment`: managed online endpoints, as
// `az ml online-endpoint|online-deployment` manage them, served on this machine.
#include <fstream>
#include <iostream>
#include <sstream>

#include "amlemu/endpoints.hpp"
#include "amlemu/errors.hpp"
#include "cli/cli.hpp"

namespace amlemu::cli {

namespace {

// "blue=90 green=10" (spaces or commas between) as {blue: 90, green: 10}.
std::map<std::string, int> parse_shares(const std::string& option, const std::string& text) {
  std::map<std::string, int> out;
  std::string spaced = text;
  for (auto& c : spaced) {
    if (c == ',') c = ' ';
  }
  std::istringstream in(spaced);
  for (std::string item; in >> item;) {
    const auto eq = item.find('=');
    int value = -1;
    try {
      if (eq != std::string::npos) value = std::stoi(item.substr(eq + 1));
    } catch (const std::exception&) {
    }
    if (eq == std::string::npos || eq == 0 || value < 0 || value > 100 ||
        std::to_string(value) != item.substr(eq + 1)) {
      throw UserErrorException(option + ": '" + item + "' must be <deployment>=<percent from 0 to 100>");
    }
    out[item.substr(0, eq)] = value;
  }
  return out;
}

std::string read_request(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw UserErrorException("--request-file: cannot read '" + file + "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void warn(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) std::cerr << "Warning: " << w << std::endl;
}

}  // namespace

void add_endpoint_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("online-endpoint", "Online endpoints: a scoring URI on this machine");
  group->require_subcommand(1);

  static std::string file, name, auth_mode, traffic, mirror_traffic, request_file, deployment;
  static int lines = 0;
  static bool yes = false;

  auto* create = group->add_subcommand("create", "Create an endpoint (endpoint.yml) and start its router");
  create->add_option("--file,-f", file, "An endpoint YAML (managedOnlineEndpoint.schema.json)");
  create->add_option("--name,-n", name, "The endpoint's name (overrides the file's)");
  create->add_option("--auth-mode", auth_mode, "key (default) or aml_token");
  add_output_option(create, ctx);
  create->callback([&ctx] {
    OnlineEndpoint e;
    if (!file.empty()) e = load_endpoint_yaml(file);
    warn(e.warnings);
    if (!name.empty()) e.name = name;
    if (!auth_mode.empty()) e.auth_mode = auth_mode;
    if (e.name.empty()) throw UserErrorException("--name: is required (or name in --file)");
    print_json(serialize(create_online_endpoint(ctx.workspace(), e)));
  });

  auto* update = group->add_subcommand("update", "Change an endpoint's traffic, description or tags");
  update->add_option("--name,-n", name, "The endpoint")->required();
  update->add_option("--file,-f", file, "An endpoint YAML whose description, tags and traffic to take");
  update->add_option("--traffic,-t", traffic, "Shares of live traffic: \"blue=90 green=10\"");
  update->add_option("--mirror-traffic", mirror_traffic, "Shares copied, answers dropped: \"green=10\"");
  add_output_option(update, ctx);
  update->callback([&ctx] {
    const auto ws = ctx.workspace();
    auto current = get_online_endpoint(ws, name);
    if (!current) throw NotFoundException("online endpoint '" + name + "' not found in workspace '" + ws.name() + "'");
    auto e = *current;
    if (!file.empty()) {
      const auto f = load_endpoint_yaml(file);
      warn(f.warnings);
      e.description = f.description;
      e.tags = f.tags;
      e.traffic = f.traffic;
      e.mirror_traffic = f.mirror_traffic;
    }
    if (!traffic.empty()) e.traffic = parse_shares("--traffic", traffic);
    if (!mirror_traffic.empty()) e.mirror_traffic = parse_shares("--mirror-traffic", mirror_traffic);
    print_json(serialize(update_online_endpoint(ws, e)));
  });

  auto* show = group->add_subcommand("show", "Show an endpoint");
  show->add_option("--name,-n", name, "The endpoint")->required();
  add_output_option(show, ctx);
  show->callback([&ctx] {
    const auto ws = ctx.workspace();
    const auto e = get_online_endpoint(ws, name);
    if (!e) throw NotFoundException("online endpoint '" + name + "' not found in workspace '" + ws.name() + "'");
    print_json(serialize(*e));
  });

  auto* list = group->add_subcommand("list", "List the endpoints");
  add_output_option(list, ctx);
  list->callback([&ctx] {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& e : list_online_endpoints(ctx.workspace())) rows.push_back(serialize(e));
    print_rows(ctx, rows, {"name", "auth_mode", "scoring_uri", "provisioning_state"});
  });

  auto* del = group->add_subcommand("delete", "Stop an endpoint and its deployments and forget them");
  del->add_option("--name,-n", name, "The endpoint")->required();
  del->add_flag("--yes,-y", yes, "Do not ask (amlemu never asks)");
  del->callback([&ctx] { delete_online_endpoint(ctx.workspace(), name); });

  auto* invoke = group->add_subcommand("invoke", "Send a request to the endpoint's scoring URI");
  invoke->add_option("--name,-n", name, "The endpoint")->required();
  invoke->add_option("--request-file,-r", request_file, "The JSON body to POST")->required();
  invoke->add_option("--deployment-name,-d", deployment, "Send it to this deployment");
  invoke->callback([&ctx] {
    const auto r = invoke_online_endpoint(ctx.workspace(), name, read_request(request_file), deployment);
    if (r.status != 200) {
      throw UserErrorException("online endpoint " + name + " answered " + std::to_string(r.status) + ": " + r.body);
    }
    std::cout << r.body << std::endl;
  });

  auto* creds = group->add_subcommand("get-credentials", "The endpoint's keys (or token)");
  creds->add_option("--name,-n", name, "The endpoint")->required();
  creds->callback([&ctx] { print_json(get_endpoint_credentials(ctx.workspace(), name)); });

  auto* dgroup = app.add_subcommand("online-deployment", "Deployments of online endpoints: score.py behind a model");
  dgroup->require_subcommand(1);
  static std::string endpoint_name;
  static bool all_traffic = false;

  auto* dcreate = dgroup->add_subcommand("create", "Create a deployment (deployment.yml) and wait until it is ready");
  dcreate->add_option("--file,-f", file, "A deployment YAML (managedOnlineDeployment.schema.json)")->required();
  dcreate->add_option("--name,-n", name, "The deployment's name (overrides the file's)");
  dcreate->add_option("--endpoint-name,-e", endpoint_name, "The endpoint (overrides the file's)");
  dcreate->add_flag("--all-traffic", all_traffic, "Send the endpoint's whole traffic to it once ready");
  add_output_option(dcreate, ctx);
  dcreate->callback([&ctx] {
    auto d = load_deployment_yaml(file);
    warn(d.warnings);
    if (!name.empty()) d.name = name;
    if (!endpoint_name.empty()) d.endpoint = endpoint_name;
    print_json(serialize(create_online_deployment(ctx.workspace(), d, all_traffic, &std::cerr)));
  });

  auto* dshow = dgroup->add_subcommand("show", "Show a deployment");
  dshow->add_option("--name,-n", name, "The deployment")->required();
  dshow->add_option("--endpoint-name,-e", endpoint_name, "The endpoint")->required();
  add_output_option(dshow, ctx);
  dshow->callback([&ctx] {
    const auto d = get_online_deployment(ctx.workspace(), endpoint_name, name);
    if (!d) throw NotFoundException("online deployment '" + name + "' not found in endpoint " + endpoint_name);
    print_json(serialize(*d));
  });

  auto* dlist = dgroup->add_subcommand("list", "List an endpoint's deployments");
  dlist->add_option("--endpoint-name,-e", endpoint_name, "The endpoint")->required();
  add_output_option(dlist, ctx);
  dlist->callback([&ctx] {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& d : list_online_deployments(ctx.workspace(), endpoint_name)) rows.push_back(serialize(d));
    print_rows(ctx, rows, {"name", "endpoint_name", "instance_count", "provisioning_state"});
  });

  auto* ddel = dgroup->add_subcommand("delete", "Stop a deployment's instances and forget it");
  ddel->add_option("--name,-n", name, "The deployment")->required();
  ddel->add_option("--endpoint-name,-e", endpoint_name, "The endpoint")->required();
  ddel->add_flag("--yes,-y", yes, "Do not ask (amlemu never asks)");
  ddel->callback([&ctx] { delete_online_deployment(ctx.workspace(), endpoint_name, name); });

  auto* dlogs = dgroup->add_subcommand("get-logs", "The output of a deployment's first instance");
  dlogs->add_option("--name,-n", name, "The deployment")->required();
  dlogs->add_option("--endpoint-name,-e", endpoint_name, "The endpoint")->required();
  dlogs->add_option("--lines,-l", lines, "Only the last N lines");
  dlogs->callback([&ctx] { std::cout << get_deployment_logs(ctx.workspace(), endpoint_name, name, lines); });
}

}  // namespace amlemu::cli
