#include "compute/node_source.hpp"

namespace amlemu::compute {

namespace {

class LocalNode : public NodeSource {
 public:
  LocalNode(const Workspace& ws, std::string run_id) : ws_(ws), run_id_(std::move(run_id)) {}
  std::vector<NodeInfo> try_acquire() override {
    NodeInfo n;
    n.target = "local";
    n.node_id = node_id(ws_.get_details()["workspaceid"], "local", 0);
    n.address = "127.0.0.1";
    n.state = NodeState::Running;
    n.run_id = run_id_;
    n.root = ws_.state_dir() / "compute" / "local" / n.node_id;
    return {n};
  }
  void release() override {}
  bool preemptible() const override { return false; }
  std::optional<std::string> preempted(const std::vector<NodeInfo>&) override { return {}; }
  void preempt(const NodeInfo&) override {}

 private:
  Workspace ws_;
  std::string run_id_;
};

class ClusterNodes : public NodeSource {
 public:
  ClusterNodes(const Workspace& ws, std::string run_id, std::string target, int count,
               Clock& clock)
      : store_(ws), run_id_(std::move(run_id)), target_(std::move(target)), count_(count),
        clock_(clock) {}
  std::vector<NodeInfo> try_acquire() override {
    if (!queued_) {
      store_.enqueue(run_id_, target_, count_, clock_.wall_ms());
      queued_ = true;
    }
    auto held = store_.step(target_, clock_.wall_ms(), run_id_);
    if (!held.empty()) dedicated_ = held.front().dedicated;
    return held;
  }
  void release() override { store_.release(run_id_, clock_.wall_ms()); }
  bool preemptible() const override { return !dedicated_; }
  std::optional<std::string> preempted(const std::vector<NodeInfo>& held) override {
    for (const auto& n : store_.nodes(target_, clock_.wall_ms())) {
      if (n.state != NodeState::Preempted) continue;
      for (const auto& h : held) {
        if (h.index == n.index) return h.node_id;
      }
    }
    return std::nullopt;
  }
  void preempt(const NodeInfo& node) override {
    store_.preempt(target_, std::to_string(node.index), clock_.wall_ms());
  }

 private:
  ClusterStore store_;
  std::string run_id_;
  std::string target_;
  int count_;
  Clock& clock_;
  bool queued_ = false;
  bool dedicated_ = true;
};

}  // namespace

std::unique_ptr<NodeSource> make_node_source(const Workspace& ws, const std::string& run_id,
                                             const std::string& target, int node_count,
                                             Clock& clock) {
  if (target == "local") return std::make_unique<LocalNode>(ws, run_id);
  return std::make_unique<ClusterNodes>(ws, run_id, target, node_count, clock);
}

}  // namespace amlemu::compute
