// The data-asset repository: every SQL statement about the `data_versions` table lives here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "amlemu/assets.hpp"

namespace amlemu::registry {

class DataStore {
 public:
  explicit DataStore(const Workspace& ws) : ws_(ws) {}
  /// That version (archived or not), or with an empty one the newest that is not archived.
  std::optional<DataVersion> find(const std::string& name, const std::string& version);
  /// Newest first; archived versions only when asked for.
  std::vector<DataVersion> list(const std::optional<std::string>& name, bool include_archived = false);
  /// Archives (or restores) that version, or with an empty one every version of the name.
  /// Returns how many versions it changed.
  int set_archived(const std::string& name, const std::string& version, bool archived);
  /// In one transaction: with an empty version, the next integer above the highest numeric
  /// one; records it unless (name, version) exists. Returns what is recorded under that key.
  DataVersion insert_or_get(DataVersion data);

 private:
  Workspace ws_;
};

}  // namespace amlemu::registry
