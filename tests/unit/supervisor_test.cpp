// Room: launch. The supervisor's pure logic: argument substitution and error objects.
#include <catch2/catch.hpp>

#include <regex>

#include "launch/supervisor.hpp"

using namespace amlemu::launch;

TEST_CASE("data reference placeholders are replaced by their paths", "[launch]") {
  const auto out = substitute_data_references(
      {"--data-folder", "$AZUREML_DATAREFERENCE_workspaceblobstore", "--x",
       "prefix=$AZUREML_DATAREFERENCE_abc/file", "plain"},
      {{"workspaceblobstore", "/mnt/ds"}, {"abc", "/mnt/abc"}});
  CHECK(out == std::vector<std::string>{"--data-folder", "/mnt/ds", "--x", "prefix=/mnt/abc/file",
                                        "plain"});
}

TEST_CASE("a Python traceback becomes the service's user error", "[launch]") {
  const std::string log =
      "epoch 1\nTraceback (most recent call last):\n  File \"train.py\", line 3, in <module>\n"
      "    raise ValueError(\"bad learning rate\")\nValueError: bad learning rate\n";
  const auto e = user_program_error(log, 1);
  CHECK(e["error"]["code"] == "UserError");
  CHECK(e["error"]["message"] == "User program failed with ValueError: bad learning rate");
  CHECK(e["error"]["exitCode"] == 1);
}

TEST_CASE("a chained traceback reports the last exception", "[launch]") {
  const std::string log =
      "Traceback (most recent call last):\n  File \"a\"\nKeyError: 'x'\n\nDuring handling of the "
      "above exception, another exception occurred:\n\nTraceback (most recent call last):\n"
      "  File \"b\"\nRuntimeError: wrapped\n";
  CHECK(user_program_error(log, 1)["error"]["message"] ==
        "User program failed with RuntimeError: wrapped");
}

TEST_CASE("exits without a traceback report the code or the signal", "[launch]") {
  CHECK(user_program_error("done\n", 3)["error"]["message"] ==
        "User program failed with exit code 3");
  CHECK(user_program_error("", 137)["error"]["message"] ==
        "User program was killed by signal 9 (Killed)");
}

// ---- The supervisor's state machine, with a fake clock and fake processes. ----

#include <signal.h>

#include <functional>

#include "amlemu/run.hpp"
#include "common/fs.hpp"
#include "history/run_store.hpp"
#include "submission/snapshot.hpp"
#include "support/temp_home.hpp"
#include "workspace/layout.hpp"
#include "workspace/workspace_impl.hpp"

namespace {

using namespace std::chrono_literals;
using amlemu::Clock;

class FakeClock : public Clock {
 public:
  TimePoint now() override { return now_; }
  void sleep_for(std::chrono::milliseconds d) override {
    now_ += d;
    if (on_sleep) on_sleep(elapsed());
  }
  std::chrono::milliseconds elapsed() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now_ - TimePoint{});
  }
  // Run history and the cluster store see the fake time too: 2026-01-01T00:00:00Z + elapsed.
  amlemu::SystemTime wall() override {
    return amlemu::SystemTime{} + std::chrono::seconds(1767225600) + elapsed();
  }
  std::function<void(std::chrono::milliseconds)> on_sleep;

 private:
  TimePoint now_{};
};

struct Signal {
  int sig;
  std::chrono::milliseconds at;
};

class FakeProcess : public Process {
 public:
  FakeProcess(FakeClock& clock, std::optional<std::chrono::milliseconds> exit_at, int code,
              bool exits_on_term, std::vector<Signal>& signals)
      : clock_(clock), exit_at_(exit_at), code_(code), exits_on_term_(exits_on_term),
        signals_(signals) {}
  int pid() const override { return 4242; }
  std::optional<int> poll() override {
    if (killed_) return killed_;
    if (exit_at_ && clock_.elapsed() >= *exit_at_) return code_;
    return std::nullopt;
  }
  void signal_group(int sig) override {
    signals_.push_back({sig, clock_.elapsed()});
    if (sig == SIGKILL || (sig == SIGTERM && exits_on_term_)) killed_ = 128 + sig;
  }

 private:
  FakeClock& clock_;
  std::optional<std::chrono::milliseconds> exit_at_;
  int code_;
  bool exits_on_term_;
  std::optional<int> killed_;
  std::vector<Signal>& signals_;
};

class FakeLauncher : public Launcher {
 public:
  FakeLauncher(FakeClock& clock, std::optional<std::chrono::milliseconds> exit_at, int code,
               bool exits_on_term = true)
      : clock_(clock), exit_at_(exit_at), code_(code), exits_on_term_(exits_on_term) {}
  std::unique_ptr<Process> start(const ProcessSpec& spec) override {
    started.push_back(spec);
    files_at_start = amlemu::fs::list_files(spec.cwd);
    return std::make_unique<FakeProcess>(clock_, exit_at_, code_, exits_on_term_, signals);
  }
  std::vector<ProcessSpec> started;
  std::vector<std::string> files_at_start;
  std::vector<Signal> signals;

 private:
  FakeClock& clock_;
  std::optional<std::chrono::milliseconds> exit_at_;
  int code_;
  bool exits_on_term_;
};

struct RunFixture {
  amlemu::testing::TempHome t;
  amlemu::Workspace ws = amlemu::Workspace::create("sup", "s", "r");
  std::string run_id = "exp_1_0000abcd";

  explicit RunFixture(int max_seconds = 3600, const std::string& target = "local") {
    amlemu::testing::TempHome::write(t.work() / "src" / "train.py", "print('hi')\n");
    const auto snapshot = amlemu::submission::store_snapshot(
        t.work() / "src", amlemu::layout::snapshots(ws.state_dir()), {});
    amlemu::history::RunRecord rec;
    rec.run_id = run_id;
    rec.experiment_name = "exp";
    rec.target = target;
    rec.definition = {{"script", "train.py"},
                      {"arguments", {"--lr", "0.1"}},
                      {"snapshotId", snapshot},
                      {"maxRunDurationSeconds", max_seconds},
                      {"environment", {{"python", {{"userManagedDependencies", true}}}}}};
    amlemu::history::RunStore(ws).insert_run(rec, amlemu::now_iso());
  }
  std::vector<std::string> statuses() {
    std::vector<std::string> out;
    for (const auto& s : amlemu::Run(ws, run_id).get_status_history()) out.push_back(s.status);
    return out;
  }
  nlohmann::json details() { return amlemu::Run(ws, run_id).get_details(); }
};

const StopPolicy kPolicy{5000ms, 20ms, 1000ms};

}  // namespace

TEST_CASE("a script that exits 0 walks every status to Completed", "[launch][supervisor]") {
  RunFixture f;
  FakeClock clock;
  FakeLauncher launcher(clock, 200ms, 0);
  const Interrupts cancel;
  CHECK(supervise(f.ws, f.run_id, launcher, clock, cancel, kPolicy) == 0);
  CHECK(f.statuses() == std::vector<std::string>{"NotStarted", "Starting", "Preparing", "Queued",
                                                 "Running", "Finalizing", "Completed"});
  REQUIRE(launcher.started.size() == 1);
  const auto& spec = launcher.started[0];
  CHECK(spec.args == std::vector<std::string>{"train.py", "--lr", "0.1"});
  CHECK(spec.env.at("AZUREML_RUN_ID") == f.run_id);
  CHECK(spec.env.at("AZUREML_ARM_PROJECT_NAME") == "exp");
  CHECK(launcher.files_at_start == std::vector<std::string>{"train.py"});  // the snapshot
  CHECK(launcher.signals.size() == 1);  // only the clean-up SIGKILL of leftovers
  CHECK(launcher.signals[0].sig == SIGKILL);
  CHECK_FALSE(std::filesystem::exists(spec.cwd));  // the node's working area is gone
}

TEST_CASE("a non-zero exit is Failed with its exit code", "[launch][supervisor]") {
  RunFixture f;
  FakeClock clock;
  FakeLauncher launcher(clock, 50ms, 3);
  const Interrupts cancel;
  supervise(f.ws, f.run_id, launcher, clock, cancel, kPolicy);
  const auto d = f.details();
  CHECK(d["status"] == "Failed");
  CHECK(d["error"]["error"]["message"] == "User program failed with exit code 3");
  CHECK(d["error"]["error"]["exitCode"] == 3);
}

TEST_CASE("the time limit stops the script: SIGTERM, grace period, SIGKILL, Canceled",
          "[launch][supervisor]") {
  RunFixture f(10);
  FakeClock clock;
  FakeLauncher launcher(clock, std::nullopt, 0, /*exits_on_term=*/false);
  const Interrupts cancel;
  supervise(f.ws, f.run_id, launcher, clock, cancel, kPolicy);
  REQUIRE(launcher.signals.size() >= 2);
  CHECK(launcher.signals[0].sig == SIGTERM);
  CHECK(launcher.signals[0].at >= 10000ms);
  CHECK(launcher.signals[0].at < 10100ms);
  CHECK(launcher.signals[1].sig == SIGKILL);
  CHECK(launcher.signals[1].at - launcher.signals[0].at >= 5000ms);
  CHECK(launcher.signals[1].at - launcher.signals[0].at < 5100ms);
  const auto s = f.statuses();
  CHECK(s[s.size() - 2] == "CancelRequested");
  CHECK(s.back() == "Canceled");
  CHECK(f.details()["error"]["error"]["message"] ==
        "The run exceeded max_run_duration_seconds (10 s) and was canceled");
}

TEST_CASE("a cancel request ends the script within the grace period", "[launch][supervisor]") {
  RunFixture f;
  FakeClock clock;
  FakeLauncher launcher(clock, std::nullopt, 0, /*exits_on_term=*/true);
  Interrupts cancel;
  clock.on_sleep = [&](std::chrono::milliseconds t) {
    if (t >= 3000ms && !cancel.cancel) {
      amlemu::history::RunStore(f.ws)
          .set_status(f.run_id, "CancelRequested", amlemu::now_iso());
      cancel.cancel = true;
    }
  };
  supervise(f.ws, f.run_id, launcher, clock, cancel, kPolicy);
  REQUIRE_FALSE(launcher.signals.empty());
  CHECK(launcher.signals[0].sig == SIGTERM);
  CHECK(launcher.signals[0].at >= 3000ms);
  CHECK(std::none_of(launcher.signals.begin(), launcher.signals.end() - 1,
                     [](const Signal& s) { return s.sig == SIGKILL; }));
  const auto s = f.statuses();
  CHECK(s[s.size() - 2] == "CancelRequested");
  CHECK(s.back() == "Canceled");
}

TEST_CASE("a cancel before launch never starts the script", "[launch][supervisor]") {
  RunFixture f;
  FakeClock clock;
  FakeLauncher launcher(clock, 10ms, 0);
  Interrupts cancel;
  cancel.cancel = true;
  supervise(f.ws, f.run_id, launcher, clock, cancel, kPolicy);
  CHECK(launcher.started.empty());
  CHECK(f.statuses().back() == "Canceled");
}


// ---- A whole cluster run on the fake clock: queued, scale-up, running, preempted. ----

#include "amlemu/compute.hpp"
#include "compute/cluster_store.hpp"

TEST_CASE("a cluster run on a fake clock: Queued, scale-up, Running, preemption",
          "[launch][supervisor][compute]") {
  const auto real_start = std::chrono::steady_clock::now();
  struct ClusterFixture : RunFixture {
    ClusterFixture() : RunFixture(3600, "lowpri") {}
  };
  ::setenv("AMLEMU_NODE_PROVISIONING", "2", 1);  // two seconds of scale-up, on the fake clock
  ClusterFixture f;
  RunFixture* fp = &f;
  amlemu::ComputeTarget::create(
      f.ws, "lowpri",
      amlemu::AmlCompute::provisioning_configuration("STANDARD_D2_V2", "lowpriority", 0, 1));
  FakeClock clock;
  FakeLauncher launcher(clock, std::nullopt, 0);
  Interrupts interrupts;
  std::vector<std::string> seen_states;
  clock.on_sleep = [&](std::chrono::milliseconds t) {
    const auto nodes = amlemu::compute::ClusterStore(fp->ws).nodes("lowpri", clock.wall_ms());
    const std::string state = nodes.empty() ? "none" : nodes.front().state;
    if (seen_states.empty() || seen_states.back() != state) seen_states.push_back(state);
    // Ten seconds after the node came up, the low-priority VM is taken away (what
    // `compute preempt` does, without signalling this test process).
    if (!launcher.started.empty() && t >= 12000ms && !interrupts.preempt) {
      amlemu::compute::ClusterStore(fp->ws).preempt("lowpri", "0", clock.wall_ms());
      interrupts.preempt = true;
    }
  };
  CHECK(supervise(f.ws, f.run_id, launcher, clock, interrupts, kPolicy) == 0);
  ::unsetenv("AMLEMU_NODE_PROVISIONING");

  CHECK(f.statuses() == std::vector<std::string>{"NotStarted", "Starting", "Preparing", "Queued",
                                                 "Running", "Finalizing", "Failed"});
  // The node was provisioned (scale-up) while the run waited, then ran it, then was preempted.
  CHECK(seen_states.front() == "preparing");
  CHECK(std::find(seen_states.begin(), seen_states.end(), "running") != seen_states.end());
  CHECK(seen_states.back() == "preempted");
  // Times come from the fake clock: Running once the two seconds of provisioning had passed.
  std::string queued, running;
  for (const auto& s : amlemu::Run(f.ws, f.run_id).get_status_history()) {
    if (s.status == "Queued") queued = s.time;
    if (s.status == "Running") running = s.time;
  }
  CHECK(queued == "2026-01-01T00:00:00.000Z");
  CHECK(running >= "2026-01-01T00:00:02.000Z");
  CHECK(running < "2026-01-01T00:00:03.000Z");
  REQUIRE(launcher.started.size() == 1);
  CHECK(launcher.started[0].env.at("AZ_BATCH_NODE_IS_DEDICATED") == "false");
  // A preempted VM just goes away: SIGKILL at once, no SIGTERM.
  REQUIRE_FALSE(launcher.signals.empty());
  CHECK(launcher.signals[0].sig == SIGKILL);
  CHECK(launcher.signals[0].at >= 12000ms);
  CHECK_THAT(f.details()["error"]["error"]["message"].get<std::string>(),
             Catch::Contains("JobPreempted"));
  const auto real = std::chrono::steady_clock::now() - real_start;
  INFO("real time " << std::chrono::duration_cast<std::chrono::milliseconds>(real).count() << " ms");
  SUCCEED();
}

TEST_CASE("a cancel that lands while early statuses are held back still ends the run Canceled",
          "[launch][supervisor][regression]") {
  RunFixture f;
  FakeClock clock;
  FakeLauncher launcher(clock, 10ms, 0);
  Interrupts cancel;
  // What `job cancel` does: CancelRequested in run history, then SIGTERM to the supervisor.
  amlemu::history::RunStore(f.ws).set_status(f.run_id, "CancelRequested", amlemu::now_iso());
  cancel.cancel = true;
  supervise(f.ws, f.run_id, launcher, clock, cancel, kPolicy);
  CHECK(launcher.started.empty());
  CHECK(f.statuses() ==
        std::vector<std::string>{"NotStarted", "Starting", "CancelRequested", "Canceled"});
}

TEST_CASE("a run already over when its supervisor starts is left as it is",
          "[launch][supervisor][regression]") {
  RunFixture f;
  FakeClock clock;
  FakeLauncher launcher(clock, 10ms, 0);
  const Interrupts none;
  amlemu::history::RunStore(f.ws).set_status(f.run_id, "Canceled", amlemu::now_iso());
  supervise(f.ws, f.run_id, launcher, clock, none, kPolicy);
  CHECK(launcher.started.empty());
  CHECK(f.statuses() == std::vector<std::string>{"NotStarted", "Starting", "Canceled"});
}
