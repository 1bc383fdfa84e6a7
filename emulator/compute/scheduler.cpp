#include "compute/scheduler.hpp"

#include <algorithm>
#include <set>

namespace amlemu::compute {

Plan plan(const ClusterPolicy& policy, const std::vector<Node>& nodes,
          const std::vector<Waiting>& queue, std::int64_t now) {
  Plan p;
  std::vector<int> idle;
  int preparing = 0;
  int live = 0;  // nodes that count against max_nodes
  std::set<int> used;
  for (const auto& n : nodes) {
    used.insert(n.index);
    if (n.state == NodeState::Preempted) {
      if (now - n.state_since >= policy.preempted_ms) p.forget.push_back(n.index);
      continue;
    }
    if (n.state == NodeState::Leaving) continue;
    ++live;
    if (n.state == NodeState::Preparing) {
      if (now >= n.ready_at) {
        p.ready.push_back(n.index);
        idle.push_back(n.index);
      } else {
        ++preparing;
      }
    } else if (n.state == NodeState::Idle) {
      idle.push_back(n.index);
    }
  }
  std::sort(idle.begin(), idle.end());

  auto provision = [&](int count) {
    for (int i = 0; count > 0 && live < policy.max_nodes; ++i) {
      if (used.count(i)) continue;
      used.insert(i);
      p.provision.push_back(i);
      ++live;
      --count;
    }
  };

  int needed_by_head = 0;
  if (!queue.empty()) {
    const auto& head = queue.front();
    needed_by_head = head.node_count;
    if (static_cast<int>(idle.size()) >= head.node_count) {
      std::vector<int> nodes_for(idle.begin(), idle.begin() + head.node_count);
      p.allocate = std::make_pair(head.run_id, nodes_for);
      idle.erase(idle.begin(), idle.begin() + head.node_count);
      needed_by_head = 0;
    } else {
      provision(head.node_count - static_cast<int>(idle.size()) - preparing);
    }
  }
  provision(policy.min_nodes - live);

  // Scale down: idle too long, above min_nodes, not wanted by the head of the queue.
  int removable = live - policy.min_nodes;
  const int keep_for_head = needed_by_head > 0 ? static_cast<int>(idle.size()) : 0;
  std::vector<int> candidates;
  for (const auto& n : nodes) {
    const bool idle_now = std::find(idle.begin(), idle.end(), n.index) != idle.end();
    if (idle_now && n.state == NodeState::Idle && now - n.state_since >= policy.idle_ms) {
      candidates.push_back(n.index);
    }
  }
  std::sort(candidates.rbegin(), candidates.rend());
  for (int index : candidates) {
    if (removable <= 0 || keep_for_head > 0) break;
    p.release.push_back(index);
    --removable;
  }
  return p;
}

}  // namespace amlemu::compute
