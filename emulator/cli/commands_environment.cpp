#include <iostream>

#include "amlemu/environment.hpp"
#include "amlemu/job_yaml.hpp"
#include "cli/cli.hpp"

namespace amlemu::cli {

void add_environment_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("environment", "Built environments (cached images)");
  group->require_subcommand(1);

  auto* list = group->add_subcommand(
      "list", "List built environments (cached images), most recently used first");
  static bool registered = false;
  list->add_flag("--registered", registered,
                 "List registered environment definitions instead");
  add_output_option(list, ctx);
  list->callback([&ctx] {
    if (registered) {
      print_rows(ctx, list_registered_environments(ctx.workspace()),
                 {"name", "version", "createdTime"});
      return;
    }
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& e : list_environments(ctx.workspace())) rows.push_back(e.serialize());
    print_rows(ctx, rows, {"name", "sizeBytes", "createdTime", "lastUsedTime"});
  });

  auto* create = group->add_subcommand("create", "Register an environment from a YAML file");
  static std::string file;
  create->add_option("--file,-f", file, "Environment YAML (name, version, image, conda_file)")
      ->required();
  add_output_option(create, ctx);
  create->callback([&ctx] {
    const auto env = create_environment(ctx.workspace(), file);
    for (const auto& w : env["warnings"]) std::cerr << "Warning: " << w.get<std::string>() << std::endl;
    print_json(env);
  });

  auto* del = group->add_subcommand("delete", "Remove a built environment");
  static std::string name;
  del->add_option("--name,-n", name, "Environment id (env-...)")->required();
  del->callback([&ctx] { delete_environment(ctx.workspace(), name); });
}

}  // namespace amlemu::cli
