#include "amlemu/environment.hpp"
#include "cli/cli.hpp"

namespace amlemu::cli {

void add_environment_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("environment", "Built environments (cached images)");
  group->require_subcommand(1);

  auto* list = group->add_subcommand("list", "List built environments, most recently used first");
  add_output_option(list, ctx);
  list->callback([&ctx] {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& e : list_environments(ctx.workspace())) rows.push_back(e.serialize());
    print_rows(ctx, rows, {"name", "sizeBytes", "createdTime", "lastUsedTime"});
  });

  auto* del = group->add_subcommand("delete", "Remove a built environment");
  static std::string name;
  del->add_option("--name,-n", name, "Environment id (env-...)")->required();
  del->callback([&ctx] { delete_environment(ctx.workspace(), name); });
}

}  // namespace amlemu::cli
