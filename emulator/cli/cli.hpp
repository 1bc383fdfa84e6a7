// The CLI's shared pieces: global options and output. Each commands_*.cpp file registers one
// group of `az ml`-style verbs; main.cpp wires them and maps errors to exit codes.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "amlemu/workspace.hpp"

namespace amlemu::cli {

struct Context {
  std::string config_path;   // --config
  std::string output = "";   // -o/--output: json (default for show/list) or table
  /// The workspace named by the config file found from --config or the current folder.
  Workspace workspace() const;
};

/// Prints `doc` as indented JSON.
void print_json(const nlohmann::json& doc);
/// Prints rows as JSON (-o json, the default) or as an aligned table of `columns`.
void print_rows(const Context& ctx, const nlohmann::json& rows,
                const std::vector<std::string>& columns);
/// Adds -o/--output to a command that shows something.
void add_output_option(CLI::App* cmd, Context& ctx);

void add_workspace_commands(CLI::App& app, Context& ctx);
void add_datastore_commands(CLI::App& app, Context& ctx);
void add_compute_commands(CLI::App& app, Context& ctx);
void add_job_commands(CLI::App& app, Context& ctx);
void add_model_commands(CLI::App& app, Context& ctx);
void add_environment_commands(CLI::App& app, Context& ctx);
void add_gpu_commands(CLI::App& app, Context& ctx);
void add_service_commands(CLI::App& app, Context& ctx);
void add_data_commands(CLI::App& app, Context& ctx);
void add_mirror_commands(CLI::App& app, Context& ctx);
void add_endpoint_commands(CLI::App& app, Context& ctx);

/// Set by a command that must exit non-zero without an error message (a failed streamed run).
extern int g_exit_code;

}  // namespace amlemu::cli
