// The compute-target repository: every SQL statement about the `compute_targets` table lives
// here, and nowhere else.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "amlemu/compute.hpp"
#include "amlemu/workspace.hpp"

namespace amlemu::compute {

/// One cluster as stored.
struct TargetRow {
  int number = 0;  // its rowid: picks its loopback address range
  std::string name;
  ProvisioningConfiguration config;  // max_nodes always set
  std::string provisioning_state;
  std::string created_time;
};

class TargetStore {
 public:
  explicit TargetStore(const Workspace& ws) : ws_(ws) {}

  std::optional<TargetRow> find(const std::string& name);
  /// Records the cluster unless one of that name exists; in one transaction. Returns the
  /// existing row (and writes nothing) when there is one.
  std::optional<TargetRow> insert_unless_exists(const std::string& name,
                                                const ProvisioningConfiguration& config,
                                                const std::string& time);
  /// Every cluster's name, sorted.
  std::vector<std::string> names();
  /// Deletes the cluster, in one transaction with the check that no run on it is live.
  /// Returns false, deleting nothing, while one is.
  bool remove_unless_in_use(const std::string& name);

 private:
  Workspace ws_;
};

}  // namespace amlemu::compute
