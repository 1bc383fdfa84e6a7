#include "amlemu/compute.hpp"

#include <iostream>
#include <map>
#include <thread>

#include "amlemu/errors.hpp"
#include "common/clock.hpp"
#include "common/supervisor_signals.hpp"
#include "common/text.hpp"
#include "compute/cluster_store.hpp"
#include "compute/gpu.hpp"
#include "compute/target_store.hpp"
#include "history/run_store.hpp"

namespace amlemu {

namespace {

void validate(const std::string& name, const ProvisioningConfiguration& c) {
  if (!matches(name, {.digit_first = false, .rest_extra = "-", .min = 2, .max = 16})) {
    throw ComputeTargetException("compute name '" + name +
                                 "' is invalid: it must be 2 to 16 characters, start with a "
                                 "letter and contain only letters, digits and '-'");
  }
  if (!c.max_nodes) {
    throw ComputeTargetException("Invalid provisioning configuration, max nodes count is mandatory");
  }
  if (*c.max_nodes < 0) {
    throw ComputeTargetException("max nodes count must be greater than or equal to 0");
  }
  if (c.min_nodes < 0) {
    throw ComputeTargetException("min nodes count must be greater than or equal to 0");
  }
  if (*c.max_nodes < c.min_nodes) {
    throw ComputeTargetException(
        "max nodes count must be greater than or equal to min nodes count");
  }
  if (c.vm_priority != "dedicated" && c.vm_priority != "lowpriority") {
    throw ComputeTargetException("vm_priority '" + c.vm_priority +
                                 "' is invalid: use 'dedicated' or 'lowpriority'");
  }
  if (c.idle_seconds_before_scaledown < 0) {
    throw ComputeTargetException(
        "idle_seconds_before_scaledown must be greater than or equal to 0");
  }
  find_vm_size(c.vm_size);  // throws with close matches
}

}  // namespace

ProvisioningConfiguration AmlCompute::provisioning_configuration(
    const std::string& vm_size, const std::string& vm_priority, int min_nodes,
    std::optional<int> max_nodes, int idle_seconds_before_scaledown) {
  ProvisioningConfiguration c;
  c.vm_size = vm_size.empty() ? "Standard_NC6" : vm_size;
  c.vm_priority = vm_priority;
  c.min_nodes = min_nodes;
  c.max_nodes = max_nodes;
  c.idle_seconds_before_scaledown = idle_seconds_before_scaledown;
  return c;
}

ComputeTarget::ComputeTarget(const Workspace& ws, const std::string& name) : ws_(ws), name_(name) {
  const auto row = compute::TargetStore(ws).find(name);
  if (!row) {
    throw ComputeTargetException("ComputeTargetNotFound: Compute target with name '" + name +
                                 "' not found in provided workspace '" + ws.name() +
                                 "'; create it with 'amlemu compute create --name " + name +
                                 " --size STANDARD_NC6 --max-instances 4'");
  }
  config_ = row->config;
  state_ = row->provisioning_state;
  created_ = row->created_time;
}

ComputeTarget ComputeTarget::create(const Workspace& ws, const std::string& name,
                                    const ProvisioningConfiguration& config) {
  validate(name, config);
  compute::provisioning_ms();  // a bad AMLEMU_NODE_PROVISIONING fails before anything is written
  ProvisioningConfiguration c = config;
  c.vm_size = find_vm_size(config.vm_size).name;
  if (const auto existing = compute::TargetStore(ws).insert_unless_exists(name, c, now_iso())) {
    const auto& e = existing->config;
    if (e.vm_size != c.vm_size || e.min_nodes != c.min_nodes || e.max_nodes != c.max_nodes ||
        e.vm_priority != c.vm_priority ||
        e.idle_seconds_before_scaledown != c.idle_seconds_before_scaledown) {
      throw ComputeTargetException("Compute target '" + name +
                                   "' already exists with a different configuration (" +
                                   e.vm_size + ", " + std::to_string(e.min_nodes) + "-" +
                                   std::to_string(e.max_nodes.value_or(0)) + " nodes)");
    }
  }
  // Azure brings a new cluster up to min_nodes at once.
  compute::ClusterStore(ws).step(name, compute::now_ms());
  return ComputeTarget(ws, name);
}

std::vector<ComputeTarget> ComputeTarget::list(const Workspace& ws) {
  std::vector<ComputeTarget> out;
  for (const auto& name : compute::TargetStore(ws).names()) out.emplace_back(ws, name);
  return out;
}

std::string ComputeTarget::provisioning_state() const { return state_; }

void ComputeTarget::wait_for_completion(bool show_output) const {
  wait_for_completion(show_output, std::cout);
}

void ComputeTarget::wait_for_completion(bool show_output, std::ostream& out) const {
  wait_for_completion(show_output, std::nullopt, 25, out);
}

void ComputeTarget::wait_for_completion(bool show_output, std::optional<int> min_node_count,
                                        int timeout_in_minutes, std::ostream& out) const {
  // The SDK's transcript: the state, a dot per poll, the scaling line, then the verdict.
  const int wanted = min_node_count.value_or(config_.min_nodes);
  const auto deadline =
      real_clock().now() + std::chrono::minutes(timeout_in_minutes);
  compute::ClusterStore store(ws_);
  if (show_output) out << state_ << "\n" << std::flush;
  for (;;) {
    int ready = 0;
    for (const auto& n : store.nodes(name_, compute::now_ms())) {
      if (n.state == compute::NodeState::Idle || n.state == compute::NodeState::Running) ++ready;
    }
    if (ready >= wanted) {
      if (show_output) {
        out << "AmlCompute wait for completion finished\n\n"
            << "Minimum number of nodes requested have been provisioned\n" << std::flush;
      }
      return;
    }
    if (real_clock().now() >= deadline) {
      if (show_output) {
        out << "AmlCompute wait for completion finished\n\nWait timeout has been reached\n"
            << "Current provisioning state of AmlCompute is \"" << state_
            << "\" and current node count is \"" << ready << "\"\n" << std::flush;
      }
      return;
    }
    if (show_output) {
      out << (ready > 0 ? "Waiting for cluster to scale. " + std::to_string(ready) + " out of " +
                              std::to_string(wanted) + " nodes ready.\n"
                        : std::string("."))
          << std::flush;
    }
    real_clock().sleep_for(std::chrono::milliseconds(200));
  }
}

nlohmann::json ComputeTarget::get_status() const {
  const auto nodes = compute::ClusterStore(ws_).nodes(name_, compute::now_ms());
  std::map<std::string, int> counts;
  for (const auto& n : nodes) counts[n.state] += 1;
  const int current = static_cast<int>(nodes.size()) - counts["preempted"] - counts["leaving"];
  return {{"currentNodeCount", current},
          {"targetNodeCount", current},
          {"nodeStateCounts",
           {{"preparingNodeCount", counts["preparing"]},
            {"runningNodeCount", counts["running"]},
            {"idleNodeCount", counts["idle"]},
            {"unusableNodeCount", counts["unusable"]},
            {"leavingNodeCount", counts["leaving"]},
            {"preemptedNodeCount", counts["preempted"]}}},
          {"allocationState", counts["preparing"] > 0 ? "Resizing" : "Steady"},
          {"provisioningState", state_},
          {"scaleSettings",
           {{"minNodeCount", config_.min_nodes},
            {"maxNodeCount", *config_.max_nodes},
            {"nodeIdleTimeBeforeScaleDown",
             "PT" + std::to_string(config_.idle_seconds_before_scaledown) + "S"}}},
          {"errors", nullptr},
          {"creationTime", created_},
          {"vmPriority", config_.vm_priority == "lowpriority" ? "LowPriority" : "Dedicated"},
          {"vmSize", config_.vm_size}};
}

nlohmann::json ComputeTarget::list_nodes() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& n : compute::ClusterStore(ws_).nodes(name_, compute::now_ms())) {
    out.push_back({{"nodeId", n.node_id},
                   {"index", n.index},
                   {"privateIpAddress", n.address},
                   {"state", n.state},
                   {"runId", n.run_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(n.run_id)},
                   {"gpus", n.gpus},
                   {"rootDir", n.root.string()}});
  }
  return out;
}

nlohmann::json ComputeTarget::serialize() const {
  const auto size = find_vm_size(config_.vm_size);
  return {{"name", name_},
          {"type", type()},
          {"vmSize", config_.vm_size},
          {"vmPriority", config_.vm_priority},
          {"vcpus", size.vcpus},
          {"memoryGB", size.memory_gb},
          {"gpus", size.gpus},
          {"provisioningState", state_},
          {"status", get_status()},
          {"nodes", list_nodes()}};
}

void ComputeTarget::preempt(const std::string& node) const {
  const auto victim = compute::ClusterStore(ws_).preempt(name_, node, compute::now_ms());
  if (victim.run_id.empty()) return;
  // The run's supervisor stops the script and fails the run the way the service does.
  const auto run = history::RunStore(ws_).find(victim.run_id);
  if (run && run->supervisor_pid) {
    send_to_supervisor(*run->supervisor_pid, run->supervisor_start, SupervisorRequest::Preempt);
  }
}

void ComputeTarget::delete_target() {
  if (!compute::TargetStore(ws_).remove_unless_in_use(name_)) {
    throw ComputeTargetException("Compute target '" + name_ +
                                 "' cannot be deleted while runs are active on it");
  }
}

}  // namespace amlemu
