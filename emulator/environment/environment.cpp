#include "environment/environment.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/process.hpp>
#include <chrono>
#include <cstdlib>
#include <atomic>
#include <fstream>
#include <sstream>

#include "amlemu/environment.hpp"
#include "amlemu/errors.hpp"
#include "common/text.hpp"
#include "amlemu/workspace.hpp"
#include "environment/conda.hpp"
#include "environment/curated.hpp"
#include "environment/interpreters.hpp"
#include "common/clock.hpp"
#include "common/fault.hpp"
#include "common/fs.hpp"
#include "common/hash.hpp"
#include "workspace/layout.hpp"

namespace amlemu::environment {

namespace stdfs = std::filesystem;
namespace bp = boost::process;

namespace {

constexpr const char* kMarker = "amlemu-environment.json";

// <root>/<id>.lock guards one environment. A run holds it shared from the moment it finds the
// environment complete until the run ends; a build and a delete hold it exclusively. flock locks
// go with the open file, so a process that dies releases them.
fs::Fd open_lock(const stdfs::path& file) {
  fs::Fd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (fd.get() < 0) fs::throw_errno("cannot create lock file", file);
  return fd;
}

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

// Runs `python -c code args...` and returns its output lines (empty when it fails).
std::vector<std::string> probe(Launcher& launcher, const stdfs::path& python,
                               const std::string& code, const std::vector<std::string>& args) {
  static std::atomic<int> probes{0};
  const auto answer = stdfs::temp_directory_path() /
                      ("amlemu-probe-" + std::to_string(::getpid()) + "-" + std::to_string(++probes));
  ProcessSpec spec;
  spec.program = python;
  spec.args = {"-c", code};
  spec.args.insert(spec.args.end(), args.begin(), args.end());
  spec.env = current_environment();
  spec.cwd = stdfs::temp_directory_path();
  spec.output_file = answer;
  std::vector<std::string> lines;
  try {
    if (run_to_end(launcher, spec) == 0) {
      std::ifstream in(answer);
      for (std::string line; std::getline(in, line);) lines.push_back(line);
    }
  } catch (const std::runtime_error&) {
  }
  std::error_code ec;
  stdfs::remove(answer, ec);
  return lines;
}

// The requirements the interpreter's own packages already meet, as pip would find them through
// --system-site-packages (uv does not look there): "requirement<TAB>distribution version" lines.
// A tensorflow requirement is also met by tensorflow-cpu and tensorflow-intel.
std::map<std::string, std::string> met_by_interpreter(Launcher& launcher, const stdfs::path& python,
                                                      const std::vector<std::string>& reqs) {
  const std::string code =
      "import sys\n"
      "try:\n"
      "    import importlib.metadata as m\n"
      "    from packaging.requirements import Requirement\n"
      "except ImportError:\n"
      "    try:\n"
      "        import importlib.metadata as m\n"
      "        from pip._vendor.packaging.requirements import Requirement\n"
      "    except ImportError:\n"
      "        sys.exit(0)\n"
      "for line in sys.argv[1:]:\n"
      "    try: r = Requirement(line)\n"
      "    except Exception: continue\n"
      "    if r.url or r.extras or r.marker: continue\n"
      "    name = r.name.lower().replace('_', '-')\n"
      "    for d in ([name, name + '-cpu', name + '-intel'] if name == 'tensorflow' else [name]):\n"
      "        try: v = m.version(d)\n"
      "        except m.PackageNotFoundError: continue\n"
      "        if r.specifier.contains(v, prereleases=True):\n"
      "            print(line + '\\t' + d + ' ' + v); break\n";
  std::map<std::string, std::string> met;
  for (const auto& line : probe(launcher, python, code, reqs)) {
    const auto tab = line.find('\t');
    if (tab != std::string::npos) met[line.substr(0, tab)] = line.substr(tab + 1);
  }
  return met;
}

// The default interpreter as it runs: its executable (a pyenv shim resolved), its version, and
// its TensorFlow release if it has one.
struct DefaultInterpreter {
  Interpreter interpreter;
  std::string tensorflow;
};

std::optional<DefaultInterpreter> probe_default(Launcher& launcher, const stdfs::path& python) {
  const std::string code =
      "import sys\n"
      "print(sys.executable)\n"
      "print('%d.%d.%d' % sys.version_info[:3])\n"
      "try:\n"
      "    import importlib.metadata as m\n"
      "    for d in ('tensorflow', 'tensorflow-cpu', 'tensorflow-intel'):\n"
      "        try: print(m.version(d)); break\n"
      "        except m.PackageNotFoundError: pass\n"
      "except ImportError: pass\n";
  const auto lines = probe(launcher, python, code, {});
  if (lines.size() < 2) return std::nullopt;
  DefaultInterpreter d{{lines[0], lines[1], "default"}, lines.size() > 2 ? lines[2] : ""};
  return d;
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
  const auto found = bp::search_path("python3");
  if (found.empty()) {
    throw UserErrorException("no python3 interpreter found on PATH (set AMLEMU_PYTHON)");
  }
  return stdfs::path(found.string());
}

stdfs::path uv_executable() {
  if (const char* env = std::getenv("AMLEMU_UV"); env && *env) {
    return ::access(env, X_OK) == 0 ? stdfs::path(env) : stdfs::path();
  }
  const auto found = bp::search_path("uv");
  return found.empty() ? stdfs::path() : stdfs::path(found.string());
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

namespace amlemu {

namespace stdfs = std::filesystem;

nlohmann::json CachedEnvironment::serialize() const {
  return {{"name", id},
          {"specification", specification},
          {"createdTime", created_time},
          {"lastUsedTime", last_used_time},
          {"buildSeconds", build_seconds},
          {"sizeBytes", size_bytes},
          {"interpreter", interpreter}};
}

nlohmann::json EnvironmentBuild::serialize() const {
  return {{"name", id.empty() ? nlohmann::json(nullptr) : nlohmann::json(id)},
          {"interpreter", interpreter},
          {"pythonVersion", python_version.empty() ? nlohmann::json(nullptr) : nlohmann::json(python_version)},
          {"requirements", requirements},
          {"notes", notes},
          {"built", built},
          {"seconds", seconds},
          {"buildLog", build_log.empty() ? nlohmann::json(nullptr) : nlohmann::json(build_log.string())}};
}

EnvironmentBuild build_environment(const Workspace& ws, const nlohmann::json& environment) {
  const auto launcher = make_local_launcher();
  const nlohmann::json def = {{"environment", environment}};
  const auto spec = environment::resolve(def, *launcher);
  const auto root = layout::environments(ws.state_dir());
  EnvironmentBuild out;
  out.interpreter = spec.interpreter;
  out.python_version = spec.python_version;
  out.requirements = spec.pip_packages;
  out.notes = spec.notes;
  if (spec.user_managed) return out;
  const auto log = root / "build-logs" / (spec.id() + "-" + std::to_string(::getpid()) + ".txt");
  std::error_code ec;
  stdfs::create_directories(log.parent_path(), ec);
  const auto p = environment::prepare(spec, root, log, *launcher);
  out.id = p.id;
  out.built = p.built;
  out.seconds = p.seconds;
  if (p.built) {
    out.build_log = log;
  } else {
    stdfs::remove(log, ec);
  }
  return out;
}

std::vector<CachedEnvironment> list_environments(const Workspace& ws) {
  std::vector<CachedEnvironment> out;
  const auto root = layout::environments(ws.state_dir());
  std::error_code ec;
  if (!stdfs::is_directory(root, ec)) return out;
  for (const auto& entry : stdfs::directory_iterator(root, ec)) {
    const auto marker = entry.path() / environment::kMarker;
    if (!entry.is_directory() || !stdfs::exists(marker, ec)) continue;
    CachedEnvironment e;
    try {
      const auto doc = nlohmann::json::parse(fs::read_file(marker));
      e.id = doc.at("id");
      e.specification = doc.at("specification");
      e.created_time = doc.value("createdTime", "");
      e.build_seconds = doc.value("buildSeconds", 0.0);
      e.interpreter = doc.value("interpreter", doc.at("specification").value("python", ""));
    } catch (const std::exception&) {
      continue;
    }
    struct stat st {};
    if (::stat(marker.c_str(), &st) == 0) {
      e.last_used_time = iso_utc(SystemTime(std::chrono::seconds(st.st_mtim.tv_sec)) +
                                 std::chrono::milliseconds(st.st_mtim.tv_nsec / 1000000));
    }
    for (auto it = stdfs::recursive_directory_iterator(entry.path(), ec);
         it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec) && !it->is_symlink(ec)) e.size_bytes += it->file_size(ec);
    }
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.last_used_time > b.last_used_time;
  });
  return out;
}

CachedEnvironment show_environment(const Workspace& ws, const std::string& id) {
  for (auto& e : list_environments(ws)) {
    if (e.id == id) return e;
  }
  throw NotFoundException("Environment '" + id + "' not found in workspace '" + ws.name() + "'");
}

void delete_environment(const Workspace& ws, const std::string& id) {
  const auto root = layout::environments(ws.state_dir());
  if (id.find('/') != std::string::npos || id.rfind("env-", 0) != 0 ||
      !stdfs::exists(root / id / environment::kMarker)) {
    throw NotFoundException("Environment '" + id + "' not found in workspace '" + ws.name() + "'");
  }
  const auto lock_file = root / (id + ".lock");
  const auto held = environment::open_lock(lock_file);
  if (::flock(held.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) fs::throw_errno("cannot lock", lock_file);
    throw UserErrorException("Environment '" + id + "' is in use by a job that has not ended, "
                             "or is being built; delete it once the job ends");
  }
  stdfs::remove(root / id / environment::kMarker);  // unusable first, then gone
  stdfs::remove_all(root / id);
}

}  // namespace amlemu
