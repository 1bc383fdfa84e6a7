// Reading YAML job and environment files with yaml-cpp: a reader that reports every problem
// as "<file>:<line>: <key path>: <problem>", and `--set key.path=value` overrides.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "amlemu/errors.hpp"

namespace amlemu::spec {

/// A conda file's dependencies: {"pipPackages": [the pip list], "condaPackages": [the others,
/// python and pip left out]}.
nlohmann::json conda_dependencies(const YAML::Node& conda);

/// Replaces each ${{x}} of a command by `replacement[x]`. When an x has no replacement, returns ""
/// and sets `*unknown` to it; otherwise `*unknown` is empty.
std::string substitute_expressions(const std::string& command,
                                   const std::map<std::string, std::string>& replacement,
                                   std::string* unknown);

class Reader;

/// A job's (or a deployment's) `environment`: the reference string as written, or an inline
/// environment as {image, pipPackages, condaPackages, condaChannels}; a conda_file is read
/// relative to `base`. Keys accepted but not honoured are added to `warnings`.
nlohmann::json environment_node(const Reader& r, const YAML::Node& env,
                                const std::filesystem::path& base, std::vector<std::string>& warnings);

/// Loads a YAML file: UserErrorException "<what> file not found: <file>", or
/// "<file>:<line>: not valid YAML: <reason>".
YAML::Node load_yaml_file(const std::string& file, const std::string& what);

// Reads nodes and reports problems as "<file>:<line>: <key path>: <problem>".
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& key,
                         const std::string& problem) const {
    const int line = at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
    throw UserErrorException(file_ + (line ? ":" + std::to_string(line) : "") + ": " + key + ": " +
                             problem);
  }

  static std::string kind(const YAML::Node& n) {
    switch (n.Type()) {
      case YAML::NodeType::Map: return "a mapping";
      case YAML::NodeType::Sequence: return "a list";
      case YAML::NodeType::Null: return "null";
      default: return "a scalar";
    }
  }

  // A mapping's key as a string; YAML allows lists and mappings as keys, a job file does not.
  std::string key(const YAML::Node& k, const std::string& where) const {
    if (!k.IsScalar()) {
      fail(k, where.empty() ? "(top level)" : where, "keys must be plain names, got " + kind(k));
    }
    return k.as<std::string>();
  }

  void keys(const YAML::Node& map, const std::string& where, const std::set<std::string>& known,
            const std::set<std::string>& ignored, std::vector<std::string>& warnings) const {
    for (const auto& kv : map) {
      const auto key = this->key(kv.first, where);
      const auto path = where.empty() ? key : where + "." + key;
      if (ignored.count(key)) {
        warnings.push_back(path + " is accepted but ignored by amlemu");
      } else if (!known.count(key)) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        fail(kv.first, path, "unknown key (expected one of: " + list + ")");
      }
    }
  }

  std::string str(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, "must be a string, got " + kind(n));
    return n.as<std::string>();
  }

  int integer(const YAML::Node& n, const std::string& key, int min) const {
    if (!n.IsScalar()) fail(n, key, "must be an integer, got " + kind(n));
    long long v = 0;
    try {
      size_t used = 0;
      const auto text = n.as<std::string>();
      v = std::stoll(text, &used);
      if (used != text.size()) throw std::invalid_argument(text);
    } catch (const std::exception&) {
      fail(n, key, "must be an integer, got '" + n.as<std::string>() + "'");
    }
    if (v < min || v > 1000000000) {
      fail(n, key, "must be an integer >= " + std::to_string(min) + ", got " + std::to_string(v));
    }
    return static_cast<int>(v);
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

/// `--set a.b.c=value` applied to the parsed tree: the value is read as YAML, so numbers stay
/// numbers; missing mappings on the path are made. Throws UserErrorException on a bad form.
void apply_override(YAML::Node& root, const std::string& assignment, const std::string& file);

/// A sweep job file's own keys (search_space, sampling_algorithm, objective, early_termination,
/// limits), checked and as JSON: {"searchSpace", "sampling": {"type", "seed"?}, "objective":
/// {"goal", "primaryMetric"}, "earlyTermination" (null or the YAML mapping), "limits":
/// {"maxTotalTrials", "maxConcurrentTrials", "timeoutSeconds", "trialTimeoutSeconds" (0: none)}}.
/// The trial is not read here. Problems are UserErrorExceptions naming the file and the key.
nlohmann::json sweep_definition(const Reader& r, const YAML::Node& root, const std::string& file,
                                std::vector<std::string>& warnings);

}  // namespace amlemu::spec
