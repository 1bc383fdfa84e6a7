// amlemu: Azure ML's workspace stack on one machine. A thin layer over the library: commands
// parse options and call it; this file owns the mapping from errors to messages and exit codes.
//
// Exit codes: 0 success; 1 an error (one line on stderr) or a streamed run that failed;
// 2 bad command-line usage.
#include <iostream>
#include <string_view>

#include "amlemu/errors.hpp"
#include "cli/cli.hpp"

namespace {

using amlemu::cli::Context;

// The command groups, by the word that names them. Building every group's parser costs more
// than most commands do, so a command line that names a group builds that one alone.
struct Group {
  std::string_view word;
  void (*add)(CLI::App&, Context&);
};
constexpr Group kGroups[] = {
    {"workspace", amlemu::cli::add_workspace_commands},
    {"datastore", amlemu::cli::add_datastore_commands},
    {"compute", amlemu::cli::add_compute_commands},
    {"job", amlemu::cli::add_job_commands},
    {"model", amlemu::cli::add_model_commands},
    {"environment", amlemu::cli::add_environment_commands},
    {"gpu", amlemu::cli::add_gpu_commands},
    {"data", amlemu::cli::add_data_commands},
    {"mirror", amlemu::cli::add_mirror_commands},
    {"online-endpoint", amlemu::cli::add_endpoint_commands},
    {"online-deployment", amlemu::cli::add_endpoint_commands},
    {"serve", amlemu::cli::add_service_commands},
    {"env", amlemu::cli::add_service_commands},
};

// The group the command line's first word names (skipping --config and its value); none when
// it names no group or starts with another option (--help, --version): then all are built.
const Group* named_group(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--config") {
      ++i;
      continue;
    }
    if (a.starts_with("--config=")) continue;
    if (a.starts_with("-")) return nullptr;
    for (const auto& g : kGroups) {
      if (g.word == a) return &g;
    }
    return nullptr;
  }
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace amlemu;
  CLI::App app{"amlemu: train and register models the Azure ML way, offline, on one machine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("amlemu ") + AMLEMU_VERSION);
  // Global options are accepted anywhere on the line, as `az` does: a subcommand hands an
  // option it does not know to its parent (every subcommand inherits this setting).
  app.fallthrough();
  cli::Context ctx;
  app.add_option("--config", ctx.config_path,
                 "Workspace config.json, or a folder to search from (default: the current one)");
  if (const auto* group = named_group(argc, argv)) {
    group->add(app, ctx);
  } else {
    cli::add_workspace_commands(app, ctx);
    cli::add_datastore_commands(app, ctx);
    cli::add_compute_commands(app, ctx);
    cli::add_job_commands(app, ctx);
    cli::add_model_commands(app, ctx);
    cli::add_environment_commands(app, ctx);
    cli::add_gpu_commands(app, ctx);
    cli::add_data_commands(app, ctx);
    cli::add_mirror_commands(app, ctx);
    cli::add_endpoint_commands(app, ctx);
    cli::add_service_commands(app, ctx);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help and --version exit 0
  } catch (const AmlException& e) {
    std::cerr << "error: " << e.what() << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << std::endl;
    return 1;
  }
  return cli::g_exit_code;
}
