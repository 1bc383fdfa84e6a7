// Conda dependencies as PyPI requirements: amlemu builds every environment with uv from PyPI,
// so each conda package of a conda file (or of an estimator's conda_packages) becomes the PyPI
// requirement that installs the same thing, by the same name or by the renames table
// (fixtures/conda_packages.json). Pure: no process, no file but the tables it is given.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace amlemu::environment {

/// The renames table: conda names that have another name on PyPI, or none.
struct CondaTable {
  /// conda name -> PyPI name; an empty PyPI name drops the package (the machine provides it).
  std::map<std::string, std::string> renames;
  /// conda names with no PyPI counterpart -> why (the way out is named by translate()).
  std::map<std::string, std::string> without_pypi;
  /// name prefixes with no PyPI counterpart ("r-") -> why.
  std::map<std::string, std::string> without_pypi_prefixes;
  /// How messages name the file a user adds renames to.
  std::string user_file = "the conda renames file";

  /// Reads the table's JSON ({"renames": {...}, "without_pypi": {...},
  /// "without_pypi_prefixes": {...}}). Throws std::invalid_argument naming the bad key.
  static CondaTable from_json(const nlohmann::json& doc);
  /// Entries of `other` win over this table's.
  void merge(const CondaTable& other);
};

/// What a list of conda match specs means for a PyPI build.
struct CondaTranslation {
  std::vector<std::string> pip;       // PEP 508 requirements, in the order given
  std::optional<std::string> python;  // "3.12" from python=3.12 (major.minor), if pinned
  std::vector<std::string> notes;     // what was dropped or reinterpreted, one line each
  std::optional<std::string> error;   // the one-line reason the list cannot be built, if any
};

/// Translates conda match specs ("numpy=2.3.1", "conda-forge::scikit-learn>=1.5",
/// "pytorch 2.2.* py3.11_cpu_0", "python=3.12", "pip") into PyPI requirements. The first spec
/// that cannot be translated sets `error` (naming the package and the way out) and stops.
CondaTranslation translate_conda(const std::vector<std::string>& specs, const CondaTable& table);

/// One conda version spec as a PEP 440 specifier: "2.3.1" -> "==2.3.1.*" (conda's "=" is a
/// prefix match), "==2.3.1" as is, ">=1.5,<2" as is, "1.2.*" -> "==1.2.*", "*" -> "". Nullopt
/// for what PEP 440 cannot say (alternatives with "|").
std::optional<std::string> conda_version_to_pep440(const std::string& version);

}  // namespace amlemu::environment
