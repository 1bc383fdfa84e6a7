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
               const std::vector<std::string>& args, const stdfs::path& log) {
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
  spec.cwd = stdfs::current_path();
  spec.output_file = log;
  try {
    return run_to_end(launcher, spec);
  } catch (const std::runtime_error& e) {
    std::ofstream(log, std::ios::app) << e.what() << "\n";
    return 127;
  }
}

// The installer's most telling line: its last "ERROR:" line, else the last line.
std::string last_error_line(const stdfs::path& log) {
  std::ifstream in(log);
  std::string line, last, error;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    last = line;
    if (line.rfind("ERROR:", 0) == 0) error = line;
  }
  return error.empty() ? last : error;
}

void append(const stdfs::path& log, const std::string& text) {
  std::ofstream(log, std::ios::app) << text << "\n";
}

// The framework's own requirement is met by the base interpreter when one of the framework's
// distributions (tensorflow, tensorflow-cpu, ...) is installed there in the asked version.
bool base_satisfies(Launcher& launcher, const stdfs::path& python,
                    const std::string& requirement, const stdfs::path& log) {
  const auto eq = requirement.find("==");
  if (eq == std::string::npos) return false;
  const std::string name = requirement.substr(0, eq);
  std::string version = requirement.substr(eq + 2);
  if (version.size() > 2 && version.substr(version.size() - 2) == ".*") {
    version = version.substr(0, version.size() - 2);
  }
  const std::string code =
      "import importlib.metadata as m, sys\n"
      "for d in sys.argv[2:]:\n"
      "    try: v = m.version(d)\n"
      "    except m.PackageNotFoundError: continue\n"
      "    if v == sys.argv[1] or v.startswith(sys.argv[1] + '.'): print(d, v); break\n";
  static std::atomic<int> probes{0};
  const auto answer = stdfs::temp_directory_path() /
                      ("amlemu-probe-" + std::to_string(::getpid()) + "-" + std::to_string(++probes));
  ProcessSpec spec;
  spec.program = python;
  spec.args = {"-c", code, version, name, name + "-cpu", name + "-intel"};
  spec.env = current_environment();
  spec.cwd = stdfs::current_path();
  spec.output_file = answer;
  std::string found;
  try {
    if (run_to_end(launcher, spec) == 0) {
      std::ifstream in(answer);
      std::getline(in, found);
    }
  } catch (const std::runtime_error&) {
  }
  std::error_code ec;
  stdfs::remove(answer, ec);
  if (found.empty()) return false;
  append(log, found + " from the base interpreter satisfies " + requirement);
  return true;
}

}  // namespace

nlohmann::json Specification::to_json() const {
  return {{"python", python},
          {"pythonIdentity", python_identity},
          {"userManagedDependencies", user_managed},
          {"pipPackages", pip_packages},
          {"condaPackages", conda_packages},
          {"environmentVariables", variables}};
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

Specification resolve(const nlohmann::json& def) {
  Specification s;
  std::error_code ec;
  const auto base = base_python();
  const auto real = stdfs::canonical(base, ec);
  s.python = (ec ? base : real).string();
  struct stat st {};
  if (::stat(s.python.c_str(), &st) == 0) {
    s.python_identity = std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec);
  }
  const auto env = def.value("environment", nlohmann::json::object());
  const auto py = env.value("python", nlohmann::json::object());
  s.user_managed = py.value("userManagedDependencies", false);
  s.pip_packages = py.value("pipPackages", std::vector<std::string>{});
  s.conda_packages = py.value("condaPackages", std::vector<std::string>{});
  s.variables = env.value("environmentVariables", std::map<std::string, std::string>{});
  const std::string framework = def.value("frameworkName", "Python");
  const std::string version = def.value("frameworkVersion", "");
  if (framework == "TensorFlow" && !version.empty()) {
    const bool named = std::any_of(s.pip_packages.begin(), s.pip_packages.end(),
                                   [](const std::string& p) {
                                     return to_lower(p).rfind("tensorflow", 0) == 0;
                                   });
    if (!named) s.pip_packages.push_back("tensorflow==" + version + ".*");
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

// Builds the environment into `dir` (the caller holds its lock exclusively), its marker last.
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
  stdfs::remove_all(dir, ec);  // what an interrupted build left
  if (run_logged(launcher, spec.python, {"-m", "venv", "--without-pip", "--system-site-packages",
                               dir.string()},
                 build_log) != 0) {
    stdfs::remove_all(dir, ec);
    throw UserErrorException("creating the virtual environment failed: " +
                             last_error_line(build_log));
  }
  std::vector<std::string> reqs;
  for (const auto& r : spec.pip_packages) {
    const bool framework = to_lower(r).rfind("tensorflow==", 0) == 0;
    if (!(framework && base_satisfies(launcher, spec.python, r, build_log))) reqs.push_back(r);
  }
  if (!reqs.empty()) {
    std::vector<std::string> args = {"-m", "pip", "--python", python.string(), "install",
                                     "--disable-pip-version-check", "--no-input",
                                     "--progress-bar", "off"};
    args.insert(args.end(), reqs.begin(), reqs.end());
    if (run_logged(launcher, spec.python, args, build_log) != 0) {
      stdfs::remove_all(dir, ec);
      throw UserErrorException("installing pip packages failed: " + last_error_line(build_log));
    }
  }
  crash_point("environment.installed");
  const nlohmann::json marker = {{"id", id},
                                 {"specification", spec.to_json()},
                                 {"createdTime", now_iso()},
                                 {"buildSeconds", seconds()}};
  fs::atomic_write(dir / kMarker, marker.dump(2) + "\n");
  append(build_log, "Environment " + id + " built in " + std::to_string(seconds()) + " s");
}

}  // namespace

bool is_ready(const Specification& spec, const stdfs::path& root) {
  if (spec.user_managed) return true;
  if (!spec.conda_packages.empty()) return false;
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
  if (!spec.conda_packages.empty()) {
    if (bp::search_path("conda").empty()) {
      throw UserErrorException("conda_packages need conda, and no conda executable was found on "
                               "PATH; use pip_packages, or install conda");
    }
    throw UserErrorException("conda_packages are not supported by this amlemu version even with "
                             "conda installed; use pip_packages");
  }
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
          {"sizeBytes", size_bytes}};
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
