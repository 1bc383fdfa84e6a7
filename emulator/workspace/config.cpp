// config.json discovery, the way Workspace.from_config() does it.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "amlemu/errors.hpp"
#include "amlemu/workspace.hpp"
#include "common/text.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;

namespace {

std::string bad_content(const stdfs::path& file) {
  return "The config file found in: " + file.string() +
         " does not seem to contain the required parameters. Please make sure it contains your "
         "subscription_id, resource_group and workspace_name.";
}

WorkspaceConfig parse_config(const stdfs::path& file) {
  std::ifstream in(file);
  if (!in) throw UserErrorException("cannot read workspace config " + file.string());
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw UserErrorException("The config file found in: " + file.string() +
                             " is not valid JSON: " + json_error(e));
  }
  WorkspaceConfig cfg;
  cfg.source = file;
  if (!doc.is_object()) {
    throw UserErrorException("The config file found in: " + file.string() +
                             " must hold a JSON object, got " + doc.type_name());
  }
  auto str = [&](const char* key) -> std::string {
    auto it = doc.find(key);
    if (it != doc.end() && !it->is_string()) {
      throw UserErrorException("The config file found in: " + file.string() + ": " + key +
                               " must be a string, got " + it->type_name());
    }
    if (it == doc.end() || it->get<std::string>().empty()) {
      throw UserErrorException(bad_content(file));
    }
    return it->get<std::string>();
  };
  if (doc.contains("Scope")) {
    // write_config form: /subscriptions/<sub>/resourceGroups/<rg>/providers/.../workspaces/<ws>
    const std::string scope = str("Scope");
    std::vector<std::string> parts;
    std::stringstream ss(scope);
    for (std::string p; std::getline(ss, p, '/');) parts.push_back(p);
    if (parts.size() < 9) throw UserErrorException(bad_content(file));
    cfg.subscription_id = parts[2];
    cfg.resource_group = parts[4];
    cfg.workspace_name = parts[8];
  } else {
    cfg.subscription_id = str("subscription_id");
    cfg.resource_group = str("resource_group");
    cfg.workspace_name = str("workspace_name");
  }
  return cfg;
}

}  // namespace

WorkspaceConfig find_workspace_config(const std::optional<stdfs::path>& path) {
  std::error_code ec;
  stdfs::path start = path ? *path : stdfs::current_path();
  if (stdfs::is_regular_file(start, ec)) return parse_config(start);
  if (path && !stdfs::exists(start, ec)) {
    throw UserErrorException("workspace config path does not exist: " + start.string());
  }
  start = stdfs::absolute(start).lexically_normal();
  // The SDK's order: for each sub-folder, for each file name, walk up to the root. So an
  // ancestor's .azureml/config.json wins over ./config.json.
  for (const char* sub : {".azureml", "aml_config", ""}) {
    for (const char* file_name : {"config.json", "project.json"}) {
      for (stdfs::path dir = start;; dir = dir.parent_path()) {
        const stdfs::path candidate = *sub ? dir / sub / file_name : dir / file_name;
        if (stdfs::is_regular_file(candidate, ec)) return parse_config(candidate);
        if (dir == dir.parent_path()) break;
      }
    }
  }
  throw UserErrorException(
      "The workspace configuration file config.json, could not be found in " + start.string() +
      " or its parent directories. Please check whether the workspace configuration file "
      "exists, or provide the full path to the configuration file as an argument.");
}

stdfs::path amlemu_home() {
  if (const char* env = std::getenv("AMLEMU_HOME"); env && *env) return stdfs::path(env);
  const char* home = std::getenv("HOME");
  return stdfs::path(home && *home ? home : "/tmp") / ".amlemu";
}

}  // namespace amlemu
