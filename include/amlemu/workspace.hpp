// Workspace: the root object. On Azure ML it is an ARM resource; here it is a folder under
// $AMLEMU_HOME (default ~/.amlemu) holding a SQLite database and plain folders, one per workspace.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace amlemu {

class Workspace;

namespace detail {
struct WorkspaceImpl;
/// The handle's internal state, for the library's repositories (workspace/workspace_impl.hpp).
WorkspaceImpl& impl_of(const Workspace& ws);
}  // namespace detail

/// The three values of a `config.json`, and where they were read from.
struct WorkspaceConfig {
  std::string subscription_id;
  std::string resource_group;
  std::string workspace_name;
  std::filesystem::path source;  // the file they came from; empty when built in code
};

/// Finds and reads `config.json` the way `Workspace.from_config()` does: `path` may be a file
/// (used as is) or a folder (default: the current one); from that folder up to the root, the
/// first of `.azureml/config.json`, `aml_config/config.json`, `config.json` (then the same with
/// `project.json`) wins. Accepts the portal form and the `write_config` Id/Scope form.
/// Throws UserErrorException with the SDK's messages when nothing is found or a key is missing.
WorkspaceConfig find_workspace_config(const std::optional<std::filesystem::path>& path = {});

/// The folder that holds every workspace: $AMLEMU_HOME, else ~/.amlemu.
std::filesystem::path amlemu_home();

/// Every workspace created under amlemu_home(), by subscription, resource group and name.
std::vector<WorkspaceConfig> list_workspaces();

/// A handle on one workspace's state. Cheap to copy; copies share one database connection.
/// Not thread-safe: use one Workspace per thread.
class Workspace {
 public:
  /// Opens the workspace named by the config file found from `path` (see find_workspace_config).
  /// Throws NotFoundException when that workspace was never created.
  static Workspace from_config(const std::optional<std::filesystem::path>& path = {});

  /// Creates the workspace's state (database, default datastores) if it does not exist and
  /// opens it. With exist_ok=false an existing workspace is an error, as in the SDK.
  /// Throws UserErrorException when a name breaks the rules (2-32 chars for the workspace name).
  static Workspace create(const std::string& name, const std::string& subscription_id,
                          const std::string& resource_group, bool exist_ok = true);

  /// Opens an existing workspace by its three identifiers; NotFoundException when missing.
  static Workspace get(const std::string& name, const std::string& subscription_id,
                       const std::string& resource_group);

  /// Opens the workspace whose state folder is `state_dir` (as handed to the run supervisor).
  /// Throws NotFoundException when the folder holds no workspace.
  static Workspace open_state_dir(const std::filesystem::path& state_dir);

  const std::string& name() const;
  const std::string& subscription_id() const;
  const std::string& resource_group() const;
  /// The workspace's folder under amlemu_home().
  const std::filesystem::path& state_dir() const;

  /// `get_details()`: id, name, location, workspaceid, friendlyName, creationTime, stateDir.
  nlohmann::json get_details() const;

  /// Writes `<path or cwd>/.azureml/config.json` in the SDK's Id/Scope form.
  void write_config(const std::optional<std::filesystem::path>& path = {}) const;


 private:
  friend detail::WorkspaceImpl& detail::impl_of(const Workspace& ws);
  explicit Workspace(std::shared_ptr<detail::WorkspaceImpl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<detail::WorkspaceImpl> impl_;
};

}  // namespace amlemu
