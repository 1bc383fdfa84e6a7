#include "environment/curated.hpp"

#include <fstream>
#include <mutex>
#include <stdexcept>

#include "amlemu/errors.hpp"
#include "amlemu/workspace.hpp"
#include "common/paths.hpp"
#include "common/text.hpp"

namespace amlemu::environment {

namespace stdfs = std::filesystem;

namespace {

std::vector<std::string> strings(const nlohmann::json& entry, const char* key, const std::string& where) {
  if (!entry.contains(key)) return {};
  const auto& v = entry.at(key);
  if (!v.is_array()) throw std::invalid_argument(where + "." + key + ": must be a list");
  std::vector<std::string> out;
  for (const auto& s : v) {
    if (!s.is_string()) throw std::invalid_argument(where + "." + key + ": must be a list of strings");
    out.push_back(s.get<std::string>());
  }
  return out;
}

std::string text(const nlohmann::json& entry, const char* key, const std::string& where) {
  if (!entry.contains(key) || !entry.at(key).is_string()) {
    throw std::invalid_argument(where + "." + key + ": must be a string");
  }
  return entry.at(key).get<std::string>();
}

nlohmann::json read_json(const stdfs::path& file) {
  std::ifstream in(file);
  if (!in) throw UserErrorException("cannot read " + file.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw UserErrorException(file.string() + ": not valid JSON: " + json_error(e));
  }
}

}  // namespace

CuratedTable CuratedTable::from_json(const nlohmann::json& doc) {
  CuratedTable t;
  if (!doc.is_object() || !doc.contains("environments") || !doc["environments"].is_array()) {
    throw std::invalid_argument("environments: must be a list");
  }
  for (size_t i = 0; i < doc["environments"].size(); ++i) {
    const auto& e = doc["environments"][i];
    const std::string where = "environments[" + std::to_string(i) + "]";
    CuratedEnvironment c;
    c.name = text(e, "name", where);
    c.python = text(e, "python", where);
    c.packages = strings(e, "packages", where);
    c.guessed = strings(e, "guessed", where);
    t.environments.push_back(c);
    for (const auto& alias : strings(e, "aliases", where)) {
      auto copy = c;
      copy.name = alias;
      t.environments.push_back(copy);
    }
  }
  if (doc.contains("tensorflow")) {
    for (const auto& [version, e] : doc["tensorflow"].items()) {
      const std::string where = "tensorflow." + version;
      t.tensorflow[version] = {version, text(e, "python", where), strings(e, "packages", where)};
    }
  }
  return t;
}

std::optional<CuratedEnvironment> CuratedTable::find(const std::string& raw) const {
  std::string name = raw;
  if (const auto at = name.find('@'); at != std::string::npos) name.resize(at);
  if (const auto colon = name.find(':'); colon != std::string::npos) name.resize(colon);
  const auto wanted = to_lower(name);
  for (const auto& e : environments) {
    const auto have = to_lower(e.name);
    if (have == wanted || have == "azureml-" + wanted) return e;
  }
  return std::nullopt;
}

stdfs::path curated_table_file() { return (share_dir() / "curated_environments.json").lexically_normal(); }

stdfs::path user_conda_table_file() { return amlemu_home() / "conda_packages.json"; }

const CuratedTable& curated_table() {
  static CuratedTable table;
  static std::once_flag once;
  std::call_once(once, [] {
    const auto file = curated_table_file();
    try {
      table = CuratedTable::from_json(read_json(file));
    } catch (const std::invalid_argument& e) {
      throw UserErrorException(file.string() + ": " + e.what());
    }
  });
  return table;
}

CondaTable conda_table() {
  const auto file = (share_dir() / "conda_packages.json").lexically_normal();
  CondaTable table;
  try {
    table = CondaTable::from_json(read_json(file));
  } catch (const std::invalid_argument& e) {
    throw UserErrorException(file.string() + ": " + e.what());
  }
  const auto user = user_conda_table_file();
  table.user_file = user.string();
  std::error_code ec;
  if (stdfs::exists(user, ec)) {
    try {
      table.merge(CondaTable::from_json(read_json(user)));
    } catch (const std::invalid_argument& e) {
      throw UserErrorException(user.string() + ": " + e.what());
    }
  }
  return table;
}

}  // namespace amlemu::environment
