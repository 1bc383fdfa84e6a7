// Room: launch. The run driver's pure pieces, with fakes only (no real process, no sleep): the
// outcome decision, the process set's stop sequences, the process environment (golden), and
// the service logs' timestamps.
#include <catch2/catch.hpp>

#include <signal.h>

#include <fstream>
#include <functional>

#include "common/fs.hpp"
#include "common/launcher.hpp"
#include "launch/outcome.hpp"
#include "launch/process_environment.hpp"
#include "launch/process_set.hpp"
#include "launch/service_logs.hpp"
#include "support/temp_home.hpp"

using namespace amlemu::launch;
using namespace std::chrono_literals;

namespace {

class StepClock : public amlemu::Clock {
 public:
  TimePoint now() override { return TimePoint{} + elapsed; }
  void sleep_for(std::chrono::milliseconds d) override { elapsed += d; }
  amlemu::SystemTime wall() override { return amlemu::SystemTime{} + 1767225600s + elapsed; }
  std::chrono::milliseconds elapsed{0};
};

struct Sent {
  std::string who;
  int sig;
  std::chrono::milliseconds at;
};

// A process that exits at a given time with a given code, or on the signals it honours.
class ScriptedProcess : public Process {
 public:
  ScriptedProcess(StepClock& clock, std::string who, std::optional<std::chrono::milliseconds> exit_at,
                  int code, bool honours_term, std::vector<Sent>& sent)
      : clock_(clock), who_(std::move(who)), exit_at_(exit_at), code_(code),
        honours_term_(honours_term), sent_(sent) {}
  int pid() const override { return 7; }
  std::optional<int> poll() override {
    if (killed_) return killed_;
    if (exit_at_ && clock_.elapsed >= *exit_at_) return code_;
    return std::nullopt;
  }
  void signal_group(int sig) override {
    if (poll()) return;  // only signals to a live process count
    sent_.push_back({who_, sig, clock_.elapsed});
    if (sig == SIGKILL || (sig == SIGTERM && honours_term_)) killed_ = 128 + sig;
  }

 private:
  StepClock& clock_;
  std::string who_;
  std::optional<std::chrono::milliseconds> exit_at_;
  int code_;
  bool honours_term_;
  std::optional<int> killed_;
  std::vector<Sent>& sent_;
};

struct Script {
  std::optional<std::chrono::milliseconds> exit_at;
  int code = 0;
  bool honours_term = true;
};

class ScriptedLauncher : public Launcher {
 public:
  ScriptedLauncher(StepClock& clock, std::map<std::string, Script> scripts)
      : clock_(clock), scripts_(std::move(scripts)) {}
  std::unique_ptr<Process> start(const ProcessSpec& spec) override {
    const auto who = spec.program.string();
    const auto& s = scripts_.at(who);
    return std::make_unique<ScriptedProcess>(clock_, who, s.exit_at, s.code, s.honours_term, sent);
  }
  std::vector<Sent> sent;

 private:
  StepClock& clock_;
  std::map<std::string, Script> scripts_;
};

Member member(const std::string& who, bool server = false) {
  Member m;
  m.name = who;
  m.log = who + ".txt";
  m.server = server;
  m.spec.program = who;
  return m;
}

}  // namespace

// ---- The outcome decision. ----

TEST_CASE("outcome: every process exiting 0 completes the run", "[launch][outcome]") {
  const auto o = decide_outcome(StopReason::Exited, std::nullopt, 60, "", nullptr);
  CHECK(o.status == "Completed");
  CHECK(o.error.is_null());
  CHECK(o.through_finalizing);
  CHECK(o.closing_line == "The experiment completed successfully. Finalizing run...");
}

TEST_CASE("outcome: the first failure names its process and its traceback", "[launch][outcome]") {
  std::string asked;
  const auto o = decide_outcome(StopReason::Exited, FailedProcess{"worker 1", "w1.txt", 1}, 60, "",
                                [&](const std::string& log) {
                                  asked = log;
                                  return "Traceback (most recent call last):\n  File \"t.py\"\n"
                                         "KeyError: 'lr'\n";
                                });
  CHECK(asked == "w1.txt");
  CHECK(o.status == "Failed");
  CHECK(o.error["error"]["message"] == "User program failed with KeyError: 'lr' (worker 1 failed first)");
  CHECK(o.error["error"]["failedProcess"] == "worker 1");
  CHECK(o.error["error"]["exitCode"] == 1);
}

TEST_CASE("outcome: a cancel skips Finalizing and carries no error", "[launch][outcome]") {
  const auto o = decide_outcome(StopReason::Canceled, FailedProcess{"", "x", 143}, 60, "", nullptr);
  CHECK(o.status == "Canceled");
  CHECK(o.error.is_null());
  CHECK_FALSE(o.through_finalizing);
}

TEST_CASE("outcome: the time limit cancels with the service's reason", "[launch][outcome]") {
  const auto o = decide_outcome(StopReason::TimedOut, std::nullopt, 10, "", nullptr);
  CHECK(o.status == "Canceled");
  CHECK(o.error["error"]["code"] == "UserError");
  CHECK(o.error["error"]["message"] ==
        "The run exceeded max_run_duration_seconds (10 s) and was canceled");
  CHECK_FALSE(o.through_finalizing);
}

TEST_CASE("outcome: a preemption fails the run naming the node", "[launch][outcome]") {
  const auto o = decide_outcome(StopReason::Preempted, FailedProcess{"", "x", 137}, 60, "tvmps_1_p", nullptr);
  CHECK(o.status == "Failed");
  CHECK(o.error["error"]["code"] == "ServiceError");
  CHECK(o.error["error"]["message"] ==
        "AzureMLCompute job failed. JobPreempted: the low-priority node tvmps_1_p running this "
        "job was preempted; resubmit the job");
  CHECK(o.through_finalizing);
}

// ---- The process set and its stop sequences. ----

TEST_CASE("stop sequences are data: cancel is SIGTERM, grace, SIGKILL, and preemption is SIGKILL",
          "[launch][process_set]") {
  const auto cancel = graceful_stop(5000ms);
  REQUIRE(cancel.size() == 2);
  CHECK(cancel[0].signal == SIGTERM);
  CHECK(cancel[0].wait == 5000ms);
  CHECK(cancel[1].signal == SIGKILL);
  const auto preempt = immediate_stop();
  REQUIRE(preempt.size() == 1);
  CHECK(preempt[0].signal == SIGKILL);
}

TEST_CASE("a cancel stops a process that ignores SIGTERM with SIGKILL after the grace period",
          "[launch][process_set]") {
  StepClock clock;
  ScriptedLauncher launcher(clock, {{"main", {std::nullopt, 0, false}}});
  ProcessSet set(launcher, clock, 20ms, 5000ms);
  set.start(member("main"));
  const auto reason = set.wait(
      [&]() -> std::optional<StopRequest> {
        if (clock.elapsed >= 1000ms) return StopRequest{StopReason::Canceled, graceful_stop(5000ms)};
        return std::nullopt;
      },
      nullptr);
  CHECK(reason == StopReason::Canceled);
  REQUIRE(launcher.sent.size() == 2);
  CHECK(launcher.sent[0].sig == SIGTERM);
  CHECK(launcher.sent[0].at == 1000ms);
  CHECK(launcher.sent[1].sig == SIGKILL);
  CHECK(launcher.sent[1].at == 6000ms);
  CHECK(set.members()[0].stopped_by_us);
  CHECK(set.members()[0].code == 128 + SIGKILL);
  CHECK_FALSE(set.first_failure());
}

TEST_CASE("a preemption kills every process at once", "[launch][process_set]") {
  StepClock clock;
  ScriptedLauncher launcher(clock, {{"a", {std::nullopt, 0, true}}, {"b", {std::nullopt, 0, true}}});
  ProcessSet set(launcher, clock, 20ms, 5000ms);
  set.start(member("a"));
  set.start(member("b"));
  const auto reason = set.wait(
      [&]() -> std::optional<StopRequest> {
        if (clock.elapsed >= 200ms) return StopRequest{StopReason::Preempted, immediate_stop()};
        return std::nullopt;
      },
      nullptr);
  CHECK(reason == StopReason::Preempted);
  REQUIRE(launcher.sent.size() == 2);
  for (const auto& s : launcher.sent) {
    CHECK(s.sig == SIGKILL);
    CHECK(s.at == 200ms);
  }
}

TEST_CASE("the first failure stops the others gracefully and is the one reported",
          "[launch][process_set]") {
  StepClock clock;
  ScriptedLauncher launcher(clock, {{"rank0", {std::nullopt, 0, true}},
                                    {"rank1", {300ms, 3, true}},
                                    {"rank2", {900ms, 4, true}}});
  ProcessSet set(launcher, clock, 20ms, 5000ms);
  set.start(member("rank0"));
  set.start(member("rank1"));
  set.start(member("rank2"));
  CHECK(set.wait(nullptr, nullptr) == StopReason::Exited);
  REQUIRE(set.first_failure());
  CHECK(*set.first_failure() == 1);
  CHECK(set.members()[1].code == 3);
  CHECK_FALSE(set.members()[1].stopped_by_us);
  CHECK(set.members()[0].stopped_by_us);
  CHECK(set.members()[2].stopped_by_us);
  REQUIRE_FALSE(launcher.sent.empty());
  CHECK(launcher.sent[0].sig == SIGTERM);
  CHECK(launcher.sent[0].at == 300ms);
}

TEST_CASE("servers are stopped once the workers are done, and that is no failure",
          "[launch][process_set]") {
  StepClock clock;
  ScriptedLauncher launcher(clock, {{"worker0", {500ms, 0, true}}, {"ps0", {std::nullopt, 0, true}}});
  ProcessSet set(launcher, clock, 20ms, 5000ms);
  set.start(member("worker0"));
  set.start(member("ps0", /*server=*/true));
  int ticks = 0;
  CHECK(set.wait(nullptr, [&] { ++ticks; }) == StopReason::Exited);
  CHECK_FALSE(set.first_failure());
  CHECK(ticks > 0);
  REQUIRE(launcher.sent.size() == 1);
  CHECK(launcher.sent[0].who == "ps0");
  CHECK(launcher.sent[0].sig == SIGTERM);
  CHECK(set.members()[0].ended == amlemu::SystemTime{} + 1767225600s + 500ms);  // when seen
}

// ---- The process environment, golden. ----

TEST_CASE("the process environment of a node matches its golden file", "[launch][environment]") {
  RunFacts run;
  run.run_id = "exp_1767225600_0000abcd";
  run.experiment_name = "exp";
  run.experiment_id = "11111111-2222-3333-4444-555555555555";
  run.subscription_id = "sub";
  run.resource_group = "rg";
  run.workspace_name = "ws";
  run.workspace_id = "66666666-7777-8888-9999-000000000000";
  run.database = "/home/ws/workspace.db";
  run.artifacts = "/home/ws/runs/exp_1767225600_0000abcd/artifacts";
  run.workspace_dir = "/home/ws";
  run.cli = "/opt/amlemu/bin/amlemu";
  run.python_package = "/opt/amlemu/share/amlemu/python";
  run.python = "/home/ws/environments/env-0123/bin/python";
  run.virtual_environment = true;
  run.token_expiry = 1767229200;
  run.job_variables = {{"MY_FLAG", "1"}};
  NodeFacts node;
  node.node.target = "gpucluster";
  node.node.index = 1;
  node.node.node_id = "tvmps_ab_d";
  node.node.address = "127.0.1.2";
  node.node.dedicated = true;
  node.node.gpus = {"GPU-1234"};
  node.node.size.name = "STANDARD_NC6";
  node.node.size.gpus = 1;
  node.node.root = "/home/ws/compute/gpucluster/tvmps_ab_d";
  node.working_dir = "/home/ws/compute/gpucluster/tvmps_ab_d/wd";
  node.data_paths = {{"mnist", "/home/ws/runs/r/mounts/workspaceblobstore/mnist"}};
  node.output_paths = {{"model", "/home/ws/compute/gpucluster/tvmps_ab_d/named-outputs/model"}};
  node.run_addresses = {"127.0.1.1", "127.0.1.2"};
  node.cache_variables = {{"KERAS_HOME", "/home/ws/compute/gpucluster/tvmps_ab_d/keras"}};
  const Environment inherited = {{"PATH", "/usr/bin"}, {"HOME", "/root"},
                                 {"AZUREML_RUN_ID", "the caller's"}, {"PYTHONPATH", "/extra"},
                                 {"MLFLOW_TRACKING_URI", "the caller's"},
                                 {"https_proxy", "http://proxy.corp:3128"},
                                 {"KERAS_HOME", "/root/.keras"}};
  const auto env = compose_environment(inherited, run, node);
  const auto golden_file = std::filesystem::path(AMLEMU_TEST_DATA) / "unit/golden/process_environment.json";
  const nlohmann::json got(env);
  if (std::getenv("AMLEMU_UPDATE_GOLDEN")) {
    std::ofstream(golden_file) << got.dump(2) << "\n";
  }
  std::ifstream in(golden_file);
  REQUIRE(in);
  const auto golden = nlohmann::json::parse(in);
  CHECK(got.dump(2) == golden.dump(2));
}

TEST_CASE("a run has no route out unless AMLEMU_RUN_NETWORK=allow, and the job's variables win",
          "[launch][environment]") {
  RunFacts run;
  NodeFacts node;
  node.node.address = "127.0.1.3";
  node.run_addresses = {"127.0.1.3", "127.0.1.4"};
  const Environment inherited = {{"PATH", "/usr/bin"}, {"HTTPS_PROXY", "http://proxy.corp:3128"},
                                 {"no_proxy", ".corp"}};
  auto env = compose_environment(inherited, run, node);
  CHECK(env.at("HTTPS_PROXY") == kNoRouteProxy);
  CHECK(env.at("HTTP_PROXY") == kNoRouteProxy);
  CHECK(env.count("no_proxy") == 0);
  CHECK(env.count("https_proxy") == 0);  // gRPC's name: a distributed run's own traffic
  CHECK_THAT(env.at("NO_PROXY"), Catch::Contains("127.0.0.1") && Catch::Contains("127.0.1.4"));
  CHECK(env.at("HF_HUB_OFFLINE") == "1");

  run.job_variables = {{"HTTPS_PROXY", "http://mine:8080"}};
  env = compose_environment(inherited, run, node);
  CHECK(env.at("HTTPS_PROXY") == "http://mine:8080");

  run.job_variables = {{"AMLEMU_RUN_NETWORK", "allow"}};
  env = compose_environment(inherited, run, node);
  CHECK(env.at("HTTPS_PROXY") == "http://proxy.corp:3128");
  CHECK(env.at("no_proxy") == ".corp");
  CHECK(env.count("HTTP_PROXY") == 0);
  CHECK(env.count("HF_HUB_OFFLINE") == 0);
}

// ---- The service logs. ----

TEST_CASE("Preparing lines in 55_azureml-execution carry the time they happened, not the time "
          "they were written", "[launch][logs][regression]") {
  amlemu::testing::TempHome t;
  StepClock clock;
  ServiceLogs logs(t.work(), clock);
  logs.execution("Environment env-1 built in 3.000 s");  // at 0 s, before the nodes are known
  clock.elapsed = 7000ms;                                  // the run waits in the queue
  logs.open_nodes({"tvmps_x_d"});
  logs.execution("placed");
  const auto text = amlemu::fs::read_file(t.work() / "55_azureml-execution-tvmps_x_d.txt");
  CHECK_THAT(text, Catch::StartsWith("2026-01-01T00:00:00.000000|Environment env-1 built"));
  CHECK_THAT(text, Catch::Contains("2026-01-01T00:00:07.000000|placed"));
}

// ---- Parent runs: children topped up, a failure that stops nothing, the roll-up. ----

TEST_CASE("a parent's children are topped up to the concurrency limit, and one failing stops "
          "none", "[launch][process_set][parent]") {
  StepClock clock;
  ScriptedLauncher launcher(clock, {{"c0", {100ms, 0, true}}, {"c1", {150ms, 1, true}},
                                    {"c2", {300ms, 0, true}}, {"c3", {200ms, 0, true}}});
  ProcessSet set(launcher, clock, 20ms, 5000ms);
  set.set_failure_stops_others(false);
  int next = 0;
  size_t most_live = 0;
  const auto top_up = [&] {
    size_t live = 0;
    for (const auto& m : set.members()) live += m.code ? 0 : 1;
    while (next < 4 && live < 2) {
      set.start(member("c" + std::to_string(next++)));
      ++live;
    }
    most_live = std::max(most_live, live);
    return next < 4;
  };
  CHECK(set.wait(nullptr, nullptr, top_up) == StopReason::Exited);
  CHECK(set.members().size() == 4);
  CHECK(most_live == 2);
  REQUIRE(set.first_failure());
  CHECK(set.members()[*set.first_failure()].name == "c1");
  CHECK(launcher.sent.empty());  // nobody was stopped
  for (const auto& m : set.members()) CHECK_FALSE(m.stopped_by_us);
}

TEST_CASE("a parent run rolls its children up", "[launch][outcome][parent]") {
  auto o = roll_up_children(StopReason::Exited, std::nullopt, 3, 60);
  CHECK(o.status == "Completed");
  CHECK_FALSE(o.through_finalizing);
  o = roll_up_children(StopReason::Exited, FailedChild{"exp_1_x_1", "User program failed with exit code 2"}, 3, 60);
  CHECK(o.status == "Failed");
  CHECK(o.error["error"]["message"] == "Child run exp_1_x_1 failed: User program failed with exit code 2");
  CHECK(o.error["error"]["failedChildRun"] == "exp_1_x_1");
  o = roll_up_children(StopReason::Canceled, FailedChild{"exp_1_x_1", "x"}, 3, 60);
  CHECK(o.status == "Canceled");
  CHECK(o.error.is_null());
  o = roll_up_children(StopReason::TimedOut, std::nullopt, 3, 60);
  CHECK(o.status == "Canceled");
  CHECK(o.error["error"]["message"] == "The run exceeded max_run_duration_seconds (60 s) and was canceled");
}

TEST_CASE("find_program: the first executable regular file of PATH's folders, in order", "[launch][path]") {
  amlemu::testing::TempHome home;
  const auto a = home.root() / "a";
  const auto b = home.root() / "b";
  const auto c = home.root() / "c";
  std::filesystem::create_directories(a / "tool");  // a folder of the name: not a program
  std::filesystem::create_directories(b);
  std::filesystem::create_directories(c);
  std::ofstream(b / "tool") << "#!/bin/sh\n";  // not executable
  std::ofstream(c / "tool") << "#!/bin/sh\n";
  std::filesystem::permissions(c / "tool", std::filesystem::perms::owner_exec, std::filesystem::perm_options::add);
  const std::string path = a.string() + ":" + b.string() + ":" + c.string();
  CHECK(amlemu::find_program("tool", path.c_str()) == c / "tool");
  CHECK(amlemu::find_program("missing", path.c_str()).empty());
  CHECK(amlemu::find_program("tool", nullptr).empty());
  std::ofstream(a / "second") << "#!/bin/sh\n";
  std::filesystem::permissions(a / "second", std::filesystem::perms::owner_exec, std::filesystem::perm_options::add);
  std::ofstream(c / "second") << "#!/bin/sh\n";
  std::filesystem::permissions(c / "second", std::filesystem::perms::owner_exec, std::filesystem::perm_options::add);
  CHECK(amlemu::find_program("second", path.c_str()) == a / "second");
}
