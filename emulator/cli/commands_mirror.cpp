// `amlemu mirror`: the offline mirror, the local copies behind the web URLs jobs name (one per
// machine, under $AMLEMU_HOME/mirror; no workspace needed).
#include <iostream>

#include "amlemu/errors.hpp"
#include "amlemu/mirror.hpp"
#include "cli/cli.hpp"

namespace amlemu::cli {

namespace {
nlohmann::json serialize(const MirrorEntry& e) {
  return {{"url", e.url},   {"kind", e.kind},           {"sha1", e.sha1},
          {"size", e.size}, {"addedTime", e.added_time}};
}

// What a script will make of the copy: Keras refuses some files by their hash.
void warn_about(const MirrorEntry& e) {
  const auto note = framework_note(e.url);
  if (!note.empty()) std::cerr << "Warning: " << e.url << ": " << note << std::endl;
}
}  // namespace

void add_mirror_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand(
      "mirror", "The offline mirror: local copies of the web URLs jobs read (no network in runs)");
  group->require_subcommand(1);

  auto* add = group->add_subcommand("add", "Serve URL from a local file or folder");
  static std::string url, file, dir, from_list;
  add->add_option("url", url, "The URL a job names (https://, http://, wasbs://, abfss://), or a framework cache "
                  "(cache:scikit-learn, cache:huggingface)");
  auto* file_opt = add->add_option("--file", file, "A local copy of the file behind the URL");
  auto* dir_opt = add->add_option("--dir", dir, "A local copy of the folder behind the URL");
  auto* list_opt = add->add_option("--from-list", from_list,
                                   "A file of '<URL><TAB><path>' lines to add at once");
  file_opt->excludes(dir_opt)->excludes(list_opt);
  dir_opt->excludes(list_opt);
  add_output_option(add, ctx);
  add->callback([] {
    auto mirror = Mirror::open();
    if (!from_list.empty()) {
      if (!url.empty()) throw UserErrorException("--from-list: give no URL with it");
      nlohmann::json rows = nlohmann::json::array();
      for (const auto& e : mirror.add_from_list(from_list)) {
        warn_about(e);
        rows.push_back(serialize(e));
      }
      print_json(rows);
      return;
    }
    if (url.empty()) throw UserErrorException("url: give the URL to serve");
    if (file.empty() && dir.empty()) throw UserErrorException("--file or --dir: give the local copy");
    const auto e = file.empty() ? mirror.add_folder(url, dir) : mirror.add_file(url, file);
    warn_about(e);
    print_json(serialize(e));
  });

  auto* list = group->add_subcommand("list", "The URLs the mirror serves");
  add_output_option(list, ctx);
  list->callback([&ctx] {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& e : Mirror::open().list()) rows.push_back(serialize(e));
    print_rows(ctx, rows, {"url", "kind", "size", "addedTime"});
  });

  auto* remove = group->add_subcommand("remove", "Stop serving a URL (its copy goes when unused)");
  static std::string remove_url;
  remove->add_option("url", remove_url, "The URL")->required();
  remove->callback([] {
    if (!Mirror::open().remove(remove_url)) {
      throw NotFoundException("'" + remove_url + "' is not in the offline mirror");
    }
  });
}

}  // namespace amlemu::cli
