// The environment cache's public API (include/amlemu/environment.hpp): build one, list, show
// and delete what the workspace has cached.
#include "environment/environment.hpp"

#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "amlemu/environment.hpp"
#include "amlemu/errors.hpp"
#include "common/text.hpp"
#include "amlemu/workspace.hpp"
#include "common/clock.hpp"
#include "common/fs.hpp"
#include "workspace/layout.hpp"

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
