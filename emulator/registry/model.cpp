
#include "amlemu/errors.hpp"
#include "amlemu/model.hpp"
#include "common/clock.hpp"
#include "common/fault.hpp"
#include "common/fs.hpp"
#include "common/ids.hpp"
#include "common/text.hpp"
#include "registry/model_store.hpp"
#include "registry/registry.hpp"
#include "workspace/layout.hpp"

namespace amlemu {

namespace stdfs = std::filesystem;

struct ModelAccess {
  static Model from_row(const Workspace& ws, registry::ModelRow row) {
    Model m;
    m.name_ = std::move(row.name);
    m.version_ = row.version;
    m.path_ = std::move(row.path);
    m.run_id_ = std::move(row.run_id);
    m.experiment_name_ = std::move(row.experiment_name);
    m.description_ = std::move(row.description);
    m.tags_ = std::move(row.tags);
    m.created_time_ = std::move(row.created_time);
    m.type_ = std::move(row.model_type);
    m.source_uri_ = std::move(row.source_uri);
    m.properties_ = std::move(row.properties);
    m.files_dir_ = layout::model_version(ws.state_dir(), m.name_, m.version_);
    return m;
  }
  static std::optional<Model> find(const Workspace& ws, const std::string& name,
                                   std::optional<int> version) {
    auto row = registry::ModelStore(ws).find(name, version);
    if (!row) return std::nullopt;
    return from_row(ws, std::move(*row));
  }
};

void Model::validate_name(const std::string& name) {
  if (!matches(name, kAssetName)) {
    throw WebserviceException(
        "Error, provided model name is invalid. It must only consist of letters, numbers, "
        "dashes, periods, or underscores, start with a letter or number, and be between 1 and "
        "255 characters long.");
  }
}

Model::Model(const Workspace& ws, const std::string& name, std::optional<int> version) {
  auto m = ModelAccess::find(ws, name, version);
  if (!m) {
    throw WebserviceException("ModelNotFound: Model with name '" + name + "'" +
                              (version ? " and version " + std::to_string(*version) : "") +
                              " not found in provided workspace '" + ws.name() + "'");
  }
  *this = std::move(*m);
}

Model Model::from_id(const Workspace& ws, const std::string& id) {
  const auto colon = id.rfind(':');
  if (colon == std::string::npos) return Model(ws, id);
  int version = 0;
  try {
    version = std::stoi(id.substr(colon + 1));
  } catch (const std::exception&) {
    throw WebserviceException("model id '" + id + "' is invalid: expected <name>:<version>");
  }
  return Model(ws, id.substr(0, colon), version);
}

Model Model::register_model(const Workspace& ws, const stdfs::path& model_path,
                            const std::string& model_name,
                            const std::map<std::string, std::string>& tags,
                            const std::string& description) {
  return registry::register_files(ws, model_path, model_name, tags, description, {});
}

Model Model::register_version(const Workspace& ws, const stdfs::path& files,
                              const ModelRegistration& registration) {
  return registry::register_files(ws, files, registration, {registration.run_id, ""});
}

std::vector<Model> Model::list(const Workspace& ws, const std::optional<std::string>& name,
                               bool latest) {
  std::vector<Model> out;
  for (auto& row : registry::ModelStore(ws).list(name, latest)) {
    out.push_back(ModelAccess::from_row(ws, std::move(row)));
  }
  return out;
}

stdfs::path Model::download(const stdfs::path& target_dir, bool exist_ok) const {
  const auto src = files_dir_ / path_;
  const auto dst = target_dir / path_;
  std::vector<std::string> files;
  if (stdfs::is_directory(src)) {
    files = fs::list_files(src);
  } else {
    files.push_back("");
  }
  if (!exist_ok) {
    for (const auto& f : files) {
      const auto d = f.empty() ? dst : dst / f;
      if (stdfs::exists(d)) {
        throw UserErrorException("File already exists. To overwrite, set exist_ok to True. " +
                                 d.string());
      }
    }
  }
  for (const auto& f : files) {
    const auto s = f.empty() ? src : src / f;
    const auto d = f.empty() ? dst : dst / f;
    if (!d.parent_path().empty()) stdfs::create_directories(d.parent_path());
    fs::copy_file(s, d);
  }
  return dst;
}

nlohmann::json Model::serialize() const {
  return {{"id", id()},
          {"name", name_},
          {"version", version_},
          {"path", path_},
          {"runId", run_id_.empty() ? nlohmann::json(nullptr) : nlohmann::json(run_id_)},
          {"experimentName",
           experiment_name_.empty() ? nlohmann::json(nullptr) : nlohmann::json(experiment_name_)},
          {"description", description_},
          {"tags", tags_},
          {"type", type_},
          {"sourceUri", source_uri_.empty() ? nlohmann::json(nullptr) : nlohmann::json(source_uri_)},
          {"createdTime", created_time_}};
}

Model registry::register_files(const Workspace& ws, const stdfs::path& source,
                               const std::string& name,
                               const std::map<std::string, std::string>& tags,
                               const std::string& description, const Origin& origin) {
  ModelRegistration r;
  r.name = name;
  r.tags = tags;
  r.description = description;
  return register_files(ws, source, r, origin);
}

Model registry::register_files(const Workspace& ws, const stdfs::path& source,
                               const ModelRegistration& registration, const Origin& origin) {
  const auto& name = registration.name;
  Model::validate_name(name);
  if (registration.type != "custom_model" && registration.type != "mlflow_model" &&
      registration.type != "triton_model") {
    throw WebserviceException("Error, model type '" + registration.type +
                              "' is not custom_model, mlflow_model or triton_model");
  }
  if (registration.version && *registration.version < 1) {
    throw WebserviceException("Error, model version " + std::to_string(*registration.version) +
                              " must be a positive integer");
  }
  if (registration.version) {
    // A version that exists: the same source updates its description and tags, as the
    // service does; other files are refused.
    if (auto existing = registry::ModelStore(ws).find(name, *registration.version)) {
      if (existing->source_uri != registration.source_uri) {
        throw WebserviceException("ModelVersionExists: model " + name + ":" +
                                  std::to_string(*registration.version) +
                                  " already exists with other files");
      }
      existing->description = registration.description;
      existing->tags = registration.tags;
      existing->properties = registration.properties;
      registry::ModelStore(ws).update_metadata(*existing);
      return Model(ws, name, *registration.version);
    }
  }
  std::error_code ec;
  if (!stdfs::exists(source, ec)) {
    throw WebserviceException("Error, provided model path \"" + source.string() +
                              "\" cannot be found");
  }
  // An MLflow model is a folder with its MLmodel file at the top (what mlflow.<flavor>.save_model
  // and log_model write); without it, nothing can load or deploy it.
  if (registration.type == "mlflow_model" &&
      !stdfs::is_regular_file(stdfs::path(source) / "MLmodel", ec)) {
    throw WebserviceException("Error, model type mlflow_model needs an MLflow model folder with "
                              "an MLmodel file at its top; \"" + source.string() + "\" has none");
  }
  // Files are stored relative to the parent of model_path: ./model becomes model/<file>.
  std::string leaf = stdfs::path(source).lexically_normal().filename().string();
  if (leaf.empty()) leaf = stdfs::path(source).lexically_normal().parent_path().filename().string();
  if (leaf.empty() || leaf == "." || leaf == "..") leaf = "model";
  const auto dir = ws.state_dir();
  // Files are staged first; a crashed registration's staging is removed by the next one.
  fs::remove_stale_staging(layout::model_staging(dir));
  const auto staging = fs::staging_entry(layout::model_staging(dir));
  stdfs::create_directories(staging);
  try {
    if (stdfs::is_directory(source)) {
      fs::copy_tree(source, staging / leaf);
    } else {
      fs::copy_file(source, staging / leaf);
    }
    crash_point("model.staged");
    registry::ModelRow row;
    row.name = name;
    row.path = leaf;
    row.run_id = origin.run_id;
    row.experiment_name = origin.experiment_name;
    row.description = registration.description;
    row.tags = registration.tags;
    row.created_time = now_iso();
    row.model_type = registration.type;
    row.source_uri = registration.source_uri;
    row.properties = registration.properties;
    stdfs::path final_dir;
    int version = 0;
    try {
      auto move_into_place = [&](int v) {
        final_dir = layout::model_version(dir, name, v);
        stdfs::remove_all(final_dir);  // an orphan left by a crash between rename and commit
        stdfs::create_directories(final_dir.parent_path());
        stdfs::rename(staging, final_dir);
        crash_point("model.renamed");
      };
      if (registration.version) {
        row.version = *registration.version;
        version = row.version;
        if (!registry::ModelStore(ws).insert_version(row, [&] { move_into_place(version); })) {
          throw WebserviceException("ModelVersionExists: model " + name + ":" +
                                    std::to_string(version) + " was registered meanwhile");
        }
      } else {
        version = registry::ModelStore(ws).insert_next_version(row, move_into_place);
      }
    } catch (...) {
      if (!final_dir.empty()) stdfs::remove_all(final_dir, ec);
      throw;
    }
    return Model(ws, name, version);
  } catch (...) {
    stdfs::remove_all(staging, ec);
    throw;
  }
}

}  // namespace amlemu
