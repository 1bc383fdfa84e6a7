#include "environment/environment.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>

#include "amlemu/environment.hpp"
#include "amlemu/errors.hpp"
#include "common/text.hpp"
#include "amlemu/workspace.hpp"
#include "environment/conda.hpp"
#include "environment/curated.hpp"
#include "environment/interpreter_probe.hpp"
#include "environment/interpreters.hpp"
#include "common/clock.hpp"
#include "common/fault.hpp"
#include "common/fs.hpp"
#include "common/hash.hpp"
#include "workspace/layout.hpp"

namespace amlemu::environment {

namespace stdfs = std::filesystem;

namespace {

void lock(const fs::Fd& fd, int operation, const stdfs::path& file) {
  while (::flock(fd.get(), operation) != 0) {
    if (errno != EINTR) fs::throw_errno("cannot lock", file);
  }
}

// Runs a command with stdout and stderr appended to `log`; returns its exit code (127 when it
// cannot start).
int run_logged(Launcher& launcher, const stdfs::path& program,
               const std::vector<std::string>& args, const stdfs::path& log,
               const std::map<std::string, std::string>& extra_env = {}) {
  {
    std::ofstream out(log, std::ios::app);
    out << "$ " << program.string();
    for (const auto& a : args) out << " " << a;
    out << "\n";
  }
  ProcessSpec spec;
  spec.program = program;
  spec.args = args;
  spec.env = current_environment();
  for (const auto& [k, v] : extra_env) spec.env[k] = v;
  spec.cwd = log.parent_path();
  spec.output_file = log;
  try {
    return run_to_end(launcher, spec);
  } catch (const std::runtime_error& e) {
    std::ofstream(log, std::ios::app) << e.what() << "\n";
    return 127;
  }
}

// The installer's most telling line: uv's last "cause:" (else "error:") line, pip's last
// "ERROR:" line, else the last line.
std::string last_error_line(const stdfs::path& log) {
  std::ifstream in(log);
  std::string line, last, error, cause;
  while (std::getline(in, line)) {
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    line = line.substr(start);
    last = line;
    if (line.rfind("ERROR:", 0) == 0 || line.rfind("error:", 0) == 0) {
      error = line;
      cause.clear();
    }
    if (line.rfind("cause:", 0) == 0) cause = line.substr(7);
  }
  if (!cause.empty()) return cause;
  return error.empty() ? last : error;
}

void append(const stdfs::path& log, const std::string& text) {
  std::ofstream(log, std::ios::app) << text << "\n";
}

std::string identity_of(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return "";
  return std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec);
}

bool truthy(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return false;
  const auto s = to_lower(v);
  return s == "1" || s == "true" || s == "yes";
}

}  // namespace

// <root>/<id>.lock guards one environment. A run holds it shared from the moment it finds the
// environment complete until the run ends; a build and a delete hold it exclusively. flock locks
// go with the open file, so a process that dies releases them.
fs::Fd open_lock(const stdfs::path& file) {
  fs::Fd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (fd.get() < 0) fs::throw_errno("cannot create lock file", file);
  return fd;
}

nlohmann::json Specification::to_json() const {
  nlohmann::json j = {{"python", python},
                      {"pythonIdentity", python_identity},
                      {"userManagedDependencies", user_managed},
                      {"pipPackages", pip_packages},
                      {"condaPackages", conda_packages},
                      {"environmentVariables", variables}};
  if (!python_version.empty()) j["pythonVersion"] = python_version;
  if (isolated) j["isolated"] = true;
  if (!installed_here.empty()) j["installedHere"] = installed_here;
  return j;
}

std::string Specification::id() const { return "env-" + sha1_hex(to_json().dump()).substr(0, 20); }

stdfs::path base_python() {
  if (const char* env = std::getenv("AMLEMU_PYTHON"); env && *env) return env;
  auto found = find_program("python3");
  if (found.empty()) {
    throw UserErrorException("no python3 interpreter found on PATH (set AMLEMU_PYTHON)");
  }
  return found;
}

stdfs::path uv_executable() {
  if (const char* env = std::getenv("AMLEMU_UV"); env && *env) {
    return ::access(env, X_OK) == 0 ? stdfs::path(env) : stdfs::path();
  }
  return find_program("uv");
}

stdfs::path uv_cache() {
  if (const char* env = std::getenv("AMLEMU_UV_CACHE"); env && *env) return env;
  return amlemu_home() / "uv-cache";
}

Specification resolve(const nlohmann::json& def, Launcher& launcher) {
  Specification s;
  std::error_code ec;
  const auto base = base_python();
  // A virtual environment's python is a link to its base interpreter: resolved, it would run
  // outside the environment (without its packages). Only its folder is made canonical.
  const bool in_venv = stdfs::exists(base.parent_path().parent_path() / "pyvenv.cfg", ec);
  const auto real = in_venv ? stdfs::canonical(base.parent_path(), ec) / base.filename()
                            : stdfs::canonical(base, ec);
  s.python = (ec ? base : real).string();
  s.python_identity = identity_of(s.python);
  const auto env = def.value("environment", nlohmann::json::object());
  const auto py = env.value("python", nlohmann::json::object());
  s.user_managed = py.value("userManagedDependencies", false);
  s.pip_packages = py.value("pipPackages", std::vector<std::string>{});
  s.conda_packages = py.value("condaPackages", std::vector<std::string>{});
  s.variables = env.value("environmentVariables", std::map<std::string, std::string>{});
  std::string wanted = py.value("pythonVersion", "");
  std::string wanted_by = wanted.empty() ? "" : "python=" + wanted;
  for (const auto& channel : py.value("condaChannels", std::vector<std::string>{})) {
    s.notes.push_back("conda channel " + channel + " recorded and ignored: packages come from PyPI");
  }

  // A curated name: its image's Python and main packages, before the job's own.
  const std::string curated = env.value("name", "");
  if (!curated.empty()) {
    if (const auto c = curated_table().find(curated)) {
      s.user_managed = false;
      s.pip_packages.insert(s.pip_packages.end(), c->packages.begin(), c->packages.end());
      if (wanted.empty()) {
        wanted = c->python;
        wanted_by = "curated environment " + curated;
      }
      s.notes.push_back("Curated environment " + curated + ": Python " + c->python + ", " +
                        join(c->packages, ", ") + " (" + curated_table_file().string() + ")");
    } else {
      s.notes.push_back("Warning: curated environment " + curated + " is not in " +
                        curated_table_file().string() +
                        "; it runs on the local interpreter as it is");
    }
  }

  // Conda packages: as PyPI requirements, python=3.X as the interpreter's version.
  if (!s.conda_packages.empty()) {
    const auto t = translate_conda(s.conda_packages, conda_table());
    if (t.error) throw UserErrorException(*t.error);
    s.pip_packages.insert(s.pip_packages.begin(), t.pip.begin(), t.pip.end());
    s.notes.insert(s.notes.end(), t.notes.begin(), t.notes.end());
    if (t.python) {
      wanted = *t.python;
      wanted_by = "python=" + *t.python;
    }
  }

  // TensorFlow(framework_version=...): the interpreter's own release when it has it, else the
  // release with the Python and numpy of its curated image.
  std::optional<DefaultInterpreter> default_one;
  bool probed = false;
  auto probe_once = [&]() -> const std::optional<DefaultInterpreter>& {
    if (!probed) default_one = probe_default(launcher, s.python);
    probed = true;
    return default_one;
  };
  const std::string framework = def.value("frameworkName", "Python");
  const std::string version = def.value("frameworkVersion", "");
  if (framework == "TensorFlow" && !version.empty()) {
    const bool named = std::any_of(s.pip_packages.begin(), s.pip_packages.end(),
                                   [](const std::string& p) {
                                     return to_lower(p).rfind("tensorflow", 0) == 0;
                                   });
    if (!named) {
      const auto& tf = curated_table().tensorflow;
      const auto release = tf.find(version);
      bool default_has = true;
      if (release != tf.end() && wanted.empty()) {
        const auto& d = probe_once();
        default_has = d && (d->tensorflow == version || d->tensorflow.rfind(version + ".", 0) == 0);
      }
      if (!default_has) {
        s.pip_packages.insert(s.pip_packages.end(), release->second.packages.begin(),
                              release->second.packages.end());
        wanted = release->second.python;
        wanted_by = "TensorFlow " + version + " (framework_version '" + version + "')";
        s.notes.push_back("framework_version '" + version + "': " +
                          join(release->second.packages, ", ") + " on Python " + wanted +
                          ", as its curated image had");
      } else {
        s.pip_packages.push_back("tensorflow==" + version + ".*");
      }
    }
  }

  // Which the default interpreter is: from its files, asked (a process) only when they do not
  // say and a version is asked for.
  const char* pyenv = std::getenv("PYENV_ROOT");
  const char* pyenv_version = std::getenv("PYENV_VERSION");
  const char* home = std::getenv("HOME");
  const auto pyenv_root =
      pyenv && *pyenv ? stdfs::path(pyenv) : stdfs::path(home ? home : "/") / ".pyenv";
  auto known_default = [&]() -> std::optional<Interpreter> {
    auto known = identify_default(base, pyenv_root, pyenv_version ? pyenv_version : "",
                                  stdfs::current_path(ec));
    if (!known && !wanted.empty()) {
      if (const auto& d = probe_once()) known = d->interpreter;
    }
    return known;
  };

  // The interpreter of the version asked for.
  if (!wanted.empty()) {
    s.python_version = wanted;
    const char* path = std::getenv("PATH");
    const auto found = discover_interpreters(path ? path : "", pyenv_root);
    const auto chosen = choose_interpreter(found, known_default(), wanted);
    if (chosen) {
      s.python = stdfs::canonical(chosen->path, ec).string();
      if (ec) s.python = chosen->path.string();
      s.python_identity = identity_of(s.python);
      s.interpreter = chosen->version + " (" + chosen->path.string() + ")";
    } else if (truthy("AMLEMU_PYTHON_FALLBACK")) {
      s.python_version.clear();
      s.notes.push_back("Warning: " + wanted_by + " asks for Python " + wanted +
                        ", and no such interpreter was found; AMLEMU_PYTHON_FALLBACK is set, so "
                        "the default interpreter runs it");
    } else {
      throw UserErrorException(
          wanted_by + " asks for Python " + wanted + ", and no Python " + wanted +
          " interpreter was found (found: " + describe_interpreters(found) +
          "); install one (pyenv install " + wanted + "), or set AMLEMU_PYTHON_FALLBACK=1 to use "
          "the default interpreter");
    }
  }
  if (s.interpreter.empty()) {
    const auto known = known_default();
    s.interpreter = known ? known->version + " (" + known->path.string() + ")" : s.python;
  }

  for (auto& p : s.pip_packages) {
    p.erase(0, p.find_first_not_of(" \t"));
    p.erase(p.find_last_not_of(" \t") + 1);
  }
  std::sort(s.pip_packages.begin(), s.pip_packages.end());
  s.pip_packages.erase(std::unique(s.pip_packages.begin(), s.pip_packages.end()),
                       s.pip_packages.end());
  std::sort(s.conda_packages.begin(), s.conda_packages.end());
  return s;
}

namespace {

// Builds the environment into `dir` (the caller holds its lock exclusively), its marker last:
// with uv where there is one (its cache shared under $AMLEMU_HOME), else python -m venv and pip.
void build(Launcher& launcher, const Specification& spec, const stdfs::path& dir,
           const stdfs::path& build_log) {
  const auto started = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  const auto id = dir.filename().string();
  const auto python = dir / "bin" / "python";
  std::error_code ec;
  stdfs::create_directories(build_log.parent_path());
  append(build_log, "Building environment " + id + " (" + now_iso() + ")\n" +
                        spec.to_json().dump(2));
  append(build_log, "Interpreter: " + spec.interpreter);
  for (const auto& n : spec.notes) append(build_log, n);
  stdfs::remove_all(dir, ec);  // what an interrupted build left
  const auto uv = uv_executable();
  const std::map<std::string, std::string> uv_env = {{"UV_CACHE_DIR", uv_cache().string()},
                                                     {"UV_PYTHON_DOWNLOADS", "never"},
                                                     {"UV_NO_PROGRESS", "1"}};
  if (uv.empty()) {
    append(build_log, "uv was not found (set AMLEMU_UV or put uv on PATH; scripts/install-deps.sh "
                      "installs it): building with python -m venv and pip, which is slower");
  }
  const int created =
      uv.empty()
          ? run_logged(launcher, spec.python,
                       spec.isolated ? std::vector<std::string>{"-m", "venv", dir.string()}
                                     : std::vector<std::string>{"-m", "venv", "--without-pip",
                                                                "--system-site-packages", dir.string()},
                       build_log)
          : run_logged(launcher, uv,
                       spec.isolated ? std::vector<std::string>{"venv", "--python", spec.python, dir.string()}
                                     : std::vector<std::string>{"venv", "--python", spec.python,
                                                                "--system-site-packages", dir.string()},
                       build_log, uv_env);
  if (created != 0) {
    stdfs::remove_all(dir, ec);
    throw UserErrorException("creating the virtual environment failed: " +
                             last_error_line(build_log));
  }
  std::vector<std::string> reqs;
  const auto met = spec.isolated ? std::map<std::string, std::string>{}
                                 : met_by_interpreter(launcher, spec.python, spec.pip_packages);
  for (const auto& r : spec.pip_packages) {
    const bool here = std::find(spec.installed_here.begin(), spec.installed_here.end(), r) !=
                      spec.installed_here.end();
    if (const auto m = met.find(r); m != met.end() && !here) {
      append(build_log, m->second + " from the base interpreter satisfies " + r);
    } else {
      reqs.push_back(r);
    }
  }
  if (!reqs.empty()) {
    std::vector<std::string> args;
    int rc;
    if (uv.empty()) {
      args = {"-m", "pip", "--python", python.string(), "install", "--disable-pip-version-check",
              "--no-input", "--progress-bar", "off"};
      args.insert(args.end(), reqs.begin(), reqs.end());
      rc = run_logged(launcher, spec.python, args, build_log);
    } else {
      args = {"pip", "install", "--python", python.string()};
      args.insert(args.end(), reqs.begin(), reqs.end());
      rc = run_logged(launcher, uv, args, build_log, uv_env);
    }
    if (rc != 0) {
      stdfs::remove_all(dir, ec);
      throw UserErrorException("installing pip packages failed: " + last_error_line(build_log));
    }
  }
  crash_point("environment.installed");
  const nlohmann::json marker = {{"id", id},
                                 {"specification", spec.to_json()},
                                 {"interpreter", spec.interpreter},
                                 {"createdTime", now_iso()},
                                 {"buildSeconds", seconds()}};
  fs::atomic_write(dir / kMarker, marker.dump(2) + "\n");
  append(build_log, "Environment " + id + " built in " + std::to_string(seconds()) + " s");
}

}  // namespace

bool is_ready(const Specification& spec, const stdfs::path& root) {
  if (spec.user_managed) return true;
  std::error_code ec;
  return stdfs::exists(root / spec.id() / kMarker, ec);
}

Prepared prepare(const Specification& spec, const stdfs::path& root,
                 const stdfs::path& build_log, Launcher& launcher) {
  const auto started = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  Prepared p;
  if (spec.user_managed) {
    p.python = spec.python;
    p.seconds = seconds();
    return p;
  }
  p.id = spec.id();
  const auto dir = root / p.id;
  const auto python = dir / "bin" / "python";
  const auto lock_file = root / (p.id + ".lock");
  std::error_code ec;
  stdfs::create_directories(root, ec);
  fs::Fd held = open_lock(lock_file);
  // Converting a flock lock drops the old one before taking the new, so two runs that both
  // found it missing cannot deadlock; each looks for the marker (written last) again once it
  // holds the lock it asked for.
  for (;;) {
    lock(held, LOCK_SH, lock_file);
    if (stdfs::exists(dir / kMarker, ec)) break;
    lock(held, LOCK_EX, lock_file);
    if (stdfs::exists(dir / kMarker, ec)) continue;  // a concurrent run built it while we waited
    build(launcher, spec, dir, build_log);
    p.built = true;
  }
  ::utimensat(AT_FDCWD, (dir / kMarker).c_str(), nullptr, 0);  // last use
  p.in_use = std::move(held);
  p.python = python;
  p.seconds = seconds();
  return p;
}

}  // namespace amlemu::environment
