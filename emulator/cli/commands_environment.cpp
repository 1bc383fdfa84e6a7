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

  auto* build = group->add_subcommand(
      "build", "Build an environment ahead of time, as a run's Preparing would (a later run finds "
               "it in the cache)");
  static std::string source;
  build->add_option("--file,-f", source,
                    "Environment YAML (image, conda_file), or a reference: azureml:<name>:<version>, "
                    "azureml:<name>@latest, azureml:AzureML-sklearn-1.5@latest, a registry URI")
      ->required();
  add_output_option(build, ctx);
  build->callback([&ctx] {
    const auto e = environment_estimator(ctx.workspace(), source);
    for (const auto& w : e.warnings) std::cerr << "Warning: " << w << std::endl;
    const auto result = build_environment(ctx.workspace(), environment_definition(e));
    for (const auto& n : result.notes) std::cerr << n << std::endl;
    const auto doc = result.serialize();
    print_rows(ctx, ctx.output == "table" ? nlohmann::json::array({doc}) : doc,
               {"name", "interpreter", "built", "seconds"});
  });

  auto* show = group->add_subcommand("show", "Show a built environment: its specification, "
                                             "interpreter, size and times");
  static std::string shown;
  show->add_option("--name,-n", shown, "Environment id (env-...)")->required();
  add_output_option(show, ctx);
  show->callback([&ctx] {
    const auto doc = show_environment(ctx.workspace(), shown).serialize();
    print_rows(ctx, ctx.output == "table" ? nlohmann::json::array({doc}) : doc,
               {"name", "interpreter", "sizeBytes", "createdTime", "lastUsedTime"});
  });

  auto* del = group->add_subcommand("delete", "Remove a built environment");
  static std::string name;
  del->add_option("--name,-n", name, "Environment id (env-...)")->required();
  del->callback([&ctx] { delete_environment(ctx.workspace(), name); });
}

}  // namespace amlemu::cli
