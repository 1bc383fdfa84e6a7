// `amlemu data`: data assets, the named and versioned URIs SDK v2 jobs take as inputs
// (`azureml:<name>:<version>`), as `az ml data` manages them.
#include <iostream>

#include "amlemu/assets.hpp"
#include "amlemu/errors.hpp"
#include "cli/cli.hpp"

namespace amlemu::cli {

namespace {
nlohmann::json serialize(const DataVersion& d) {
  nlohmann::json out = {{"name", d.name},       {"version", d.version},
                        {"type", d.type},       {"path", d.uri},
                        {"createdTime", d.created_time}, {"archived", d.archived}};
  for (const char* key : {"description", "tags"}) {
    if (d.definition.contains(key)) out[key] = d.definition[key];
  }
  return out;
}
}  // namespace

void add_data_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("data", "Data assets: named, versioned azureml:// URIs");
  group->require_subcommand(1);

  auto* create = group->add_subcommand("create", "Register a data asset version");
  static std::string file, name, version, type = "uri_folder", path, description;
  create->add_option("--file,-f", file, "A data asset file (data.schema.json: name, version, type, path, ...)");
  create->add_option("--name,-n", name, "Data asset name");
  create->add_option("--version,-v", version, "Version (default: the next integer)");
  create->add_option("--type,-t", type, "uri_folder (default), uri_file or mltable")
      ->check(CLI::IsMember({"uri_folder", "uri_file", "mltable"}));
  create->add_option("--path,-p", path,
                     "A local file or folder (uploaded to the default datastore once per content), "
                     "azureml://datastores/<datastore>/paths/<path>, or a web URL");
  create->add_option("--description,-d", description, "Description");
  add_output_option(create, ctx);
  create->callback([&ctx] {
    if (!file.empty()) {
      if (!name.empty() || !path.empty()) {
        throw UserErrorException("--file: give the name and path in the file, not with --name or --path");
      }
      std::vector<std::string> warnings;
      const auto made = create_data_from_file(ctx.workspace(), file, &warnings);
      for (const auto& w : warnings) std::cerr << "warning: " << w << "\n";
      print_json(serialize(made));
      return;
    }
    if (name.empty()) throw UserErrorException("--name: is required (or --file)");
    if (path.empty()) throw UserErrorException("--path: is required (or --file)");
    DataVersion d;
    d.name = name;
    d.version = version;
    d.type = type;
    d.uri = data_path_uri(ctx.workspace(), path, std::filesystem::current_path());
    if (!description.empty()) d.definition["description"] = description;
    print_json(serialize(create_data_version(ctx.workspace(), d)));
  });

  for (const bool archive : {true, false}) {
    auto* cmd = group->add_subcommand(
        archive ? "archive" : "restore",
        archive ? "Archive a data asset version, or every version (hidden from list and @latest)"
                : "Restore an archived data asset version, or every version");
    static std::string names[2], versions[2];
    auto& n = names[archive ? 0 : 1];
    auto& v = versions[archive ? 0 : 1];
    cmd->add_option("--name,-n", n, "Data asset name")->required();
    cmd->add_option("--version,-v", v, "Version (default: every version)");
    cmd->callback([&ctx, archive, &n, &v] { archive_data_version(ctx.workspace(), n, v, archive); });
  }

  auto* list = group->add_subcommand("list", "List data asset versions, newest first");
  static std::string list_name;
  static bool include_archived = false;
  list->add_option("--name,-n", list_name, "Only this asset's versions");
  list->add_flag("--include-archived", include_archived, "Archived versions too");
  add_output_option(list, ctx);
  list->callback([&ctx] {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& d : list_data_versions(ctx.workspace(), list_name.empty()
                                                                 ? std::nullopt
                                                                 : std::optional<std::string>(list_name),
                                              include_archived)) {
      rows.push_back(serialize(d));
    }
    print_rows(ctx, rows, {"name", "version", "type", "path"});
  });

  auto* show = group->add_subcommand("show", "Show a data asset version (default: the latest)");
  static std::string show_name, show_version;
  show->add_option("--name,-n", show_name, "Data asset name")->required();
  show->add_option("--version,-v", show_version, "Version");
  add_output_option(show, ctx);
  show->callback([&ctx] {
    const auto d = get_data_version(ctx.workspace(), show_name, show_version);
    if (!d) {
      throw NotFoundException("data asset " + show_name +
                              (show_version.empty() ? "" : ":" + show_version) + " not found");
    }
    print_json(serialize(*d));
  });
}

}  // namespace amlemu::cli
