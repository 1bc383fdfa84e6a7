#include "datastore/mount.hpp"

#include <algorithm>

#include "amlemu/errors.hpp"
#include "amlemu/mirror.hpp"
#include "common/fs.hpp"
#include "workspace/layout.hpp"

namespace amlemu::datastore {

namespace stdfs = std::filesystem;

bool any_download(const nlohmann::json& refs) {
  for (const auto& [name, ref] : refs.items()) {
    const auto mode = ref.value("mode", "");
    if (mode != "Mount" && mode != "Direct") return true;
  }
  return false;
}

namespace {

// A web URL's input, from the offline mirror: its copy, checked against its hash, bound
// read-only (the copy's folder, one point per copy) or copied into the working folder.
void mirrored(const std::string& name, const nlohmann::json& ref, const stdfs::path& mounts,
              const stdfs::path& wd, NodeData& m) {
  const std::string url = ref["mirrorUrl"];
  const auto mirror = Mirror::open();
  const auto entry = mirror.find(url);
  if (!entry) {
    throw UserErrorException("data reference '" + name + "': '" + url +
                             "' is no longer in the offline mirror; add it again: " +
                             mirror_add_command(url));
  }
  const auto copy = mirror.verified_path(*entry);
  const bool file = entry->kind == "file";
  if (ref["mode"] == "Mount") {
    const auto point = mounts / ("mirror-" + entry->sha1.substr(0, 16));
    stdfs::create_directories(point);
    const auto folder = file ? copy.parent_path() : copy;
    if (std::none_of(m.binds.begin(), m.binds.end(),
                     [&](const auto& b) { return b.second == point.string(); })) {
      m.binds.emplace_back(folder.string(), point.string());
      m.execution_lines.push_back("Mounting the offline mirror's copy of " + url + " read-only at " +
                                  point.string());
    }
    m.paths[name] = (file ? point / entry->name : point).string();
    return;
  }
  const std::string on_compute = ref["pathOnCompute"].is_string()
                                     ? ref["pathOnCompute"].get<std::string>()
                                     : "inputs/" + name;
  auto dst = wd / on_compute;
  if (file) {
    stdfs::create_directories(dst);
    dst /= entry->name;
    fs::copy_file(copy, dst);
  } else {
    fs::copy_tree(copy, dst);
  }
  m.preparation_lines.push_back("Downloaded the offline mirror's copy of " + url + " to " + dst.string());
  m.paths[name] = dst.string();
}

}  // namespace

NodeData materialise(const nlohmann::json& refs, const stdfs::path& state,
                     const stdfs::path& mounts, const stdfs::path& wd) {
  NodeData m;
  for (const auto& [name, ref] : refs.items()) {
    if (ref.value("mode", "") == "Direct") {
      // The script reads the URI itself (with its own client): nothing to mount or copy.
      m.paths[name] = ref.value("uri", "");
      continue;
    }
    if (ref.contains("mirrorUrl")) {
      mirrored(name, ref, mounts, wd, m);
      continue;
    }
    const std::string ds = ref["dataStoreName"];
    const std::string on_ds = ref.value("pathOnDataStore", "");
    const auto ds_root = layout::datastore(state, ds);
    if (!stdfs::is_directory(ds_root)) {
      throw UserErrorException("data reference '" + name + "': datastore '" + ds +
                               "' not found");
    }
    if (ref["mode"] == "Mount") {
      // One mount point per run, the same on every node (as the job folder's path is on
      // Azure), so a path one process hands to another stays valid on its node.
      const auto point = mounts / ds;
      stdfs::create_directories(point);
      if (std::none_of(m.binds.begin(), m.binds.end(),
                       [&](const auto& b) { return b.second == point.string(); })) {
        m.binds.emplace_back(ds_root.string(), point.string());
        m.execution_lines.push_back("Mounting datastore " + ds + " read-only at " + point.string());
      }
      m.paths[name] = (on_ds.empty() ? point : point / on_ds).string();
    } else {
      const auto src = on_ds.empty() ? ds_root : ds_root / on_ds;
      const std::string on_compute = ref["pathOnCompute"].is_string()
                                         ? ref["pathOnCompute"].get<std::string>()
                                         : (on_ds.empty() ? ds : ds + "/" + on_ds);
      const auto dst = wd / on_compute;
      if (stdfs::is_directory(src)) {
        fs::copy_tree(src, dst);
      } else if (stdfs::is_regular_file(src)) {
        stdfs::create_directories(dst.parent_path());
        fs::copy_file(src, dst);
      } else {
        throw UserErrorException("data reference '" + name + "': path '" + on_ds +
                                 "' not found on datastore '" + ds + "'");
      }
      m.preparation_lines.push_back("Downloaded " + ds + "/" + on_ds + " to " + dst.string());
      m.paths[name] = dst.string();
    }
  }
  return m;
}

}  // namespace amlemu::datastore
