// Room: compute. The scheduler's decisions with a fake clock (times are plain numbers), and the
// cluster store applying them to real SQLite.
#include <catch2/catch.hpp>
#include <regex>

#include "amlemu/compute.hpp"
#include "amlemu/run.hpp"
#include "common/clock.hpp"
#include "compute/cluster_store.hpp"
#include "compute/gpu.hpp"
#include "compute/scheduler.hpp"
#include "history/run_store.hpp"
#include "storage/database.hpp"
#include "support/temp_home.hpp"
#include "workspace/workspace_impl.hpp"

using namespace amlemu;
using namespace amlemu::compute;
using amlemu::testing::TempHome;

namespace {
ClusterPolicy policy(int min_nodes, int max_nodes) {
  ClusterPolicy p;
  p.min_nodes = min_nodes;
  p.max_nodes = max_nodes;
  p.idle_ms = 120000;
  p.provision_ms = 1000;
  p.preempted_ms = 60000;
  return p;
}
Node node(int index, const char* state, std::int64_t since = 0, std::string run = "",
          std::int64_t ready_at = 0) {
  return Node{index, state, std::move(run), since, ready_at};
}
}  // namespace

TEST_CASE("an empty cluster scales up for the queue's head", "[scheduler]") {
  const auto p = plan(policy(0, 4), {}, {{"r1", 2}}, 0);
  CHECK(p.provision == std::vector<int>{0, 1});
  CHECK_FALSE(p.allocate);
}

TEST_CASE("preparing nodes become idle when ready and are then allocated", "[scheduler]") {
  const std::vector<Node> nodes = {node(0, "preparing", 0, "", 1000), node(1, "preparing", 0, "", 1000)};
  CHECK(plan(policy(0, 4), nodes, {{"r1", 2}}, 999).empty());  // not yet, nothing more to do
  const auto p = plan(policy(0, 4), nodes, {{"r1", 2}}, 1000);
  CHECK(p.ready == std::vector<int>{0, 1});
  REQUIRE(p.allocate);
  CHECK(p.allocate->first == "r1");
  CHECK(p.allocate->second == std::vector<int>{0, 1});
}

TEST_CASE("idle nodes are reused before new ones are provisioned", "[scheduler]") {
  const auto p = plan(policy(0, 4), {node(0, "idle"), node(1, "running", 0, "r0")}, {{"r1", 1}}, 5);
  REQUIRE(p.allocate);
  CHECK(p.allocate->second == std::vector<int>{0});
  CHECK(p.provision.empty());
}

TEST_CASE("a full cluster leaves the queue waiting, first come first served", "[scheduler]") {
  const std::vector<Node> full = {node(0, "running", 0, "r0")};
  const auto p = plan(policy(0, 1), full, {{"r1", 1}, {"r2", 1}}, 10);
  CHECK(p.empty());
  // When the node frees, the head (r1) gets it, not r2.
  const auto q = plan(policy(0, 1), {node(0, "idle", 20)}, {{"r1", 1}, {"r2", 1}}, 30);
  REQUIRE(q.allocate);
  CHECK(q.allocate->first == "r1");
}

TEST_CASE("a later small run does not jump ahead of a waiting big one", "[scheduler]") {
  const std::vector<Node> nodes = {node(0, "idle"), node(1, "running", 0, "r0")};
  const auto p = plan(policy(0, 2), nodes, {{"big", 2}, {"small", 1}}, 10);
  CHECK_FALSE(p.allocate);  // strict order: big waits for node 1, small waits behind it
  CHECK(p.provision.empty());
}

TEST_CASE("new nodes take the lowest free indexes up to max_nodes", "[scheduler]") {
  const auto p = plan(policy(0, 3), {node(1, "running", 0, "r0")}, {{"r1", 3}}, 0);
  CHECK(p.provision == std::vector<int>{0, 2});  // 3 nodes at most: one in use, two more
}

TEST_CASE("min_nodes are provisioned at once and never scaled down", "[scheduler]") {
  CHECK(plan(policy(2, 4), {}, {}, 0).provision == std::vector<int>{0, 1});
  const std::vector<Node> idle = {node(0, "idle", 0), node(1, "idle", 0), node(2, "idle", 0)};
  const auto p = plan(policy(2, 4), idle, {}, 500000);
  CHECK(p.release == std::vector<int>{2});
}

TEST_CASE("idle nodes go away after idle_seconds_before_scaledown, not before", "[scheduler]") {
  const std::vector<Node> nodes = {node(0, "idle", 1000), node(1, "idle", 50000)};
  CHECK(plan(policy(0, 4), nodes, {}, 120999).release.empty());
  CHECK(plan(policy(0, 4), nodes, {}, 121000).release == std::vector<int>{0});
  CHECK(plan(policy(0, 4), nodes, {}, 170000).release == std::vector<int>{1, 0});
}

TEST_CASE("preempted nodes do not count against max_nodes and are forgotten later", "[scheduler]") {
  const std::vector<Node> nodes = {node(0, "preempted", 0)};
  const auto p = plan(policy(0, 1), nodes, {{"r1", 1}}, 1000);
  CHECK(p.provision == std::vector<int>{1});  // the cluster scales back
  CHECK(p.forget.empty());
  CHECK(plan(policy(0, 1), nodes, {}, 60000).forget == std::vector<int>{0});
}

TEST_CASE("node cpus: a share of the machine, oversubscribed when it is smaller", "[compute]") {
  CHECK(node_cpus(0, 2, 8) == std::vector<int>{0, 1});
  CHECK(node_cpus(1, 2, 8) == std::vector<int>{2, 3});
  CHECK(node_cpus(3, 4, 8) == std::vector<int>{4, 5, 6, 7});
  CHECK(node_cpus(0, 6, 2) == std::vector<int>{0, 1});  // NC6 on 2 cores: all of them
  CHECK(node_cpus(1, 1, 2) == std::vector<int>{1});
  CHECK(node_cpus(2, 1, 2) == std::vector<int>{0});
}

TEST_CASE("node identities: ids, addresses", "[compute]") {
  const auto a = node_id("ws", "gpucluster", 0);
  CHECK(std::regex_match(a, std::regex("tvmps_[0-9a-f]{64}_d")));
  CHECK(a == node_id("ws", "gpucluster", 0));
  CHECK(a != node_id("ws", "gpucluster", 1));
  CHECK(node_id("ws", "gpucluster", 0, false).substr(70) == "_p");
  CHECK(node_address(1, 0) == "127.11.0.2");
  CHECK(node_address(1, 1) != node_address(2, 1));
  CHECK(node_address(1, 251) == "127.11.1.3");
}

TEST_CASE("GPU assignment: exclusive when enough, else by policy", "[compute][gpu]") {
  const std::vector<Gpu> gpus = {{0, "GPU-a", "H100", 0}, {1, "GPU-b", "H100", 0}};
  CHECK(assign_gpus(gpus, {}, 1, GpuPolicy::Share) == std::vector<std::string>{"GPU-a"});
  CHECK(assign_gpus(gpus, {{"GPU-a", 1}}, 1, GpuPolicy::Fail) == std::vector<std::string>{"GPU-b"});
  CHECK(assign_gpus(gpus, {{"GPU-a", 1}, {"GPU-b", 1}}, 1, GpuPolicy::Fail).empty());
  CHECK(assign_gpus(gpus, {{"GPU-a", 1}, {"GPU-b", 1}}, 1, GpuPolicy::Queue).empty());
  CHECK(assign_gpus(gpus, {{"GPU-a", 2}, {"GPU-b", 1}}, 1, GpuPolicy::Share) == std::vector<std::string>{"GPU-b"});
  CHECK(assign_gpus({}, {}, 1, GpuPolicy::Share).empty());  // virtual mode
  CHECK(assign_gpus(gpus, {}, 0, GpuPolicy::Share).empty());
}

namespace {
struct StoreFixture {
  TempHome t;
  Workspace ws = Workspace::create("cs", "s", "r");
  StoreFixture(int min_nodes, int max_nodes, int idle_seconds = 120) {
    ::setenv("AMLEMU_NODE_PROVISIONING", "1", 1);
    ComputeTarget::create(ws, "cpu",
                          AmlCompute::provisioning_configuration("STANDARD_D2_V2", "lowpriority",
                                                                 min_nodes, max_nodes, idle_seconds));
  }
  ~StoreFixture() { ::unsetenv("AMLEMU_NODE_PROVISIONING"); }
  void add_run(const std::string& id) {
    history::RunRecord r;
    r.run_id = id;
    r.experiment_name = "e";
    r.target = "cpu";
    r.definition = nlohmann::json::object();
    history::RunStore(ws).insert_run(r, now_iso());
  }
};
}  // namespace

TEST_CASE("the store queues runs across calls and hands out nodes in order", "[scheduler][store]") {
  StoreFixture f(0, 1);
  ClusterStore store(f.ws);
  f.add_run("a_1_00000001");
  f.add_run("b_1_00000002");
  store.enqueue("a_1_00000001", "cpu", 1, 0);
  store.enqueue("b_1_00000002", "cpu", 1, 1);
  CHECK(store.step("cpu", 10, "a_1_00000001").empty());  // provisioning
  auto nodes = store.nodes("cpu", 10);
  REQUIRE(nodes.size() == 1);
  CHECK(nodes[0].state == "preparing");
  const auto held = store.step("cpu", 1010, "a_1_00000001");
  REQUIRE(held.size() == 1);
  CHECK(held[0].address.rfind("127.", 0) == 0);
  CHECK(store.step("cpu", 1020, "b_1_00000002").empty());  // queued behind a
  CHECK(store.queue("cpu").size() == 1);
  store.release("a_1_00000001", 2000);
  CHECK(store.step("cpu", 2010, "b_1_00000002").size() == 1);
  CHECK(store.queue("cpu").empty());
}

TEST_CASE("a queued run's step with nothing to change does not take the write lock", "[scheduler][store]") {
  StoreFixture f(0, 1);
  ClusterStore store(f.ws);
  f.add_run("a_1_00000001");
  f.add_run("b_1_00000002");
  store.enqueue("a_1_00000001", "cpu", 1, 0);
  store.enqueue("b_1_00000002", "cpu", 1, 1);
  CHECK(store.step("cpu", 10, "a_1_00000001").empty());
  REQUIRE(store.step("cpu", 1010, "a_1_00000001").size() == 1);
  // Another connection holds the write lock (as a busy writer would). b's poll changes nothing,
  // so it answers at once; a step that wanted the lock would wait out the busy timeout and fail.
  {
    storage::Database other(f.ws.state_dir() / "workspace.db");
    storage::Transaction held(other);  // rolled back at the end of this block
    CHECK(store.step("cpu", 1020, "b_1_00000002").empty());
    CHECK(store.step("cpu", 1030, "a_1_00000001").size() == 1);  // a still holds its node
  }
  // Once a's run is over, b's step does change something: it takes the lock and gets the node.
  history::RunStore(f.ws).set_status("a_1_00000001", "Completed", now_iso());
  CHECK(store.step("cpu", 2010, "b_1_00000002").size() == 1);
}

TEST_CASE("the queue keeps submission order even when a later run is queued first", "[scheduler][store]") {
  StoreFixture f(0, 1);
  ClusterStore store(f.ws);
  f.add_run("a_1_00000001");  // submitted first
  f.add_run("b_1_00000002");
  store.enqueue("b_1_00000002", "cpu", 1, 0);  // but reaches Queued first
  store.enqueue("a_1_00000001", "cpu", 1, 1);
  const auto q = store.queue("cpu");
  REQUIRE(q.size() == 2);
  CHECK(q[0].run_id == "a_1_00000001");
}

TEST_CASE("nodes of a finished run come back even if nobody released them", "[scheduler][store]") {
  StoreFixture f(1, 1);
  ClusterStore store(f.ws);
  f.add_run("a_1_00000001");
  const auto t0 = now_ms();  // min_nodes were provisioned at creation, in real time
  store.enqueue("a_1_00000001", "cpu", 1, t0);
  REQUIRE(store.step("cpu", t0 + 5000, "a_1_00000001").size() == 1);
  history::RunStore(f.ws).set_status("a_1_00000001", "Failed", now_iso());
  const auto nodes = store.nodes("cpu", t0 + 6000);
  REQUIRE(nodes.size() == 1);
  CHECK(nodes[0].state == "idle");
}

TEST_CASE("a run whose supervisor died is marked Failed and its nodes freed", "[scheduler][store]") {
  StoreFixture f(0, 1);
  ClusterStore store(f.ws);
  f.add_run("a_1_00000001");
  // A pid that cannot be alive (beyond pid_max).
  history::RunStore(f.ws).set_supervisor("a_1_00000001", 99999999, std::nullopt);
  store.enqueue("a_1_00000001", "cpu", 1, 0);
  store.step("cpu", 10);
  CHECK(Run(f.ws, "a_1_00000001").get_status() == "Failed");
  CHECK_THAT(Run(f.ws, "a_1_00000001").get_details()["error"]["error"]["message"].get<std::string>(),
             Catch::Contains("supervisor (pid 99999999) ended"));
  CHECK(store.queue("cpu").empty());
}

TEST_CASE("status counts follow the nodes and preemption shows and scales back", "[scheduler][store]") {
  StoreFixture f(2, 3);
  const ComputeTarget target(f.ws, "cpu");
  auto s = target.get_status();
  CHECK(s["nodeStateCounts"]["preparingNodeCount"] == 2);
  CHECK(s["allocationState"] == "Resizing");
  ClusterStore store(f.ws);
  store.step("cpu", now_ms() + 2000);  // provisioned
  store.preempt("cpu", "1", now_ms() + 2100);
  const auto nodes = store.nodes("cpu", now_ms() + 2200);
  int preempted = 0, live = 0;
  for (const auto& n : nodes) (n.state == "preempted" ? preempted : live) += 1;
  CHECK(preempted == 1);
  CHECK(live == 2);  // min_nodes restored by a new node
  CHECK_THROWS_WITH(store.preempt("cpu", "9", now_ms()), Catch::Contains("node '9' not found"));
}

TEST_CASE("only lowpriority nodes can be preempted", "[scheduler][store]") {
  TempHome t;
  const auto ws = Workspace::create("cs", "s", "r");
  ComputeTarget::create(ws, "ded", AmlCompute::provisioning_configuration("STANDARD_D2_V2", "dedicated", 1, 1));
  CHECK_THROWS_WITH(ComputeTarget(ws, "ded").preempt("0"), Catch::Contains("only lowpriority nodes"));
}
