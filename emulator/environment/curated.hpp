// What the curated environment names mean offline: each name amlemu knows (the sklearn,
// tensorflow, pytorch, lightgbm and minimal families, and the v1 AzureML-* names) stands for
// its image's Python version and main packages, and each TensorFlow estimator
// framework_version for that release with its Python and numpy. The tables live in
// fixtures/curated_environments.json (installed as share/amlemu/curated_environments.json) and
// fixtures/conda_packages.json; both say where a pin is a guess.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "environment/conda.hpp"

namespace amlemu::environment {

struct CuratedEnvironment {
  std::string name;                   // as the table spells it
  std::string python;                 // "3.10"
  std::vector<std::string> packages;  // PEP 508 requirements
  std::vector<std::string> guessed;   // which of the entry's pins are guesses, for the docs
};

struct TensorFlowRelease {
  std::string framework_version;      // "2.2"
  std::string python;                 // "3.7"
  std::vector<std::string> packages;  // tensorflow==2.2.*, numpy<1.19, ...
};

struct CuratedTable {
  std::vector<CuratedEnvironment> environments;
  std::map<std::string, TensorFlowRelease> tensorflow;  // by framework_version

  /// Reads the table; throws std::invalid_argument naming the bad entry.
  static CuratedTable from_json(const nlohmann::json& doc);
  /// The entry of a curated name: "AzureML-sklearn-1.5", the registry's "sklearn-1.5", any
  /// of an entry's aliases; case-insensitive. A version suffix (":3", "@latest") is ignored.
  std::optional<CuratedEnvironment> find(const std::string& name) const;
};

/// The installed tables (read once): share/amlemu/curated_environments.json, and
/// share/amlemu/conda_packages.json merged with $AMLEMU_HOME/conda_packages.json (the user's
/// renames) when it exists. Throw UserErrorException naming the file when one is unreadable.
const CuratedTable& curated_table();
CondaTable conda_table();
/// Where the tables are read from, for messages.
std::filesystem::path curated_table_file();
std::filesystem::path user_conda_table_file();

}  // namespace amlemu::environment
