#include "amlemu/workspace.hpp"
#include "amlemu/service.hpp"
#include "cli/cli.hpp"

namespace amlemu::cli {

void add_workspace_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("workspace", "Workspaces (one state folder each)");
  group->require_subcommand(1);

  auto* create = group->add_subcommand("create", "Create the workspace named by config.json");
  static std::string name, sub, rg;
  create->add_option("--name", name, "Workspace name (default: from config.json)");
  create->add_option("--subscription-id", sub, "Subscription id (default: from config.json)");
  create->add_option("--resource-group", rg, "Resource group (default: from config.json)");
  add_output_option(create, ctx);
  create->callback([&ctx] {
    WorkspaceConfig cfg;
    if (name.empty() || sub.empty() || rg.empty()) {
      cfg = find_workspace_config(ctx.config_path.empty()
                                      ? std::nullopt
                                      : std::optional<std::filesystem::path>(ctx.config_path));
    }
    const auto ws = Workspace::create(name.empty() ? cfg.workspace_name : name,
                                      sub.empty() ? cfg.subscription_id : sub,
                                      rg.empty() ? cfg.resource_group : rg);
    print_json(ws.get_details());
  });

  auto* show = group->add_subcommand("show", "Show the workspace named by config.json");
  add_output_option(show, ctx);
  show->callback([&ctx] {
    const auto ws = ctx.workspace();
    auto details = ws.get_details();
    // Where the MLflow client (with azureml-mlflow) reaches this workspace through `amlemu
    // serve` (the running server's port, else the default one).
    details["mlflowTrackingUri"] =
        mlflow_tracking_uri(ws.subscription_id(), ws.resource_group(), ws.name(), service_port());
    print_json(details);
  });
}

}  // namespace amlemu::cli
