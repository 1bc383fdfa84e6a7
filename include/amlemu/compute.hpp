// Compute targets. An AmlCompute cluster is a pool of nodes between min_nodes and max_nodes;
// in amlemu its nodes are local process groups sized after a VM size from fixtures/vm_sizes.json.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "amlemu/workspace.hpp"

namespace amlemu {

/// One row of the VM size catalog.
struct VmSize {
  std::string name;  // canonical spelling, e.g. "Standard_NC6"
  int vcpus = 0;
  double memory_gb = 0;
  int gpus = 0;
  std::string gpu_type;  // empty for CPU sizes
};

/// Looks a size up, case-insensitively. Throws ComputeTargetException naming the size and the
/// closest catalog entries when it is unknown.
VmSize find_vm_size(const std::string& name);
/// Every size in the catalog, in catalog order.
std::vector<VmSize> supported_vm_sizes();

/// The machine's GPUs as nodes get them (`amlemu gpu list`): `{"gpus": [{index, uuid, name,
/// memoryBytes}], "policy", "virtualMode"}`, and the `reason` when none was found.
nlohmann::json describe_machine_gpus();

/// `AmlCompute.provisioning_configuration(...)`'s result.
struct ProvisioningConfiguration {
  std::string vm_size = "Standard_NC6";
  std::string vm_priority = "dedicated";  // or "lowpriority"
  int min_nodes = 0;
  std::optional<int> max_nodes;  // required; validated by ComputeTarget::create
  int idle_seconds_before_scaledown = 1800;
};

class AmlCompute {
 public:
  /// Builds a configuration with the SDK's defaults; an empty vm_size means Standard_NC6.
  static ProvisioningConfiguration provisioning_configuration(
      const std::string& vm_size = "", const std::string& vm_priority = "dedicated",
      int min_nodes = 0, std::optional<int> max_nodes = std::nullopt,
      int idle_seconds_before_scaledown = 1800);
};

/// A compute target of a workspace.
class ComputeTarget {
 public:
  /// Looks a target up; throws ComputeTargetException ("... not found ...") when missing,
  /// as `ComputeTarget(workspace=ws, name=name)` does.
  ComputeTarget(const Workspace& ws, const std::string& name);

  /// Creates an AmlCompute cluster. Validates the configuration with the SDK's messages
  /// (max nodes mandatory, >= 0, >= min nodes), the VM size against the catalog and the name
  /// (2-16 characters: letters, digits, '-', starting with a letter). Creating a name that
  /// exists with the same configuration returns it; with another configuration is an error.
  static ComputeTarget create(const Workspace& ws, const std::string& name,
                              const ProvisioningConfiguration& config);

  /// Every compute target of the workspace, by name.
  static std::vector<ComputeTarget> list(const Workspace& ws);

  const std::string& name() const { return name_; }
  std::string type() const { return "AmlCompute"; }
  std::string provisioning_state() const;
  const ProvisioningConfiguration& configuration() const { return config_; }

  /// Waits until at least `min_node_count` nodes (default: the cluster's min_nodes) are idle or
  /// running, or the timeout passes, printing the SDK's transcript when show_output.
  void wait_for_completion(bool show_output = false) const;
  void wait_for_completion(bool show_output, std::ostream& out) const;
  void wait_for_completion(bool show_output, std::optional<int> min_node_count,
                           int timeout_in_minutes, std::ostream& out) const;

  /// `get_status().serialize()`: node counts, scale settings, states.
  nlohmann::json get_status() const;
  /// `list_nodes()`: each node's id, index, address, state, run and GPUs.
  nlohmann::json list_nodes() const;
  /// What `compute show -o json` prints: name, type, vmSize, provisioningState, status, nodes.
  nlohmann::json serialize() const;

  /// Takes a lowpriority node (index or node id) away: its run's processes are killed and the
  /// run fails as a preempted job does; the node shows as preempted, then the cluster scales
  /// back. Throws ComputeTargetException for a dedicated cluster or an unknown node.
  void preempt(const std::string& node) const;

  /// Deletes the target. Throws ComputeTargetException while runs still use it.
  void delete_target();

 private:
  ComputeTarget(Workspace ws, std::string name, ProvisioningConfiguration config,
                std::string state, std::string created)
      : ws_(std::move(ws)), name_(std::move(name)), config_(std::move(config)),
        state_(std::move(state)), created_(std::move(created)) {}
  Workspace ws_;
  std::string name_;
  ProvisioningConfiguration config_;
  std::string state_;
  std::string created_;
};

}  // namespace amlemu
