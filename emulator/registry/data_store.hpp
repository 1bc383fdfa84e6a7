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
  /// That version, or with an empty one the newest.
  std::optional<DataVersion> find(const std::string& name, const std::string& version);
  /// Newest first.
  std::vector<DataVersion> list(const std::optional<std::string>& name);
  /// In one transaction: with an empty version, the next integer above the highest numeric
  /// one; records it unless (name, version) exists. Returns what is recorded under that key.
  DataVersion insert_or_get(DataVersion data);

 private:
  Workspace ws_;
};

}  // namespace amlemu::registry
