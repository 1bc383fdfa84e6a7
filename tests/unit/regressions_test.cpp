// Regression tests, each named after what broke.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <type_traits>

#include "amlemu/errors.hpp"
#include "amlemu/job_yaml.hpp"
#include "amlemu/run.hpp"
#include "common/clock.hpp"
#include "common/supervisor_signals.hpp"
#include "history/run_store.hpp"
#include "support/temp_home.hpp"

using namespace amlemu;
using amlemu::testing::TempHome;

TEST_CASE("the supervisor's signal handlers set lock-free atomic flags, not volatile bools",
          "[regression][signals]") {
  STATIC_REQUIRE(std::is_same_v<decltype(Interrupts::cancel), std::atomic<bool>>);
  STATIC_REQUIRE(std::is_same_v<decltype(Interrupts::preempt), std::atomic<bool>>);
  STATIC_REQUIRE(std::atomic<bool>::is_always_lock_free);
  static Interrupts flags;
  install_supervisor_handlers(flags);
  ::raise(SIGUSR1);
  CHECK(flags.preempt.load());
  CHECK_FALSE(flags.cancel.load());
  ::raise(SIGTERM);
  CHECK(flags.cancel.load());
  ::signal(SIGTERM, SIG_DFL);
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGUSR1, SIG_DFL);
  ::signal(SIGHUP, SIG_DFL);
}

TEST_CASE("get_status of a live run whose supervisor is gone records Failed, as run.hpp says",
          "[regression][history]") {
  TempHome t;
  const auto ws = Workspace::create("regress", "s", "r");
  history::RunRecord rec;
  rec.run_id = "exp_1_0000dead";
  rec.experiment_name = "exp";
  rec.target = "local";
  rec.definition = nlohmann::json::object();
  history::RunStore store(ws);
  store.insert_run(rec, now_iso());
  // A pid that cannot be running: the supervisor is gone.
  store.set_supervisor(rec.run_id, 0x3fffffff, std::nullopt);
  REQUIRE(store.status(rec.run_id) == "Starting");
  CHECK(Run(ws, rec.run_id).get_status() == RunStatus::Failed);
  const auto details = Run(ws, rec.run_id).get_details();
  CHECK_THAT(details["error"]["error"]["message"].get<std::string>(),
             Catch::StartsWith("The run's supervisor (pid 1073741823) ended without finishing"));
}

TEST_CASE("a v2 command's outputs are the AZURE_ML_OUTPUT_ variables estimator.hpp names",
          "[regression][yaml]") {
  TempHome t;
  const auto file = TempHome::write(
      t.work() / "job.yml",
      "command: python train.py --out ${{outputs.model}} --lr ${{inputs.lr}}\n"
      "environment: azureml:AzureML-sklearn-1.5@latest\n"
      "inputs:\n  lr: 0.1\n"
      "outputs:\n  model:\n    type: uri_folder\n");
  const auto job = load_command_job(file);
  CHECK(job.spec.estimator.command == "python train.py --out \"${AZURE_ML_OUTPUT_model}\" --lr 0.1");
  CHECK(job.spec.estimator.outputs.count("model") == 1);
}
