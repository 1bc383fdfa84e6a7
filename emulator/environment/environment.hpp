// Preparing: resolving a run's environment and building it once into a cached virtual
// environment under <workspace>/environments/<id>.
#pragma once

#include <filesystem>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/fs.hpp"
#include "common/launcher.hpp"

namespace amlemu::environment {

/// The file an environment's folder holds once it is complete (what it was built from).
inline constexpr const char* kMarker = "amlemu-environment.json";

/// <root>/<id>.lock guards one environment: a run holds it shared from the moment it finds the
/// environment complete until the run ends; a build and a delete hold it exclusively. flock locks
/// go with the open file, so a process that dies releases them. Opens (creating) the file.
fs::Fd open_lock(const std::filesystem::path& file);

/// The resolved specification: everything that decides what the run's Python can import. Its
/// hash is the environment's identity.
struct Specification {
  std::string python;           // the base interpreter, symlinks resolved
  std::string python_identity;  // size and modification time of that file
  std::string python_version;   // the minor version asked for ("3.12"); empty: the default
  bool user_managed = false;    // run on the base interpreter as it is
  /// Built without the base interpreter's packages (a deployment with its own conda file: a
  /// fresh image's packages are its own only). Jobs' environments see the base's packages.
  bool isolated = false;
  /// Requirements installed into the environment even when the base interpreter meets them (a
  /// package whose copy in the base would shadow the environment's).
  std::vector<std::string> installed_here;
  std::vector<std::string> pip_packages;  // sorted: pip, translated conda, curated, framework
  std::vector<std::string> conda_packages;  // as given (already translated into pip_packages)
  std::map<std::string, std::string> variables;

  // Not part of the identity: what resolving found, for the run's logs and properties.
  std::string interpreter;           // "3.12.1 (/root/.pyenv/versions/3.12.1/bin/python3.12)"
  std::vector<std::string> notes;    // conda translation, curated table, fallbacks

  nlohmann::json to_json() const;
  /// "env-" followed by 20 hex digits of the SHA-1 of to_json().
  std::string id() const;
};

/// The base interpreter: $AMLEMU_PYTHON, else the first python3 on PATH. Throws
/// UserErrorException when there is none.
std::filesystem::path base_python();

/// Resolves a runDefinition's "environment" object (and framework) into a Specification: the
/// curated name's packages and Python, the conda packages as PyPI requirements, the interpreter
/// of the Python version asked for. Throws UserErrorException with one line when it cannot (a
/// conda package with no PyPI counterpart, no interpreter of the version asked for). Starts a
/// process (through `launcher`) only to learn the default interpreter's version when a version
/// is asked for, or whether it has the TensorFlow release a framework_version names.
Specification resolve(const nlohmann::json& run_definition, Launcher& launcher);

/// The uv executable: $AMLEMU_UV, else uv on PATH; empty when there is none (or $AMLEMU_UV is
/// not an executable).
std::filesystem::path uv_executable();
/// uv's cache, shared by every workspace (uv locks it): $AMLEMU_UV_CACHE, else
/// $AMLEMU_HOME/uv-cache.
std::filesystem::path uv_cache();

/// Whether the environment can be used without a build: user-managed, or built and complete
/// (its marker exists). A cheap look, for deciding whether Preparing will take a while.
bool is_ready(const Specification& spec, const std::filesystem::path& environments_root);

struct Prepared {
  std::filesystem::path python;  // the interpreter the script runs with
  std::string id;                // empty for user-managed environments
  bool built = false;            // this run built it (and wrote the build log)
  double seconds = 0;            // time spent building or looking up
  fs::Fd in_use;                 // a shared lock that keeps `environment delete` off while held
};

/// Makes the environment ready: reuses `<environments_root>/<id>` when it is complete, else
/// builds it under an exclusive lock (so concurrent runs build it once), writing the installer's
/// output to `build_log`. A failed or interrupted build leaves nothing that a later run uses.
/// Throws UserErrorException with the installer's last error line when the build fails. The
/// result holds the environment's lock shared (`in_use`): keep it for as long as the run uses
/// the environment, so that `delete_environment` refuses until then. The installer and the
/// module probes start through `launcher`.
Prepared prepare(const Specification& spec, const std::filesystem::path& environments_root,
                 const std::filesystem::path& build_log, Launcher& launcher);

}  // namespace amlemu::environment
