// Datastores: folders standing in for blob containers and file shares, and the data references
// that a run mounts or downloads.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>

#include "amlemu/workspace.hpp"

namespace amlemu {

/// A pointer to data on a datastore, as a run consumes it. Its string form is the placeholder
/// `$AZUREML_DATAREFERENCE_<name>` that the node replaces with the mounted or downloaded path.
struct DataReference {
  std::string datastore_name;
  std::string data_reference_name;  // the datastore's name for as_mount(), else 32 hex digits
  std::string path_on_datastore;     // empty: the datastore's root
  std::string mode = "mount";        // "mount", "download" or "direct" (the script gets the URI)
  std::string path_on_compute;       // download only; empty: chosen by the node
  bool overwrite = false;
  std::string mirror_url;  // a web URL served from the offline mirror (no datastore), else ""
  std::string direct_uri;  // direct mode: the URI itself, as the script receives it

  std::string to_string() const { return "$AZUREML_DATAREFERENCE_" + data_reference_name; }
  DataReference as_mount() const;
  DataReference as_download(const std::string& path_on_compute = "") const;
};

/// A datastore of a workspace. `workspaceblobstore` (the default) and `workspacefilestore`
/// always exist.
class Datastore {
 public:
  /// Throws NotFoundException when the workspace has no such datastore.
  static Datastore get(const Workspace& ws, const std::string& name);
  static Datastore get_default(const Workspace& ws);
  /// Uploads a local file or folder to the default datastore once per content, as the service
  /// does with a job's or a data asset's local path: LocalUpload/<32 hex of its content>/<its
  /// name>. Returns that path on the datastore. UserErrorException when it does not exist.
  static std::string upload_local(const Workspace& ws, const std::filesystem::path& local);

  const std::string& name() const { return name_; }
  const Workspace& workspace() const { return ws_; }
  /// "AzureBlob" or "AzureFile".
  std::string datastore_type() const;
  /// The folder that backs the datastore.
  std::filesystem::path root() const;

  /// Copies every file under `src_dir` to `<target_path>/<relative path>`, with the SDK's
  /// semantics: existing targets are skipped unless `overwrite`; `show_progress` prints the
  /// SDK's progress lines to `out`. Returns a reference (random name) to `target_path`.
  /// Throws UserErrorException when src_dir is not a directory or target_path leaves the
  /// datastore; on error nothing already copied is left half-written.
  DataReference upload(const std::filesystem::path& src_dir, const std::string& target_path = "",
                       bool overwrite = false, bool show_progress = true) const;
  DataReference upload(const std::filesystem::path& src_dir, const std::string& target_path,
                       bool overwrite, bool show_progress, std::ostream& out) const;

  DataReference as_mount() const;
  DataReference as_download(const std::string& path_on_compute = "") const;
  DataReference path(const std::string& path) const;

 private:
  Datastore(Workspace ws, std::string name) : ws_(std::move(ws)), name_(std::move(name)) {}
  Workspace ws_;
  std::string name_;
};

/// A datastore URI of `ws`: azureml://datastores/<ds>/paths/<path>, or the long form
/// azureml://subscriptions/<s>/resourcegroups/<rg>/workspaces/<w>/datastores/<ds>/paths/<path>.
/// Returns {datastore, path (cleaned, "" for the root)}; nullopt when `uri` is not of that form.
/// Throws UserErrorException when it names another workspace or its path leaves the datastore.
std::optional<std::pair<std::string, std::string>> parse_datastore_uri(const Workspace& ws,
                                                                       const std::string& uri);

/// A storage URL of `ws`'s own account (storage_account_name in blob.hpp):
/// wasb[s]://<container>@<account>.blob.core.windows.net/<path>,
/// abfs[s]://<container>@<account>.dfs.core.windows.net/<path> or
/// https://<account>.blob.core.windows.net/<container>/<path>, whose container is a datastore's
/// (azureml-blobstore-<workspace id>, azureml-filestore-<workspace id>). Returns {datastore,
/// path (cleaned)}; nullopt for a URL of any other account (the offline mirror answers those).
/// Throws UserErrorException naming the URL for a container of the account that is no
/// datastore's, or a path that leaves its container ("..").
std::optional<std::pair<std::string, std::string>> parse_storage_url(const Workspace& ws,
                                                                     const std::string& url);

/// Where the files an azureml:// URI names are on this machine: datastore URIs (above), the
/// run-history store (datastore workspaceartifactstore, paths ExperimentRun/dcid.<run>/<file>)
/// and job outputs (azureml://jobs/<run>/outputs/artifacts/paths/<file>). Throws
/// UserErrorException naming the URI when it is none of these or names nothing that exists.
std::filesystem::path local_path_of_uri(const Workspace& ws, const std::string& uri);

/// The same URI in the long form the service answers with:
/// azureml://subscriptions/<s>/resourceGroups/<rg>/workspaces/<w>/datastores/<ds>/paths/<path>
/// (a job output becomes its place in workspaceartifactstore). Other URIs are returned as given.
std::string long_form_uri(const Workspace& ws, const std::string& uri);

}  // namespace amlemu
