// The Python interpreters on this machine, and the one an environment asks for ("python=3.12"
// in a conda file, a curated environment's Python, a TensorFlow release's Python). Discovery
// reads directories only: PATH (pyenv's shims skipped: a shim of a version pyenv has not
// selected fails when run) and pyenv's versions folder. Never a download.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace amlemu::environment {

struct Interpreter {
  std::filesystem::path path;
  std::string version;  // "3.12.1" where the folder says it (pyenv), else "3.12" from the name
  std::string origin;   // "default", "PATH" or "pyenv"
};

/// "3.12" of "3.12.1", "3.12" of "3.12".
std::string minor_version(const std::string& version);

/// Every python3.N on `path_variable`'s folders (folders named "shims" skipped), then every
/// pyenv version under `<pyenv_root>/versions` (newest first). One entry per file.
std::vector<Interpreter> discover_interpreters(const std::string& path_variable,
                                               const std::filesystem::path& pyenv_root);

/// The default interpreter `base` without running it, where its files say which it is: a
/// python3.N file (symlinks resolved), or a pyenv shim with the version pyenv selects
/// ($PYENV_VERSION, else a .python-version file in `cwd` or above, else
/// `<pyenv_root>/version`). Nullopt when they do not say (then it must be asked).
std::optional<Interpreter> identify_default(const std::filesystem::path& base,
                                            const std::filesystem::path& pyenv_root,
                                            const std::string& pyenv_version,
                                            const std::filesystem::path& cwd);

/// The interpreter for `minor` ("3.12"): the default one when it is of that version, else the
/// first found of that version. Pure.
std::optional<Interpreter> choose_interpreter(const std::vector<Interpreter>& found,
                                              const std::optional<Interpreter>& default_one,
                                              const std::string& minor);

/// "3.10.13 (/root/.pyenv/versions/3.10.13/bin/python3.10), 3.11 (/usr/bin/python3.11)": the
/// versions found, for an error that names them.
std::string describe_interpreters(const std::vector<Interpreter>& found);

}  // namespace amlemu::environment
