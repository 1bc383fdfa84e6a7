// Data asset files (the data.schema.json shape `az ml data create --file` takes): read with
// yaml-cpp, their local path uploaded once per content, recorded as a data asset version.
#include <yaml-cpp/yaml.h>

#include "amlemu/assets.hpp"
#include "amlemu/datastore.hpp"
#include "amlemu/errors.hpp"
#include "amlemu/job_yaml.hpp"
#include "amlemu/mirror.hpp"
#include "common/clock.hpp"
#include "spec/yaml_reader.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;

std::string data_path_uri(const Workspace& ws, const std::string& path, const stdfs::path& base) {
  if (path.find("://") != std::string::npos || path.rfind("azureml:", 0) == 0) {
    if (is_web_url(path)) normalize_web_url(path);  // credentials and such: refused now
    return path;
  }
  const auto local = (base / path).lexically_normal();
  std::error_code ec;
  if (!stdfs::exists(local, ec)) {
    throw UserErrorException("path: '" + path + "' does not exist (relative to " + base.string() + ")");
  }
  return "azureml://datastores/" + Datastore::get_default(ws).name() + "/paths/" +
         Datastore::upload_local(ws, local);
}

DataVersion create_data_from_file(const Workspace& ws, const stdfs::path& file,
                                  std::vector<std::string>* warnings_out) {
  const auto root = spec::load_yaml_file(file.string(), "data");
  spec::Reader r(file.string());
  if (!root.IsMap()) r.fail(root, "(document)", "must be a mapping");
  std::vector<std::string> warnings;
  r.keys(root, "", {"$schema", "name", "version", "type", "path", "description", "tags"},
         {"properties", "stage", "datastore"}, warnings);
  for (const char* key : {"name", "path"}) {
    if (!root[key]) r.fail(root, key, "is required");
  }
  DataVersion d;
  d.name = r.str(root["name"], "name");
  if (root["version"]) d.version = r.str(root["version"], "version");
  d.type = root["type"] ? r.str(root["type"], "type") : "uri_folder";
  if (d.type != "uri_file" && d.type != "uri_folder" && d.type != "mltable") {
    r.fail(root["type"], "type", "'" + d.type + "' is not uri_file, uri_folder or mltable");
  }
  if (root["description"]) d.definition["description"] = r.str(root["description"], "description");
  if (root["tags"]) {
    if (!root["tags"].IsMap()) r.fail(root["tags"], "tags", "must be a mapping");
    nlohmann::json tags = nlohmann::json::object();
    for (const auto& kv : root["tags"]) tags[r.key(kv.first, "tags")] = r.str(kv.second, "tags");
    d.definition["tags"] = tags;
  }
  const auto path = r.str(root["path"], "path");
  try {
    d.uri = data_path_uri(ws, path, stdfs::absolute(file).parent_path());
  } catch (const UserErrorException& e) {
    r.fail(root["path"], "path", e.what());
  }
  if (d.type == "mltable") {
    // An MLTable folder holds its MLTable file: reading the table is the mltable package's job.
    std::error_code ec;
    const auto local = stdfs::absolute(file).parent_path() / path;
    if (stdfs::is_directory(local, ec) && !stdfs::exists(local / "MLTable", ec)) {
      r.fail(root["path"], "path", "an mltable folder must hold its MLTable file");
    }
  }
  d.created_time = now_iso();
  auto made = create_data_version(ws, d);
  if (warnings_out) warnings_out->insert(warnings_out->end(), warnings.begin(), warnings.end());
  return made;
}

}  // namespace amlemu
