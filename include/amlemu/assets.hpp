// Versioned assets of SDK v2 besides models: code (a folder uploaded once for jobs, found again
// by its content hash), data (a named, versioned URI) and registered environment versions.
// Each is a (name, version) in the workspace; versions are strings, "1", "2", ... by default.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "amlemu/workspace.hpp"

namespace amlemu {

/// A code asset version: files in a blob container of the workspace (see blob.hpp).
struct CodeVersion {
  std::string name;
  std::string version;
  std::string hash;       // the client's content hash (hash_sha256), "" when none was given
  std::string container;  // the blob container holding the files
  std::string path;       // the folder inside it ("" for its root)
  nlohmann::json definition = nlohmann::json::object();  // description, tags, properties, isAnonymous, codeUri
  std::string created_time;
};

/// The newest code version with that content hash, under any name (clients name anonymous code
/// afresh each time and find earlier uploads by hash).
std::optional<CodeVersion> find_code_by_hash(const Workspace& ws, const std::string& hash);
std::optional<CodeVersion> get_code_version(const Workspace& ws, const std::string& name,
                                            const std::string& version);
/// Newest first; only `name`'s versions when given.
std::vector<CodeVersion> list_code_versions(const Workspace& ws,
                                            const std::optional<std::string>& name = std::nullopt);
/// Records a code version. The container must exist and `path` lie in it (UserErrorException
/// naming it otherwise). Creating a version that exists with the same files returns it; with
/// other files is a UserErrorException ("... already exists").
CodeVersion create_code_version(const Workspace& ws, const CodeVersion& code);
/// The folder (or file) holding the version's files.
std::filesystem::path code_directory(const Workspace& ws, const CodeVersion& code);

/// A data asset version: a URI with a type (uri_file, uri_folder or mltable).
struct DataVersion {
  std::string name;
  std::string version;  // "" when creating: the next integer
  std::string type = "uri_folder";
  std::string uri;
  nlohmann::json definition = nlohmann::json::object();  // description, tags, properties
  std::string created_time;
  bool archived = false;  // skipped by @latest and listings, still usable by its version
};

/// The version asked for (archived or not), or with an empty `version` the newest version that
/// is not archived (what azureml:<name>@latest means).
std::optional<DataVersion> get_data_version(const Workspace& ws, const std::string& name,
                                            const std::string& version = "");
/// Newest first; only `name`'s versions when given; archived ones only when asked for.
std::vector<DataVersion> list_data_versions(const Workspace& ws,
                                            const std::optional<std::string>& name = std::nullopt,
                                            bool include_archived = false);
/// A data asset's path as its URI: a URI stays as it is (a web URL is checked for credentials),
/// a local file or folder (relative to `base`) is uploaded once per content to the default
/// datastore and named by its azureml://datastores/... URI.
std::string data_path_uri(const Workspace& ws, const std::string& path,
                          const std::filesystem::path& base);
/// Records the data asset a data.schema.json file describes (name, version, type, path,
/// description, tags). UserErrorException "<file>:<line>: <key>: <problem>" for a bad file.
/// Keys accepted but not honoured are added to `warnings` when given.
DataVersion create_data_from_file(const Workspace& ws, const std::filesystem::path& file,
                                  std::vector<std::string>* warnings = nullptr);
/// Archives that version of a data asset, or with an empty `version` every version of it
/// (NotFoundException when there is none); `archived` false restores. Returns how many
/// versions it changed.
int archive_data_version(const Workspace& ws, const std::string& name, const std::string& version,
                         bool archived = true);
/// Records a data version (UserErrorException for a bad name, type or URI, or a version that
/// exists with another URI; the same URI returns the existing version).
DataVersion create_data_version(const Workspace& ws, const DataVersion& data);

/// A registered environment version (`amlemu environment create`, or the REST API).
struct EnvironmentVersion {
  std::string name;
  std::string version;
  /// image, condaFile (the conda YAML text), pipPackages, condaPackages, description, tags
  nlohmann::json definition = nlohmann::json::object();
  std::string created_time;
};

/// The version asked for, or with an empty `version` the newest.
std::optional<EnvironmentVersion> get_environment_version(const Workspace& ws,
                                                          const std::string& name,
                                                          const std::string& version = "");
/// Newest first; only `name`'s versions when given.
std::vector<EnvironmentVersion> list_environment_versions(
    const Workspace& ws, const std::optional<std::string>& name = std::nullopt);
/// Registers an environment version from an image and/or a conda file's text (its pip list
/// becomes pipPackages, other dependencies condaPackages, as for an inline job environment).
/// An empty version takes the next integer. A version that exists with the same definition is
/// returned; with another one it is a UserErrorException.
EnvironmentVersion register_environment_version(const Workspace& ws, const std::string& name,
                                                const std::string& version,
                                                const std::string& image,
                                                const std::string& conda_file,
                                                const std::string& description,
                                                const nlohmann::json& tags);

}  // namespace amlemu
