// Where a run's nodes come from, behind one interface: the local target's one node at once, or
// a cluster's nodes through its shared queue (scale-up, first come first served). The run
// driver asks, waits, and gives them back; it never sees the queue or the database.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "amlemu/workspace.hpp"
#include "common/clock.hpp"
#include "compute/cluster_store.hpp"

namespace amlemu::compute {

class NodeSource {
 public:
  virtual ~NodeSource() = default;
  /// The run's nodes once it has them; empty while it waits (ask again later). The first call
  /// joins the queue.
  virtual std::vector<NodeInfo> try_acquire() = 0;
  /// Gives the nodes back (idle) and leaves the queue. Safe to call more than once.
  virtual void release() = 0;
  /// Whether the run's nodes can be preempted (low priority).
  virtual bool preemptible() const = 0;
  /// The node id of a held node that was marked preempted (by `compute preempt`), if any.
  virtual std::optional<std::string> preempted(const std::vector<NodeInfo>& held) = 0;
  /// Marks a held node preempted (random preemption).
  virtual void preempt(const NodeInfo& node) = 0;
};

/// The source for `run_id` on `target` ("local" or a cluster), asking for `node_count` nodes.
std::unique_ptr<NodeSource> make_node_source(const Workspace& ws, const std::string& run_id,
                                             const std::string& target, int node_count,
                                             Clock& clock);

}  // namespace amlemu::compute
