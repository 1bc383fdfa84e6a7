// The cluster scheduler's decisions, as a pure function of the cluster's nodes, its queue and the
// time. No I/O: the cluster store applies a plan inside one write transaction, so every process
// that submits to the workspace sees one queue and one set of nodes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace amlemu::compute {

namespace NodeState {
inline constexpr const char* Preparing = "preparing";
inline constexpr const char* Idle = "idle";
inline constexpr const char* Running = "running";
inline constexpr const char* Leaving = "leaving";
inline constexpr const char* Preempted = "preempted";
inline constexpr const char* Unusable = "unusable";
}  // namespace NodeState

struct Node {
  int index = 0;
  std::string state;
  std::string run_id;        // set while running
  std::int64_t state_since = 0;  // ms
  std::int64_t ready_at = 0;     // ms, for preparing nodes
};

struct Waiting {
  std::string run_id;
  int node_count = 1;
};

struct ClusterPolicy {
  int min_nodes = 0;
  int max_nodes = 1;
  std::int64_t idle_ms = 1800 * 1000;      // idle_seconds_before_scaledown
  std::int64_t provision_ms = 100;         // a new node's time in preparing
  std::int64_t preempted_ms = 60 * 1000;   // how long a preempted node stays visible
};

struct Plan {
  std::vector<int> ready;      // preparing nodes that become idle now
  std::vector<int> provision;  // new nodes (indexes) to create in preparing
  std::vector<int> release;    // idle nodes that go away (scale-down)
  std::vector<int> forget;     // preempted nodes that go away
  /// The queue's head run and the idle nodes it gets, when there are enough.
  std::optional<std::pair<std::string, std::vector<int>>> allocate;
  bool empty() const {
    return ready.empty() && provision.empty() && release.empty() && forget.empty() && !allocate;
  }
};

/// One scheduling step at time `now` (ms). Rules:
/// - preparing nodes whose ready_at has passed become idle;
/// - the queue is first come first served: only its head is served; it gets the lowest-indexed
///   idle nodes once there are node_count of them, and new nodes are provisioned (lowest free
///   indexes) when idle plus preparing nodes are fewer than it needs, up to max_nodes;
/// - the cluster keeps at least min_nodes nodes (provisioned at once);
/// - idle nodes idle for idle_ms go away, highest index first, down to min_nodes, unless the
///   queue's head needs them;
/// - preempted nodes are forgotten after preempted_ms and do not count against max_nodes.
Plan plan(const ClusterPolicy& policy, const std::vector<Node>& nodes,
          const std::vector<Waiting>& queue, std::int64_t now);

}  // namespace amlemu::compute
