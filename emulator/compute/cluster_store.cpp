#include "compute/cluster_store.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <tuple>

#include "amlemu/errors.hpp"
#include "amlemu/run.hpp"
#include "common/clock.hpp"
#include "common/hash.hpp"
#include "compute/gpu.hpp"
#include "compute/target_store.hpp"
#include "history/run_store.hpp"
#include "workspace/layout.hpp"
#include "storage/database.hpp"
#include "workspace/workspace_impl.hpp"

namespace amlemu::compute {

namespace {

constexpr std::int64_t kPreemptedVisibleMs = 60 * 1000;

struct Cluster {
  int number = 0;  // the target's rowid: picks its loopback range
  ProvisioningConfiguration config;
  VmSize size;
};

Cluster load_cluster(const Workspace& ws, const std::string& target) {
  const auto row = TargetStore(ws).find(target);
  if (!row) {
    throw ComputeTargetException("ComputeTargetNotFound: Compute target with name '" + target +
                                 "' not found");
  }
  Cluster c;
  c.number = row->number;
  c.config = row->config;
  c.size = find_vm_size(c.config.vm_size);
  return c;
}

std::vector<Node> load_nodes(storage::Database& db, const std::string& target) {
  auto st = db.prepare(
      "SELECT node_index, state, COALESCE(run_id, ''), state_since, ready_at FROM nodes "
      "WHERE target = ? ORDER BY node_index");
  st.bind(1, target);
  std::vector<Node> out;
  while (st.step()) {
    out.push_back({static_cast<int>(st.integer(0)), st.text(1), st.text(2), st.integer(3),
                   st.integer(4)});
  }
  return out;
}

// Whether a run still needs what it holds: not terminal, and its supervisor alive (or not yet
// started). A live run whose supervisor died is marked Failed here, so states stay true after a
// crash or a reboot.
bool run_is_live(const Workspace& ws, const std::string& run_id) {
  history::RunStore runs(ws);
  const auto rec = runs.find(run_id);
  if (!rec || RunStatus::is_terminal(rec->status)) return false;
  return !runs.fail_if_supervisor_gone(*rec, "the run was marked Failed and its nodes were "
                                              "released.");
}

NodeInfo info(const Workspace& ws, const std::string& target, const Cluster& c, const Node& n,
              const std::vector<std::string>& gpus) {
  NodeInfo i;
  i.target = target;
  i.index = n.index;
  const bool dedicated = c.config.vm_priority != "lowpriority";
  i.node_id = node_id(ws.get_details()["workspaceid"], target, n.index, dedicated);
  i.address = node_address(c.number, n.index);
  i.state = n.state;
  i.run_id = n.run_id;
  i.state_since = n.state_since;
  i.gpus = gpus;
  i.dedicated = dedicated;
  i.size = c.size;
  i.root = ws.state_dir() / "compute" / target / i.node_id;
  return i;
}

std::map<std::string, int> gpus_in_use(storage::Database& db) {
  std::map<std::string, int> out;
  auto st = db.prepare("SELECT gpus FROM nodes WHERE state = 'running'");
  while (st.step()) {
    for (const auto& g : nlohmann::json::parse(st.text(0))) out[g.get<std::string>()] += 1;
  }
  return out;
}

// The cluster's nodes as NodeInfo: all of them, or those `run_id` holds.
std::vector<NodeInfo> node_infos(const Workspace& ws, const std::string& target, const Cluster& c,
                                 const std::optional<std::string>& run_id = std::nullopt) {
  auto st = detail::database(ws).prepare(
      std::string("SELECT node_index, state, COALESCE(run_id, ''), state_since, ready_at, gpus "
                  "FROM nodes WHERE target = ?1") +
      (run_id ? " AND run_id = ?2" : "") + " ORDER BY node_index");
  st.bind(1, target);
  if (run_id) st.bind(2, *run_id);
  std::vector<NodeInfo> out;
  while (st.step()) {
    const Node n{static_cast<int>(st.integer(0)), st.text(1), st.text(2), st.integer(3),
                 st.integer(4)};
    out.push_back(info(ws, target, c, n,
                       nlohmann::json::parse(st.text(5)).get<std::vector<std::string>>()));
  }
  return out;
}

}  // namespace

std::int64_t now_ms() {
  return real_clock().wall_ms();
}

std::int64_t provisioning_ms() {
  const char* env = std::getenv("AMLEMU_NODE_PROVISIONING");
  if (!env || !*env) return 100;
  const std::string v = env;
  if (v == "realistic") return 5000;
  try {
    size_t used = 0;
    const double seconds = std::stod(v, &used);
    if (used == v.size() && seconds >= 0) return static_cast<std::int64_t>(seconds * 1000);
  } catch (const std::exception&) {
  }
  throw UserErrorException("AMLEMU_NODE_PROVISIONING '" + v +
                           "' is invalid: use a number of seconds or 'realistic'");
}

std::string node_address(int cluster, int index) {
  return "127." + std::to_string(10 + cluster % 240) + "." + std::to_string(index / 250) + "." +
         std::to_string(index % 250 + 2);
}

std::vector<int> node_cpus(int index, int vcpus, int machine_cpus) {
  std::vector<int> out;
  if (machine_cpus <= 0) return out;
  if (vcpus >= machine_cpus) {
    for (int i = 0; i < machine_cpus; ++i) out.push_back(i);
    return out;
  }
  for (int j = 0; j < vcpus; ++j) out.push_back((index * vcpus + j) % machine_cpus);
  std::sort(out.begin(), out.end());
  return out;
}

std::string node_id(const std::string& workspace_id, const std::string& target, int index,
                    bool dedicated) {
  const std::string seed = workspace_id + "/" + target + "/" + std::to_string(index);
  const std::string hex = sha1_hex(seed) + sha1_hex(seed + "#").substr(0, 24);
  return "tvmps_" + hex + (dedicated ? "_d" : "_p");
}

void ClusterStore::enqueue(const std::string& run_id, const std::string& target, int node_count,
                           std::int64_t now) {
  auto& db = detail::database(ws_);
  storage::Transaction tx(db);
  db.prepare("INSERT OR IGNORE INTO node_queue (run_id, target, node_count, enqueued) "
             "VALUES (?, ?, ?, ?)")
      .bind(1, run_id)
      .bind(2, target)
      .bind(3, node_count)
      .bind(4, now)
      .run();
  tx.commit();
}

std::vector<Waiting> ClusterStore::queue(const std::string& target) {
  // First come first served by submission time, so a run that took longer in Preparing keeps
  // its place ahead of one submitted after it.
  auto st = detail::database(ws_).prepare(
      "SELECT run_id, node_count, seq FROM node_queue WHERE target = ? ORDER BY seq");
  st.bind(1, target);
  struct Entry {
    std::pair<std::string, std::int64_t> submitted;  // run history's order; ("", 0) if unknown
    std::int64_t seq;
    Waiting waiting;
  };
  std::vector<Entry> entries;
  history::RunStore runs(ws_);
  while (st.step()) {
    Waiting w{st.text(0), static_cast<int>(st.integer(1))};
    entries.push_back({runs.submission_key(w.run_id).value_or(std::make_pair(std::string(), 0)),
                       st.integer(2), w});
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.submitted, a.seq) < std::tie(b.submitted, b.seq);
  });
  std::vector<Waiting> out;
  for (auto& e : entries) out.push_back(std::move(e.waiting));
  return out;
}

namespace {
ClusterPolicy policy_of(const Cluster& cluster) {
  ClusterPolicy policy;
  policy.min_nodes = cluster.config.min_nodes;
  policy.max_nodes = *cluster.config.max_nodes;
  policy.idle_ms = static_cast<std::int64_t>(cluster.config.idle_seconds_before_scaledown) * 1000;
  policy.provision_ms = provisioning_ms();
  policy.preempted_ms = kPreemptedVisibleMs;
  return policy;
}
}  // namespace

bool ClusterStore::nothing_to_do(const std::string& target, std::int64_t now) {
  auto& db = detail::database(ws_);
  const auto cluster = load_cluster(ws_, target);
  history::RunStore runs(ws_);
  // run_is_live without its write: a run whose supervisor is gone counts as over (the locked
  // step then records it Failed).
  auto live = [&](const std::string& id) {
    const auto rec = runs.find(id);
    return rec && !RunStatus::is_terminal(rec->status) && !history::RunStore::supervisor_gone(*rec);
  };
  const auto nodes = load_nodes(db, target);
  for (const auto& n : nodes) {
    if (n.state == NodeState::Running && !live(n.run_id)) return false;
  }
  std::vector<Waiting> waiting;
  for (const auto& w : queue(target)) {
    if (!live(w.run_id)) return false;
    waiting.push_back(w);
  }
  return plan(policy_of(cluster), nodes, waiting, now).empty();
}

std::vector<NodeInfo> ClusterStore::step(const std::string& target, std::int64_t now,
                                         const std::string& run_id) {
  if (!run_id.empty() && nothing_to_do(target, now)) {
    // Still waiting, unless another process's step gave this run its nodes meanwhile.
    return node_infos(ws_, target, load_cluster(ws_, target), run_id);
  }
  auto& db = detail::database(ws_);
  storage::Transaction tx(db);
  const auto cluster = load_cluster(ws_, target);

  // Nodes held by runs that are over (or orphaned) go back to idle.
  for (const auto& n : load_nodes(db, target)) {
    if (n.state == NodeState::Running && !run_is_live(ws_, n.run_id)) {
      db.prepare("UPDATE nodes SET state = 'idle', run_id = NULL, gpus = '[]', state_since = ? "
                 "WHERE target = ? AND node_index = ?")
          .bind(1, now)
          .bind(2, target)
          .bind(3, n.index)
          .run();
    }
  }
  std::vector<Waiting> waiting;
  for (const auto& w : queue(target)) {
    if (run_is_live(ws_, w.run_id)) {
      waiting.push_back(w);
    } else {
      db.prepare("DELETE FROM node_queue WHERE run_id = ?").bind(1, w.run_id).run();
    }
  }

  const ClusterPolicy policy = policy_of(cluster);
  const auto nodes = load_nodes(db, target);
  const Plan p = plan(policy, nodes, waiting, now);

  for (int index : p.ready) {
    const auto it = std::find_if(nodes.begin(), nodes.end(),
                                 [&](const Node& n) { return n.index == index; });
    db.prepare("UPDATE nodes SET state = 'idle', state_since = ? WHERE target = ? AND "
               "node_index = ?")
        .bind(1, it->ready_at)
        .bind(2, target)
        .bind(3, index)
        .run();
  }
  for (int index : p.provision) {
    db.prepare("INSERT INTO nodes (target, node_index, state, state_since, ready_at) "
               "VALUES (?, ?, 'preparing', ?, ?)")
        .bind(1, target)
        .bind(2, index)
        .bind(3, now)
        .bind(4, now + policy.provision_ms)
        .run();
  }
  for (const auto& list : {p.release, p.forget}) {
    for (int index : list) {
      db.prepare("DELETE FROM nodes WHERE target = ? AND node_index = ?")
          .bind(1, target)
          .bind(2, index)
          .run();
    }
  }
  if (p.allocate) {
    const auto& [run, indexes] = *p.allocate;
    // GPUs: each node of a GPU size gets its own devices when there are enough.
    const auto& gpus = machine_gpus();
    auto in_use = gpus_in_use(db);
    std::vector<std::vector<std::string>> given;
    bool short_of_gpus = false;
    for (size_t i = 0; i < indexes.size(); ++i) {
      auto g = gpus.empty() ? std::vector<std::string>{}
                            : assign_gpus(gpus, in_use, cluster.size.gpus, gpu_policy());
      if (!gpus.empty() && cluster.size.gpus > 0 && g.empty()) short_of_gpus = true;
      for (const auto& u : g) in_use[u] += 1;
      given.push_back(g);
    }
    if (short_of_gpus && gpu_policy() == GpuPolicy::Fail) {
      // The run that wanted them fails; the queue moves on. Whoever runs this step (that run's
      // supervisor or another process) is not the one to get an error.
      history::RunStore(ws_)
          .set_status(run, RunStatus::Failed, now_iso(),
                      {{"error",
                        {{"code", "UserError"},
                         {"message", "not enough free GPUs for " + std::to_string(indexes.size()) +
                                         " node(s) of " + cluster.size.name +
                                         " (AMLEMU_GPU_POLICY=fail)"}}}});
      db.prepare("DELETE FROM node_queue WHERE run_id = ?").bind(1, run).run();
    } else if (!short_of_gpus) {
      for (size_t i = 0; i < indexes.size(); ++i) {
        db.prepare("UPDATE nodes SET state = 'running', run_id = ?, gpus = ?, state_since = ? "
                   "WHERE target = ? AND node_index = ?")
            .bind(1, run)
            .bind(2, nlohmann::json(given[i]).dump())
            .bind(3, now)
            .bind(4, target)
            .bind(5, indexes[i])
            .run();
      }
      db.prepare("DELETE FROM node_queue WHERE run_id = ?").bind(1, run).run();
    }
  }
  auto held = run_id.empty() ? std::vector<NodeInfo>{} : node_infos(ws_, target, cluster, run_id);
  tx.commit();
  return held;
}

void ClusterStore::release(const std::string& run_id, std::int64_t now) {
  auto& db = detail::database(ws_);
  storage::Transaction tx(db);
  db.prepare("UPDATE nodes SET state = 'idle', run_id = NULL, gpus = '[]', state_since = ? "
             "WHERE run_id = ? AND state = 'running'")
      .bind(1, now)
      .bind(2, run_id)
      .run();
  db.prepare("UPDATE nodes SET run_id = NULL, gpus = '[]' WHERE run_id = ?").bind(1, run_id).run();
  db.prepare("DELETE FROM node_queue WHERE run_id = ?").bind(1, run_id).run();
  tx.commit();
}

std::vector<NodeInfo> ClusterStore::nodes(const std::string& target, std::int64_t now) {
  step(target, now);
  return node_infos(ws_, target, load_cluster(ws_, target));
}

NodeInfo ClusterStore::preempt(const std::string& target, const std::string& node,
                               std::int64_t now) {
  auto& db = detail::database(ws_);
  storage::Transaction tx(db);
  const auto cluster = load_cluster(ws_, target);
  if (cluster.config.vm_priority != "lowpriority") {
    throw ComputeTargetException("compute target '" + target +
                                 "' is dedicated; only lowpriority nodes can be preempted");
  }
  std::optional<NodeInfo> victim;
  for (const auto& n : load_nodes(db, target)) {
    const auto i = info(ws_, target, cluster, n, {});
    if (std::to_string(n.index) == node || i.node_id == node) victim = i;
  }
  if (!victim || victim->state == NodeState::Preempted) {
    throw ComputeTargetException("node '" + node + "' not found among the live nodes of '" +
                                 target + "'");
  }
  db.prepare("UPDATE nodes SET state = 'preempted', gpus = '[]', state_since = ? WHERE target = ? "
             "AND node_index = ?")
      .bind(1, now)
      .bind(2, target)
      .bind(3, victim->index)
      .run();
  tx.commit();
  victim->state = NodeState::Preempted;
  return *victim;
}

}  // namespace amlemu::compute
