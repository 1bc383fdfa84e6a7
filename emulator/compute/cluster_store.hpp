// The cluster store: nodes and the node queue of every AmlCompute cluster of a workspace, in
// SQLite. Every call is one write transaction, so all processes that submit to the workspace
// share one first-come-first-served queue and see the same node states.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "amlemu/compute.hpp"
#include "amlemu/workspace.hpp"
#include "compute/scheduler.hpp"

namespace amlemu::compute {

/// A node as a run sees it.
struct NodeInfo {
  std::string target;
  int index = 0;
  std::string node_id;   // tvmps_<64 hex>_d|_p
  std::string address;   // its own loopback address, 127.X.Y.Z
  std::string state;
  std::string run_id;
  std::int64_t state_since = 0;
  std::vector<std::string> gpus;  // UUIDs; empty on CPU sizes and in virtual GPU mode
  bool dedicated = true;
  VmSize size;
  std::filesystem::path root;  // AZ_BATCH_NODE_ROOT_DIR
};

/// Milliseconds since the epoch, from the system clock.
std::int64_t now_ms();

/// The node provisioning delay: $AMLEMU_NODE_PROVISIONING as seconds, "realistic" (5 s), or
/// 0.1 s by default.
std::int64_t provisioning_ms();

/// The loopback address of node `index` of the cluster numbered `cluster` (distinct for every
/// node of every cluster of a workspace).
std::string node_address(int cluster, int index);

/// The CPUs a node of `vcpus` cores gets on a machine of `machine_cpus`: its own share when the
/// machine is big enough, wrapping around (oversubscribed) when it is not.
std::vector<int> node_cpus(int index, int vcpus, int machine_cpus);

/// The service's node id shape: tvmps_<64 hex>_d (_p for low priority), stable for a
/// workspace, target and index.
std::string node_id(const std::string& workspace_id, const std::string& target, int index,
                    bool dedicated = true);

class ClusterStore {
 public:
  explicit ClusterStore(const Workspace& ws) : ws_(ws) {}

  /// Puts a run at the end of `target`'s queue asking for `node_count` nodes.
  void enqueue(const std::string& run_id, const std::string& target, int node_count,
               std::int64_t now);

  /// One scheduling step: runs that ended or whose supervisor died give their nodes back (a
  /// live run whose supervisor is gone is marked Failed), then the plan of scheduler.hpp is
  /// applied. Returns the nodes held by `run_id` (empty while it waits).
  /// Throws ComputeTargetException when the target no longer exists. With the GPU policy
  /// "fail", a run whose nodes cannot get their GPUs is marked Failed and leaves the queue.
  /// A waiting run's step (`run_id` given) first looks without the write lock and takes it only
  /// when there is something to change, so that many queued runs polling do not hold up every
  /// other writer of the workspace.
  std::vector<NodeInfo> step(const std::string& target, std::int64_t now,
                             const std::string& run_id = "");

  /// The run's nodes become idle (idle since `now`) and its queue entry goes.
  void release(const std::string& run_id, std::int64_t now);

  /// The cluster's nodes after a step, so their states are true now.
  std::vector<NodeInfo> nodes(const std::string& target, std::int64_t now);

  /// The queue of `target`, first come first served (by submission time).
  std::vector<Waiting> queue(const std::string& target);

  /// Takes a low-priority node away: it becomes preempted and the run on it (if any) is
  /// returned in NodeInfo::run_id, for the caller to stop. `node` is an index or a node id.
  NodeInfo preempt(const std::string& target, const std::string& node, std::int64_t now);

 private:
  // Whether a step at `now` would change nothing: no node held by a run that is over, no queue
  // entry of such a run, an empty plan. Reads only (each read sees the latest commit; a change
  // landing in between is the next poll's to see).
  bool nothing_to_do(const std::string& target, std::int64_t now);
  Workspace ws_;
};

}  // namespace amlemu::compute
