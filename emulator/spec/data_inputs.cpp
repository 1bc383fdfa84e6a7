// Data inputs of v2 jobs (a datastore URI, a data asset, a mirrored web URL, a job's output),
// read the same way from a YAML file and from a REST job body.
#include <regex>

#include "amlemu/assets.hpp"
#include "amlemu/job_yaml.hpp"
#include "amlemu/mirror.hpp"
#include "amlemu/run.hpp"
#include "common/fs.hpp"
#include "common/text.hpp"
#include "spec/data_inputs.hpp"
#include "spec/yaml_reader.hpp"
#include "spec/rest_reader.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;
using nlohmann::json;
using namespace spec::rest;

std::optional<std::pair<std::string, std::string>> spec::short_asset(const std::string& ref) {
  static const std::regex versioned(R"(^azureml:([A-Za-z0-9._-]+):([A-Za-z0-9._-]+)$)");
  static const std::regex latest(R"(^azureml:([A-Za-z0-9._-]+)@latest$)");
  std::smatch m;
  if (std::regex_match(ref, m, versioned)) return std::make_pair(m[1].str(), m[2].str());
  if (std::regex_match(ref, m, latest)) return std::make_pair(m[1].str(), std::string());
  return std::nullopt;
}

std::string spec::reference_mode(const std::string& input_mode) {
  if (input_mode == "download" || input_mode == "eval_download") return "download";
  if (input_mode == "direct") return "direct";
  return "mount";
}

void spec::set_input_mode(const Workspace& ws, DataReference& ref, const std::string& name,
                          const std::string& mode) {
  ref.data_reference_name = name;
  ref.mode = mode;
  if (mode == "download") ref.path_on_compute = "inputs/" + name;
  if (mode == "direct") {
    ref.direct_uri = !ref.mirror_url.empty()
                         ? ref.mirror_url
                         : long_form_uri(ws, "azureml://datastores/" + ref.datastore_name + "/paths/" +
                                                 ref.path_on_datastore);
  }
}

DataReference spec::data_input(const Workspace& ws, std::string uri, const std::string& path) {
  for (int hops = 0; hops < 4; ++hops) {
    // Another job's named output: azureml://jobs/<job>/outputs/<output>/paths/<path>, kept on the
    // default datastore under azureml/<job>/<output>/ once that job has ended.
    if (uri.rfind("azureml://jobs/", 0) == 0) {
      const auto rest = uri.substr(15);
      const auto outputs = rest.find("/outputs/");
      const auto job = rest.substr(0, outputs);
      const auto tail = outputs == std::string::npos ? std::string() : rest.substr(outputs + 9);
      const auto slash = tail.find('/');
      const auto output = tail.substr(0, slash);
      const auto after = slash == std::string::npos ? std::string() : tail.substr(slash);
      if (outputs == std::string::npos || !matches(job, kRunName) || !matches(output, kIdentifier) ||
          !(after.empty() || after == "/paths" || after.rfind("/paths/", 0) == 0)) {
        fail(path, "'" + printable(uri) + "' is not azureml://jobs/<job>/outputs/<output>/paths/<path>");
      }
      if (output == "artifacts") {
        fail(path, "'" + printable(uri) + "': run history (outputs/artifacts) cannot be a job input "
                   "yet; name an output of the job instead");
      }
      std::string inner;
      try {
        inner = fs::clean_relative(after.size() > 7 ? after.substr(7) : "");
      } catch (const std::invalid_argument& e) {
        fail(path, "'" + printable(uri) + "': " + e.what());
      }
      // Where that job wrote the output: its `path`, else the default place.
      auto ds = Datastore::get_default(ws);
      std::string folder = "azureml/" + job + "/" + output;
      try {
        const auto def = Run(ws, job).get_details().value("runDefinition", nlohmann::json::object());
        const auto settings = output_settings_from_json(def.value("outputSettings", nlohmann::json::object()));
        if (const auto it = settings.find(output); it != settings.end() && !it->second.datastore.empty()) {
          ds = Datastore::get(ws, it->second.datastore);
          folder = it->second.path_on_datastore;
          if (it->second.type == "uri_file") folder = stdfs::path(folder).parent_path().string();
        }
      } catch (const NotFoundException&) {
      }
      const auto on_ds = folder + (inner.empty() ? "" : "/" + inner);
      std::error_code ec;
      if (!stdfs::exists(ds.root() / on_ds, ec)) {
        fail(path, "'" + printable(uri) + "': job " + job + " has no output '" + output +
                   "' (it does not exist, has not ended, or wrote nothing there)");
      }
      DataReference ref;
      ref.datastore_name = ds.name();
      ref.path_on_datastore = on_ds;
      return ref;
    }
    // A URL of the workspace's own storage account is its datastore's data.
    std::optional<std::pair<std::string, std::string>> storage;
    try {
      storage = parse_storage_url(ws, uri);
    } catch (const UserErrorException& e) {
      fail(path, e.what());
    }
    if (storage) {
      DataReference ref;
      ref.datastore_name = storage->first;
      ref.path_on_datastore = storage->second;
      return ref;
    }
    if (is_web_url(uri)) {
      // A web URL (or a storage account's): served from the offline mirror, or refused now,
      // before anything is recorded, with the command that fixes it.
      std::optional<MirrorEntry> entry;
      try {
        entry = Mirror::open().find(uri);
      } catch (const UserErrorException& e) {
        fail(path, e.what());
      }
      if (!entry) {
        fail(path, "'" + printable(uri) + "' is not in the offline mirror (runs have no network); add "
                   "it with: " + mirror_add_command(uri));
      }
      DataReference ref;
      ref.mirror_url = entry->url;
      return ref;
    }
    if (auto ds = parse_datastore_uri(ws, uri)) {
      if (ds->first == "workspaceartifactstore") {
        fail(path, "'" + printable(uri) + "': run history (workspaceartifactstore) cannot be a job "
                   "input yet; copy the files to a datastore");
      }
      DataReference ref;
      ref.datastore_name = ds->first;
      ref.path_on_datastore = ds->second;
      Datastore::get(ws, ref.datastore_name);  // an unknown datastore is this input's problem
      return ref;
    }
    auto asset = arm_asset(uri, "data");
    // azure-ai-ml builds the id of an input "azureml:<name>@latest" with "azureml:<name>" as
    // the asset's name segment: the name is what follows the prefix.
    if (asset && asset->first.rfind("azureml:", 0) == 0) asset->first.erase(0, 8);
    if (!asset) asset = short_asset(uri);
    if (!asset) break;
    const auto d = get_data_version(ws, asset->first, asset->second);
    if (!d) {
      fail(path, "data asset " + asset->first + (asset->second.empty() ? "" : ":" + asset->second) +
                     " does not exist in workspace " + ws.name());
    }
    uri = d->uri;
  }
  fail(path, "'" + printable(uri) + "' is not available offline; use a data asset or "
             "azureml://datastores/<name>/paths/<path>");
}

}  // namespace amlemu
