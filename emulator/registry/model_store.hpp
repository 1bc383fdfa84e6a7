// The model-registry repository: every SQL statement about the `models` table lives here, and
// nowhere else.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "amlemu/workspace.hpp"

namespace amlemu::registry {

/// One model version as stored.
struct ModelRow {
  std::string name;
  int version = 0;
  std::string path;  // relative to the version's folder
  std::string run_id;           // "" when not registered from a run
  std::string experiment_name;  // "" likewise
  std::string description;
  std::map<std::string, std::string> tags;
  std::string created_time;
  std::string model_type = "custom_model";
  std::string source_uri;                          // "" when registered from local files
  std::map<std::string, std::string> properties;
};

class ModelStore {
 public:
  explicit ModelStore(const Workspace& ws) : ws_(ws) {}

  /// That version, or with no version the newest.
  std::optional<ModelRow> find(const std::string& name, std::optional<int> version);
  /// Newest first (by creation time, then name and version); only `name`'s versions when
  /// given; only each name's highest version when `latest`.
  std::vector<ModelRow> list(const std::optional<std::string>& name, bool latest);
  /// In one transaction: takes the next version of `row.name`, calls `place(version)` (which
  /// moves the version's files into place and may throw) and records the row with that
  /// version. Nothing is recorded when `place` or the insert throws. Returns the version.
  int insert_next_version(ModelRow row, const std::function<void(int version)>& place);
  /// The same with the row's own version: returns false, recording nothing and not calling
  /// `place`, when that version exists.
  bool insert_version(const ModelRow& row, const std::function<void()>& place);
  /// Replaces the description, tags and properties of an existing version.
  void update_metadata(const ModelRow& row);

 private:
  Workspace ws_;
};

}  // namespace amlemu::registry
