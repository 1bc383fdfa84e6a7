#include "amlemu/datastore.hpp"

#include <iostream>
#include <sstream>

#include "amlemu/errors.hpp"
#include "common/fault.hpp"
#include "common/fs.hpp"
#include "common/hash.hpp"
#include "common/ids.hpp"
#include "common/text.hpp"
#include "workspace/layout.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;

DataReference DataReference::as_mount() const {
  DataReference r = *this;
  r.mode = "mount";
  r.path_on_compute.clear();
  return r;
}

DataReference DataReference::as_download(const std::string& path_on_compute) const {
  DataReference r = *this;
  r.mode = "download";
  r.path_on_compute = path_on_compute;
  return r;
}

std::string Datastore::upload_local(const Workspace& ws, const stdfs::path& local) {
  std::error_code ec;
  const bool folder = stdfs::is_directory(local, ec);
  if (!folder && !stdfs::is_regular_file(local, ec)) {
    throw UserErrorException("'" + local.string() + "' does not exist");
  }
  Sha1 h;
  if (folder) {
    for (const auto& f : fs::list_files(local)) {
      h.update(f);
      h.update(fs::read_file(local / f));
    }
  } else {
    h.update(fs::read_file(local));
  }
  const std::string dir = "LocalUpload/" + h.hex().substr(0, 32);
  const auto name = stdfs::absolute(local).lexically_normal();
  const std::string target =
      dir + "/" + (name.has_filename() ? name.filename() : name.parent_path().filename()).string();
  const auto ds = get_default(ws);
  std::ostringstream quiet;
  if (folder) {
    ds.upload(local, target, false, false, quiet);
  } else {
    stdfs::create_directories(ds.root() / dir);
    stdfs::copy_file(local, ds.root() / target, stdfs::copy_options::skip_existing);
  }
  return target;
}

Datastore Datastore::get(const Workspace& ws, const std::string& name) {
  if (!matches(name, {.first_extra = "_-", .rest_extra = "_-"})) {
    throw UserErrorException("datastore name '" + name +
                             "' is invalid: it can only contain alphanumeric characters or - "
                             "or _");
  }
  if (!stdfs::is_directory(layout::datastore(ws.state_dir(), name))) {
    throw NotFoundException("Datastore '" + name + "' not found in workspace '" + ws.name() +
                            "'");
  }
  return Datastore(ws, name);
}

Datastore Datastore::get_default(const Workspace& ws) { return get(ws, "workspaceblobstore"); }

std::string Datastore::datastore_type() const {
  return name_ == "workspacefilestore" ? "AzureFile" : "AzureBlob";
}

stdfs::path Datastore::root() const { return layout::datastore(ws_.state_dir(), name_); }

DataReference Datastore::as_mount() const {
  return DataReference{name_, name_, "", "mount", "", false, "", ""};
}

DataReference Datastore::as_download(const std::string& path_on_compute) const {
  return as_mount().as_download(path_on_compute);
}

DataReference Datastore::path(const std::string& p) const {
  std::string clean;
  try {
    clean = fs::clean_relative(p);
  } catch (const std::invalid_argument& e) {
    throw UserErrorException("path_on_datastore '" + p + "' is invalid: " + e.what());
  }
  return DataReference{name_, random_hex(32), clean, "mount", "", false, "", ""};
}

DataReference Datastore::upload(const stdfs::path& src_dir, const std::string& target_path,
                                bool overwrite, bool show_progress) const {
  return upload(src_dir, target_path, overwrite, show_progress, std::cout);
}

DataReference Datastore::upload(const stdfs::path& src_dir, const std::string& target_path,
                                bool overwrite, bool show_progress, std::ostream& out) const {
  std::error_code ec;
  if (!stdfs::is_directory(src_dir, ec)) {
    throw UserErrorException("src_path must be a directory. (" + src_dir.string() + ")");
  }
  if (!target_path.empty() && target_path.front() == '/') {
    throw UserErrorException("target_path '" + target_path +
                             "' is invalid: it must be relative to the datastore");
  }
  std::string target;
  try {
    target = fs::clean_relative(target_path);
  } catch (const std::invalid_argument& e) {
    throw UserErrorException("target_path '" + target_path + "' is invalid: " + e.what());
  }
  const stdfs::path dest_root = target.empty() ? root() : root() / target;
  if (!fs::is_within(root(), dest_root)) {
    throw UserErrorException("target_path '" + target_path + "' leaves the datastore");
  }

  const auto files = fs::list_files(src_dir);
  for (const auto& rel : files) {
    const auto problem = file_name_problem(rel);
    if (!problem.empty()) {
      throw UserErrorException("cannot upload a file whose name " + problem + ": " +
                               printable((src_dir / rel).string()));
    }
  }
  // Files are copied into the workspace's staging folder, then renamed into the datastore: a
  // crash never leaves a half file, or a temporary one, under the datastore. What a crashed
  // upload left in staging is removed here.
  const auto staging = layout::staging(ws_.state_dir());
  fs::remove_stale_staging(staging);
  stdfs::create_directories(staging);
  size_t estimated = files.size();
  if (show_progress) out << "Uploading an estimated of " << estimated << " files\n";
  size_t uploaded = 0;
  for (const auto& rel : files) {
    const std::string blob = target.empty() ? rel : target + "/" + rel;
    const stdfs::path dst = root() / blob;
    if (!overwrite && stdfs::exists(dst, ec)) {
      --estimated;
      if (show_progress) out << "Target already exists. Skipping upload for " << blob << "\n";
      continue;
    }
    const stdfs::path src = src_dir / rel;
    if (show_progress) out << "Uploading " << src.string() << "\n";
    stdfs::create_directories(dst.parent_path());
    const auto tmp = fs::staging_entry(staging);
    try {
      fs::copy_file(src, tmp);
      stdfs::rename(tmp, dst);
    } catch (...) {
      stdfs::remove(tmp, ec);
      throw;
    }
    ++uploaded;
    crash_point("datastore.upload.file");
    if (show_progress) {
      out << "Uploaded " << src.string() << ", " << uploaded
          << " files out of an estimated total of " << estimated << "\n";
    }
  }
  if (show_progress) out << "Uploaded " << uploaded << " files\n";
  out.flush();
  return DataReference{name_, random_hex(32), target, "mount", "", false, "", ""};
}

}  // namespace amlemu
