#include "amlemu/compute.hpp"

#include <iostream>
#include <regex>

#include "amlemu/errors.hpp"
#include "common/clock.hpp"
#include "workspace/workspace_impl.hpp"

namespace amlemu {

namespace {

constexpr const char* kColumns =
    "name, vm_size, vm_priority, min_nodes, max_nodes, idle_seconds_before_scaledown, "
    "provisioning_state, created_time";

void validate(const std::string& name, const ProvisioningConfiguration& c) {
  static const std::regex rule("^[A-Za-z][A-Za-z0-9-]{1,15}$");
  if (!std::regex_match(name, rule)) {
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

int active_runs(const Workspace& ws, const std::string& target) {
  auto st = ws.impl().db.prepare(
      "SELECT COUNT(*) FROM runs WHERE target = ? AND status IN "
      "('Starting','Preparing','Queued','Running','Finalizing','CancelRequested')");
  st.bind(1, target);
  st.step();
  return static_cast<int>(st.integer(0));
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
  auto st = ws.impl().db.prepare(std::string("SELECT ") + kColumns +
                                 " FROM compute_targets WHERE name = ?");
  st.bind(1, name);
  if (!st.step()) {
    throw ComputeTargetException("ComputeTargetNotFound: Compute target with name '" + name +
                                 "' not found in provided workspace '" + ws.name() +
                                 "'; create it with 'amlemu compute create --name " + name +
                                 " --size STANDARD_NC6 --max-instances 4'");
  }
  config_.vm_size = st.text(1);
  config_.vm_priority = st.text(2);
  config_.min_nodes = static_cast<int>(st.integer(3));
  config_.max_nodes = static_cast<int>(st.integer(4));
  config_.idle_seconds_before_scaledown = static_cast<int>(st.integer(5));
  state_ = st.text(6);
  created_ = st.text(7);
}

ComputeTarget ComputeTarget::create(const Workspace& ws, const std::string& name,
                                    const ProvisioningConfiguration& config) {
  validate(name, config);
  ProvisioningConfiguration c = config;
  c.vm_size = find_vm_size(config.vm_size).name;
  auto& db = ws.impl().db;
  storage::Transaction tx(db);
  auto existing = db.prepare("SELECT vm_size, min_nodes, max_nodes FROM compute_targets "
                             "WHERE name = ?");
  existing.bind(1, name);
  if (existing.step()) {
    if (existing.text(0) != c.vm_size || existing.integer(1) != c.min_nodes ||
        existing.integer(2) != *c.max_nodes) {
      throw ComputeTargetException("Compute target '" + name +
                                   "' already exists with a different configuration (" +
                                   existing.text(0) + ", " + std::to_string(existing.integer(1)) +
                                   "-" + std::to_string(existing.integer(2)) + " nodes)");
    }
  } else {
    const auto now = now_iso();
    db.prepare("INSERT INTO compute_targets VALUES (?, 'AmlCompute', ?, ?, ?, ?, ?, "
               "'Succeeded', ?, ?)")
        .bind(1, name)
        .bind(2, c.vm_size)
        .bind(3, c.vm_priority)
        .bind(4, c.min_nodes)
        .bind(5, *c.max_nodes)
        .bind(6, c.idle_seconds_before_scaledown)
        .bind(7, now)
        .bind(8, now)
        .run();
  }
  tx.commit();
  return ComputeTarget(ws, name);
}

std::vector<ComputeTarget> ComputeTarget::list(const Workspace& ws) {
  std::vector<ComputeTarget> out;
  auto st = ws.impl().db.prepare("SELECT name FROM compute_targets ORDER BY name");
  while (st.step()) out.emplace_back(ws, st.text(0));
  return out;
}

std::string ComputeTarget::provisioning_state() const { return state_; }

void ComputeTarget::wait_for_completion(bool show_output) const {
  wait_for_completion(show_output, std::cout);
}

void ComputeTarget::wait_for_completion(bool show_output, std::ostream& out) const {
  // Provisioning is immediate here: nodes are created on demand when runs need them.
  if (!show_output) return;
  out << state_ << "\n"
      << "AmlCompute wait for completion finished\n\n"
      << "Minimum number of nodes requested have been provisioned\n";
}

nlohmann::json ComputeTarget::get_status() const {
  const int running = std::min(active_runs(ws_, name_), *config_.max_nodes);
  const int current = std::max(config_.min_nodes, running);
  return {{"currentNodeCount", current},
          {"targetNodeCount", current},
          {"nodeStateCounts",
           {{"preparingNodeCount", 0},
            {"runningNodeCount", running},
            {"idleNodeCount", current - running},
            {"unusableNodeCount", 0},
            {"leavingNodeCount", 0},
            {"preemptedNodeCount", 0}}},
          {"allocationState", "Steady"},
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
          {"status", get_status()}};
}

void ComputeTarget::delete_target() {
  auto& db = ws_.impl().db;
  storage::Transaction tx(db);
  if (active_runs(ws_, name_) > 0) {
    throw ComputeTargetException("Compute target '" + name_ +
                                 "' cannot be deleted while runs are active on it");
  }
  db.prepare("DELETE FROM compute_targets WHERE name = ?").bind(1, name_).run();
  tx.commit();
}

}  // namespace amlemu
