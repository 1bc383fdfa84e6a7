// The model registry: versioned files by name, ids "<name>:<version>".
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "amlemu/workspace.hpp"

namespace amlemu {

/// What an SDK v2 registration says besides the files (`Model(path=..., name=..., type=...)`).
struct ModelRegistration {
  std::string name;
  std::optional<int> version;          // none: the next version of the name
  std::string type = "custom_model";   // custom_model, mlflow_model or triton_model
  std::string source_uri;              // where the files came from, kept as given
  std::string description;
  std::map<std::string, std::string> tags;
  std::map<std::string, std::string> properties;
  std::string run_id;                  // when the files are a run's
};

class Model {
 public:
  /// The latest version of `name`, or the given version. Throws WebserviceException
  /// ("ModelNotFound") when there is none.
  Model(const Workspace& ws, const std::string& name, std::optional<int> version = std::nullopt);
  /// By id, "<name>:<version>".
  static Model from_id(const Workspace& ws, const std::string& id);

  /// `Model.register(...)`: copies `model_path` (file or folder) into the registry as the next
  /// version of `model_name` (1 for a new name). The name must match
  /// ^[a-zA-Z0-9][a-zA-Z0-9\-\._]{0,254}$, else WebserviceException with the SDK's message.
  /// A crash mid-way leaves no half version. Safe across processes.
  static Model register_model(const Workspace& ws, const std::filesystem::path& model_path,
                              const std::string& model_name,
                              const std::map<std::string, std::string>& tags = {},
                              const std::string& description = "");

  /// Registers `files` (a file or folder) as `registration` describes: copied into the registry
  /// in one transaction, as register_model does. With a version that exists already: when the
  /// source_uri is the same, its description, tags and properties are replaced and it is
  /// returned; otherwise WebserviceException ("ModelVersionExists: ..."). Bad names, types and
  /// versions are WebserviceExceptions too.
  static Model register_version(const Workspace& ws, const std::filesystem::path& files,
                                const ModelRegistration& registration);

  /// Models of the workspace, newest first; only `name`'s when given; only the latest version
  /// of each name when `latest`.
  static std::vector<Model> list(const Workspace& ws,
                                 const std::optional<std::string>& name = std::nullopt,
                                 bool latest = false);

  /// Throws WebserviceException when the name breaks the SDK's rule; returns otherwise.
  static void validate_name(const std::string& name);

  const std::string& name() const { return name_; }
  int version() const { return version_; }
  std::string id() const { return name_ + ":" + std::to_string(version_); }
  /// Path of the files relative to the version's folder, e.g. "model" or "model.npz".
  const std::string& path() const { return path_; }
  const std::string& run_id() const { return run_id_; }
  const std::string& experiment_name() const { return experiment_name_; }
  const std::string& created_time() const { return created_time_; }
  const std::string& description() const { return description_; }
  const std::map<std::string, std::string>& tags() const { return tags_; }
  /// custom_model (the default), mlflow_model or triton_model.
  const std::string& type() const { return type_; }
  /// The URI the files were registered from, "" when from local files.
  const std::string& source_uri() const { return source_uri_; }
  const std::map<std::string, std::string>& properties() const { return properties_; }

  /// Writes the files as `target_dir/<path>` and returns that path. An existing file is an
  /// error unless exist_ok ("File already exists. To overwrite, set exist_ok to True. <path>").
  std::filesystem::path download(const std::filesystem::path& target_dir = ".",
                                 bool exist_ok = false) const;

  /// What `model list/show -o json` prints.
  nlohmann::json serialize() const;

 private:
  Model() = default;
  friend struct ModelAccess;
  std::filesystem::path files_dir_;  // the version's folder in the registry
  std::string name_;
  int version_ = 0;
  std::string path_;
  std::string run_id_;
  std::string experiment_name_;
  std::string created_time_;
  std::string description_;
  std::map<std::string, std::string> tags_;
  std::string type_ = "custom_model";
  std::string source_uri_;
  std::map<std::string, std::string> properties_;
};

}  // namespace amlemu
