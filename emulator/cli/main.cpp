// amlemu: Azure ML's workspace stack on one machine. A thin layer over the library: commands
// parse options and call it; this file owns the mapping from errors to messages and exit codes.
//
// Exit codes: 0 success; 1 an error (one line on stderr) or a streamed run that failed;
// 2 bad command-line usage.
#include <iostream>

#include "amlemu/errors.hpp"
#include "cli/cli.hpp"

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
  cli::add_workspace_commands(app, ctx);
  cli::add_datastore_commands(app, ctx);
  cli::add_compute_commands(app, ctx);
  cli::add_job_commands(app, ctx);
  cli::add_model_commands(app, ctx);
  cli::add_environment_commands(app, ctx);
  cli::add_gpu_commands(app, ctx);
  cli::add_data_commands(app, ctx);
  cli::add_service_commands(app, ctx);
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
