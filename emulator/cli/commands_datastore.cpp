#include <iostream>

#include "amlemu/blob.hpp"
#include "amlemu/datastore.hpp"
#include "cli/cli.hpp"

namespace amlemu::cli {

namespace {
nlohmann::json describe(const Datastore& ds) {
  // The storage account and container a wasbs:// or blob https:// URL names it by.
  const auto container = BlobContainer::of_datastore(ds.workspace(), ds.name()).name();
  return {{"name", ds.name()}, {"type", ds.datastore_type()}, {"path", ds.root().string()},
          {"accountName", storage_account_name(ds.workspace())}, {"containerName", container}};
}
nlohmann::json describe(const DataReference& r) {
  return {{"dataReference", r.to_string()},
          {"datastore", r.datastore_name},
          {"pathOnDatastore", r.path_on_datastore},
          {"mode", r.mode}};
}
}  // namespace

void add_datastore_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("datastore", "Datastores (folders standing in for storage)");
  group->require_subcommand(1);

  auto* upload = group->add_subcommand("upload", "Upload a folder to a datastore");
  static std::string src, target, name = "workspaceblobstore";
  static bool overwrite = false, no_progress = false;
  upload->add_option("--src-dir", src, "Local folder to upload")->required();
  upload->add_option("--target-path", target, "Path on the datastore");
  upload->add_option("--name", name, "Datastore (default: workspaceblobstore)");
  upload->add_flag("--overwrite", overwrite, "Replace files that already exist");
  upload->add_flag("--no-progress", no_progress, "Do not print progress lines");
  add_output_option(upload, ctx);
  upload->callback([&ctx] {
    const auto ws = ctx.workspace();
    const auto ds = Datastore::get(ws, name);
    // With -o json, progress goes to stderr so stdout stays one JSON document.
    std::ostream& progress = ctx.output == "json" ? std::cerr : std::cout;
    const auto ref = ds.upload(src, target, overwrite, !no_progress, progress);
    if (ctx.output == "json") print_json(describe(ref));
  });

  auto* list = group->add_subcommand("list", "List datastores");
  add_output_option(list, ctx);
  list->callback([&ctx] {
    const auto ws = ctx.workspace();
    nlohmann::json rows = nlohmann::json::array();
    for (const char* n : {"workspaceblobstore", "workspacefilestore"}) {
      rows.push_back(describe(Datastore::get(ws, n)));
    }
    print_rows(ctx, rows, {"name", "type", "path"});
  });

  auto* show = group->add_subcommand("show", "Show a datastore");
  static std::string show_name;
  show->add_option("--name", show_name, "Datastore name")->required();
  add_output_option(show, ctx);
  show->callback([&ctx] { print_json(describe(Datastore::get(ctx.workspace(), show_name))); });
}

}  // namespace amlemu::cli
