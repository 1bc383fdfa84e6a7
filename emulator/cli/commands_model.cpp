#include <iostream>

#include "amlemu/errors.hpp"
#include "amlemu/model.hpp"
#include "amlemu/run.hpp"
#include "cli/cli.hpp"

namespace amlemu::cli {

namespace {
std::map<std::string, std::string> parse_tags(const std::vector<std::string>& tags) {
  std::map<std::string, std::string> out;
  for (const auto& t : tags) {
    const auto eq = t.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UserErrorException("--tag '" + t + "' must be key=value");
    }
    out[t.substr(0, eq)] = t.substr(eq + 1);
  }
  return out;
}
}  // namespace

void add_model_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("model", "The model registry");
  group->require_subcommand(1);

  auto* create = group->add_subcommand("create", "Register a model from a run or a local path");
  static std::string name, run_id, path, description, type = "custom_model", source_uri;
  static std::vector<std::string> tags;
  create->add_option("--name,-n", name, "Model name")->required();
  create->add_option("--type", type,
                     "custom_model (default), mlflow_model (a folder with an MLmodel file) or "
                     "triton_model");
  create->add_option("--source-uri", source_uri, "Where the files came from, kept with the version");
  create->add_option("--run", run_id, "Run whose file or folder to register");
  create->add_option("--path,-p", path, "Path in the run (e.g. outputs/model) or local path")
      ->required();
  create->add_option("--description,-d", description, "Description");
  create->add_option("--tag", tags, "key=value (repeatable)");
  add_output_option(create, ctx);
  create->callback([&ctx] {
    Model::validate_name(name);
    const auto t = parse_tags(tags);
    const auto ws = ctx.workspace();
    ModelRegistration r;
    r.name = name;
    r.type = type;
    r.tags = t;
    r.description = description;
    r.source_uri = source_uri;
    const Model m = run_id.empty() ? Model::register_version(ws, path, r)
                                   : Run(ws, run_id).register_model(path, r);
    print_json(m.serialize());
  });

  auto* list = group->add_subcommand("list", "List models, newest first");
  static std::string list_name;
  static bool latest = false;
  list->add_option("--name,-n", list_name, "Only this model's versions");
  list->add_flag("--latest", latest, "Only the latest version of each model");
  add_output_option(list, ctx);
  list->callback([&ctx] {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& m : Model::list(ctx.workspace(),
                                     list_name.empty() ? std::nullopt
                                                       : std::optional<std::string>(list_name),
                                     latest)) {
      rows.push_back(m.serialize());
    }
    print_rows(ctx, rows, {"name", "version", "type", "runId", "createdTime"});
  });

  auto* show = group->add_subcommand("show", "Show a model version (default: the latest)");
  static std::string show_name;
  static std::optional<int> show_version;
  show->add_option("--name,-n", show_name, "Model name")->required();
  show->add_option("--version,-v", show_version, "Version");
  add_output_option(show, ctx);
  show->callback([&ctx] { print_json(Model(ctx.workspace(), show_name, show_version).serialize()); });

  auto* download = group->add_subcommand("download", "Download a model version's files");
  static std::string dl_name, dl_path;
  static std::optional<int> dl_version;
  static bool exist_ok = false;
  download->add_option("--name,-n", dl_name, "Model name")->required();
  download->add_option("--version,-v", dl_version, "Version (default: the latest)");
  download->add_option("--download-path,-p", dl_path, "Folder to write to")->required();
  download->add_flag("--exist-ok", exist_ok, "Overwrite files that exist");
  add_output_option(download, ctx);
  download->callback([&ctx] {
    const Model m(ctx.workspace(), dl_name, dl_version);
    const auto where = m.download(dl_path, exist_ok);
    if (ctx.output == "json") {
      print_json({{"id", m.id()}, {"path", where.string()}});
    } else {
      std::cout << where.string() << std::endl;
    }
  });
}

}  // namespace amlemu::cli
