#include "environment/conda.hpp"

#include <regex>
#include <sstream>
#include <stdexcept>

#include "common/text.hpp"

namespace amlemu::environment {

namespace {

std::map<std::string, std::string> string_map(const nlohmann::json& doc, const char* key) {
  std::map<std::string, std::string> out;
  if (!doc.contains(key)) return out;
  const auto& m = doc.at(key);
  if (!m.is_object()) throw std::invalid_argument(std::string(key) + ": must be a mapping");
  for (const auto& [k, v] : m.items()) {
    if (!v.is_string()) throw std::invalid_argument(std::string(key) + "." + k + ": must be a string");
    out[to_lower(k)] = v.get<std::string>();
  }
  return out;
}

std::string trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  return s;
}

// "1.2" of "1.2.3", "3.12" of "3.12.*": the major.minor a python spec pins, if it pins one.
std::optional<std::string> python_minor(const std::string& version) {
  static const std::regex pinned(R"(^(==|=)?(\d+)\.(\d+)(\.[0-9*]+)*$)");
  std::smatch m;
  if (!std::regex_match(version, m, pinned)) return std::nullopt;
  return m[2].str() + "." + m[3].str();
}

}  // namespace

CondaTable CondaTable::from_json(const nlohmann::json& doc) {
  if (!doc.is_object()) throw std::invalid_argument("must be a JSON object");
  for (const auto& [k, v] : doc.items()) {
    if (k != "renames" && k != "without_pypi" && k != "without_pypi_prefixes" && k != "comment") {
      throw std::invalid_argument(k + ": unknown key (expected renames, without_pypi, "
                                  "without_pypi_prefixes)");
    }
  }
  CondaTable t;
  t.renames = string_map(doc, "renames");
  t.without_pypi = string_map(doc, "without_pypi");
  t.without_pypi_prefixes = string_map(doc, "without_pypi_prefixes");
  return t;
}

void CondaTable::merge(const CondaTable& other) {
  for (const auto& [k, v] : other.renames) {
    renames[k] = v;
    without_pypi.erase(k);
  }
  for (const auto& [k, v] : other.without_pypi) {
    without_pypi[k] = v;
    renames.erase(k);
  }
  for (const auto& [k, v] : other.without_pypi_prefixes) without_pypi_prefixes[k] = v;
}

std::optional<std::string> conda_version_to_pep440(const std::string& raw) {
  const std::string v = trim(raw);
  if (v.empty() || v == "*") return "";
  if (v.find('|') != std::string::npos) return std::nullopt;
  // A comma-separated list of constraints: each one on its own.
  if (v.find(',') != std::string::npos) {
    std::string out;
    size_t start = 0;
    while (start <= v.size()) {
      const auto comma = v.find(',', start);
      const auto part = conda_version_to_pep440(v.substr(start, comma - start));
      if (!part || part->empty()) return std::nullopt;
      out += (out.empty() ? "" : ",") + *part;
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return out;
  }
  static const std::regex op(R"(^(==|!=|>=|<=|~=|>|<)\s*([0-9A-Za-z.*+!_-]+)$)");
  static const std::regex fuzzy(R"(^=?\s*([0-9][0-9A-Za-z.*+!_-]*)$)");
  std::smatch m;
  if (std::regex_match(v, m, op)) return m[1].str() + m[2].str();
  if (std::regex_match(v, m, fuzzy)) {
    std::string version = m[1];
    // conda's "1.2" and "=1.2" match 1.2, 1.2.0 and 1.2.5 alike: a prefix match.
    if (version.size() >= 2 && version.substr(version.size() - 2) == ".*") return "==" + version;
    if (version.back() == '*') return "==" + version.substr(0, version.size() - 1) + ".*";
    return "==" + version + ".*";
  }
  return std::nullopt;
}

CondaTranslation translate_conda(const std::vector<std::string>& specs, const CondaTable& table) {
  CondaTranslation t;
  for (const auto& raw : specs) {
    const std::string spec = trim(raw);
    // [channel::]name, then a version and a build string: "numpy", "numpy=1.2",
    // "numpy=1.2=py311_0", "numpy 1.2 py311_0", "numpy >=1.2", "numpy>=1.2,<2".
    std::string channel, rest = spec, name, version, build;
    if (const auto colons = rest.find("::"); colons != std::string::npos) {
      channel = rest.substr(0, colons);
      rest = rest.substr(colons + 2);
    }
    if (rest.find_first_of(" \t") != std::string::npos) {
      std::istringstream words(rest);
      words >> name >> version >> build;
      std::string more;
      if (words >> more) name.clear();
    } else {
      const auto op = rest.find_first_of("=<>!~");
      name = rest.substr(0, op);
      if (op != std::string::npos) {
        version = rest.substr(op);
        if (version.rfind("==", 0) != 0 && version[0] == '=') version = version.substr(1);
        // conda's "name=version=build" and "name==version=build"
        const auto skip = version.rfind("==", 0) == 0 ? 2 : 0;
        if (const auto eq = version.find('=', skip);
            eq != std::string::npos && version.find_first_of("<>!~,") == std::string::npos) {
          build = version.substr(eq + 1);
          version = version.substr(0, eq);
        }
      }
    }
    static const std::regex valid_name(R"(^[A-Za-z0-9_][A-Za-z0-9_.-]*$)");
    if (spec.find('[') != std::string::npos || !std::regex_match(name, valid_name)) {
      t.error = "conda dependency '" + spec + "' is not a match spec amlemu can read; write it as "
                "name, name=version or name>=version, or list it under pip:";
      return t;
    }
    name = to_lower(name);
    if (!channel.empty()) t.notes.push_back("channel " + channel + " of '" + spec + "' ignored");
    const auto pep = conda_version_to_pep440(version);
    if (!pep) {
      t.error = "conda dependency '" + spec + "': its version '" + version + "' has no PyPI "
                "equivalent; pin one version, or list it under pip:";
      return t;
    }
    if (!build.empty()) t.notes.push_back("build string '" + build + "' of '" + spec + "' ignored");
    if (name == "pip") continue;
    if (name == "python") {
      t.python = python_minor(version);
      if (!t.python && !version.empty()) {
        t.notes.push_back("'" + spec + "' names no single Python minor version; the default "
                          "interpreter is used");
      }
      continue;
    }
    // A rename (the user's included) wins over the names known to have no PyPI counterpart.
    std::string pypi = name;
    const auto r = table.renames.find(name);
    if (r != table.renames.end()) {
      if (r->second.empty()) {
        t.notes.push_back("conda package '" + name + "' dropped (the renames file maps it to nothing)");
        continue;
      }
      pypi = r->second;
      t.notes.push_back("conda package '" + name + "' installed from PyPI as '" + pypi + "'");
    }
    if (r == table.renames.end()) {
      std::optional<std::string> why;
      if (const auto no = table.without_pypi.find(name); no != table.without_pypi.end()) why = no->second;
      for (const auto& [prefix, reason] : table.without_pypi_prefixes) {
        if (!why && name.rfind(prefix, 0) == 0) why = reason;
      }
      if (why) {
        t.error = "conda package '" + name + "' has no PyPI counterpart (" + *why +
                  "); remove it, list a PyPI package under pip:, or map it in " + table.user_file;
        return t;
      }
    }
    t.pip.push_back(pypi + *pep);
  }
  return t;
}

}  // namespace amlemu::environment
