// End to end: sweep jobs from YAML. The hello-sweep sample (random sampling, minimize, 4 trials,
// 2 at a time), a Bandit policy ending a poor trial while it runs, a primary metric no trial
// logs, cancelling a sweep, refused sweep files, and the notebook's sweep of tf-mnist on a
// 4-node cluster with real TensorFlow.
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <boost/process/search_path.hpp>
#include <cmath>
#include <regex>
#include <set>
#include <thread>

#include "amlemu/experiment.hpp"
#include "amlemu/hyperdrive.hpp"
#include "amlemu/run.hpp"
#include "amlemu/workspace.hpp"
#include "e2e/cli.hpp"
#include "storage/database.hpp"
#include "support/interpreters.hpp"
#include "support/skip.hpp"

using namespace amlemu::testing;
using nlohmann::json;
namespace stdfs = std::filesystem;
using Catch::Contains;

namespace {

void set_up(const TempHome& t) {
  t.write_config("sweep-ws");
  REQUIRE(cli(t, {"workspace", "create"}).code == 0);
  stdfs::create_directories(t.work() / "src");
  stdfs::copy_file(std::string(AMLEMU_TEST_DATA) + "/sweep/trial.py", t.work() / "src" / "trial.py");
}

// A sweep file over tests/sweep/trial.py; `extra` is appended as YAML.
std::string sweep_file(const TempHome& t, const std::string& name, const std::string& command,
                       const std::string& search_space, const std::string& extra) {
  TempHome::write(t.work() / name,
                  "type: sweep\n"
                  "experiment_name: sweeps\n"
                  "compute: local\n"
                  "trial:\n"
                  "  command: " + command + "\n"
                  "  code: src\n"
                  "  environment:\n"
                  "    image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04\n"
                  "search_space:\n" + search_space + extra);
  return name;
}

json children_of(const TempHome& t, const std::string& parent) {
  const auto ws = amlemu::Workspace::from_config(t.work());
  json out = json::array();
  for (const auto& c : amlemu::Run(ws, parent).get_children()) out.push_back(c.get_details());
  return out;
}

}  // namespace

TEST_CASE("hello-sweep: random sampling, minimize, 4 trials 2 at a time, the best trial recorded", "[e2e][sweep]") {
  AMLEMU_SKIP_UNLESS(!boost::process::search_path("uv").empty() && python_exists("3.11"),
                     "uv and a Python 3.11 interpreter", kInstallDeps);
  TempHome t;
  t.write_config("sweep-ws");
  REQUIRE(cli(t, {"workspace", "create"}).code == 0);
  const auto r = cli(t, {"job", "create", "--stream", "--file", std::string(AMLEMU_SAMPLE_JOBS) + "/hello-sweep/job.yml"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const auto id = run_id_of(r);
  CHECK_THAT(r.out, Contains("Streaming azureml-logs/hyperdrive.txt") && Contains("Scheduling job, id='" + id + "_3'"));
  const auto show = cli(t, {"job", "show", "--name", id}).json();
  CHECK(show["status"] == "Completed");
  CHECK(show["properties"]["azureml.runsource"] == "hyperdrive");
  CHECK(show["properties"]["primary_metric_config"] == R"({"goal":"minimize","name":"random_metric"})");
  const auto children = children_of(t, id);
  REQUIRE(children.size() == 4);
  std::string best;
  double best_value = 1e9;
  for (size_t i = 0; i < 4; ++i) {
    const auto& c = children[i];
    CHECK(c["runId"] == id + "_" + std::to_string(i));
    CHECK(c["status"] == "Completed");
    const auto point = json::parse(c["tags"]["hyperparameters"].get<std::string>());
    CHECK(json({0.01, 0.02, 0.025, 0.04, 0.05}).dump().find(point["A"].dump()) != std::string::npos);
    CHECK((point["C"].get<double>() >= 0.1 && point["C"].get<double>() < 1.0));
    const double v = cli(t, {"job", "metrics", "--name", c["runId"].get<std::string>()}).json()["random_metric"].get<double>();
    if (v < best_value) {
      best_value = v;
      best = c["runId"];
    }
  }
  CHECK(show["properties"]["best_child_run_id"] == best);
  CHECK(std::stod(show["properties"]["score"].get<std::string>()) == Approx(best_value));
  // max_concurrent_trials: 2: at no moment were three trials running.
  for (const auto& a : children) {
    const auto at = a["startTimeUtc"].get<std::string>();
    int live = 0;
    for (const auto& b : children) {
      live += b["startTimeUtc"].get<std::string>() <= at && at < b["endTimeUtc"].get<std::string>() ? 1 : 0;
    }
    CHECK(live <= 2);
  }

  // The trials, best first (minimize), from `job show` and the C++ API; `job list --parent` in order.
  const auto& sorted = show["children"];
  REQUIRE(sorted.size() == 4);
  CHECK(sorted[0]["run_id"] == best);
  CHECK(sorted[0]["best_primary_metric"].get<double>() == Approx(best_value));
  for (size_t i = 1; i < 4; ++i) {
    CHECK(sorted[i - 1]["best_primary_metric"].get<double>() <= sorted[i]["best_primary_metric"].get<double>());
  }
  CHECK(json::parse(sorted[0]["hyperparameters"].get<std::string>()).contains("A"));
  const auto ws = amlemu::Workspace::from_config(t.work());
  const auto best_run = amlemu::Run(ws, id).get_best_run_by_primary_metric();
  REQUIRE(best_run);
  CHECK(best_run->id() == best);
  CHECK(amlemu::Run(ws, id).get_children_sorted_by_primary_metric() == sorted);
  const auto listed = cli(t, {"job", "list", "--parent", id}).json();
  REQUIRE(listed.size() == 4);
  for (size_t i = 0; i < 4; ++i) CHECK(listed[i]["name"] == id + "_" + std::to_string(i));
  const auto missing = cli(t, {"job", "list", "--parent", "no_such_run"});
  CHECK(missing.code != 0);
  CHECK_THAT(missing.err, Contains("no_such_run"));
}

TEST_CASE("a Bandit policy ends the trial that falls behind, while it runs", "[e2e][sweep]") {
  TempHome t;
  set_up(t);
  const auto file = sweep_file(t, "bandit.yml", "python trial.py --rate ${{search_space.rate}} --steps 40 --pause 0.25",
                               "  rate:\n    type: choice\n    values: [0.9, 0.1]\n",
                               "sampling_algorithm: grid\n"
                               "objective: {goal: maximize, primary_metric: acc}\n"
                               "early_termination: {type: bandit, slack_factor: 0.1, evaluation_interval: 1}\n"
                               "limits: {max_total_trials: 2, max_concurrent_trials: 2}\n");
  const auto r = cli(t, {"job", "create", "--stream", "--file", file});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const auto id = run_id_of(r);
  CHECK_THAT(r.out, Contains("is being canceled by the early termination policy: Bandit policy"));
  // Each trial's end is told when it happens: the terminated one long before the other.
  const auto canceled_at = r.out.find("Run '" + id + "_1' ended Canceled");
  const auto completed_at = r.out.find("Run '" + id + "_0' ended Completed");
  CHECK(canceled_at != std::string::npos);
  CHECK(completed_at != std::string::npos);
  CHECK(canceled_at < completed_at);
  const auto show = cli(t, {"job", "show", "--name", id}).json();
  CHECK(show["status"] == "Completed");
  const auto children = children_of(t, id);
  REQUIRE(children.size() == 2);
  CHECK(children[0]["status"] == "Completed");  // rate 0.9
  CHECK(children[1]["status"] == "Canceled");   // rate 0.1, below 0.9 / 1.1
  CHECK_THAT(children[1]["properties"]["azureml.earlyTermination"].get<std::string>(), Contains("Bandit policy"));
  CHECK(show["properties"]["best_child_run_id"] == id + "_0");
  CHECK(show["properties"]["score"] == "0.9");
}

TEST_CASE("a primary metric no trial logs fails the sweep with the metric named", "[e2e][sweep]") {
  TempHome t;
  set_up(t);
  const auto file = sweep_file(t, "missing.yml", "python trial.py --rate ${{search_space.rate}} --name loss",
                               "  rate:\n    type: uniform\n    min_value: 0\n    max_value: 1\n",
                               "objective: {goal: maximize, primary_metric: accuracy}\n"
                               "limits: {max_total_trials: 6, max_concurrent_trials: 2}\n");
  const auto r = cli(t, {"job", "create", "--stream", "--file", file});
  CHECK(r.code == 1);
  const auto id = run_id_of(r);
  const auto show = cli(t, {"job", "show", "--name", id}).json();
  CHECK(show["status"] == "Failed");
  CHECK_THAT(show["error"].dump(), Contains("The primary metric 'accuracy' was logged by none of the"));
  // It gave up after the first trials finished, not after all six.
  CHECK(children_of(t, id).size() < 6);
}

TEST_CASE("cancelling a sweep cancels its live trials", "[e2e][sweep]") {
  TempHome t;
  set_up(t);
  const auto file = sweep_file(t, "long.yml", "python trial.py --rate ${{search_space.rate}} --steps 200 --pause 0.1",
                               "  rate:\n    type: uniform\n    min_value: 0\n    max_value: 1\n",
                               "objective: {goal: maximize, primary_metric: acc}\n"
                               "limits: {max_total_trials: 3, max_concurrent_trials: 2}\n");
  const auto created = cli(t, {"job", "create", "--file", file, "-o", "json"});
  REQUIRE(created.code == 0);
  const auto id = created.json()["name"].get<std::string>();
  for (int i = 0; i < 200 && children_of(t, id).size() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(cli(t, {"job", "cancel", "--name", id}).code == 0);
  const auto done = wait_terminal(t, id);
  CHECK(done["status"] == "Canceled");
  for (const auto& c : children_of(t, id)) CHECK(c["status"] == "Canceled");
}

TEST_CASE("bad sweep files get one line naming the field, and no run", "[e2e][sweep]") {
  TempHome t;
  set_up(t);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"  lr:\n    type: uniform\n    min_value: 1\n    max_value: 1\n"
       "objective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 2}\n",
       "search_space.lr: uniform expects min_value < max_value"},
      {"  lr:\n    type: uniform\n    min_value: 0\n    max_value: 1\n"
       "sampling_algorithm: grid\nobjective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 2}\n",
       "search_space.lr: grid sampling takes choice only, not uniform"},
      {"  lr:\n    type: choice\n    values: []\n"
       "objective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 2}\n",
       "choice expects non-empty single list"},
      {"  lr:\n    type: choice\n    values: [1]\n"
       "objective: {goal: up, primary_metric: acc}\nlimits: {max_total_trials: 2}\n",
       "objective.goal: The primary metric goal expects either 'maximize' or 'minimize'."},
      {"  lr:\n    type: choice\n    values: [1]\n"
       "objective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 0}\n",
       "limits.max_total_trials: must be an integer from 1 to 1000"},
      {"  lr:\n    type: choice\n    values: [1]\n"
       "objective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 2}\n"
       "early_termination: {type: bandit}\n",
       "Bandit termination policy expects exactly one of slack factor or slack amount to be set."},
      {"  lr:\n    type: choice\n    values: [1]\n"
       "sampling_algorithm: bayesian\nobjective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 2}\n"
       "early_termination: {type: median_stopping}\n",
       "early_termination: bayesian sampling takes no early-termination policy"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i].second);
    const auto file = sweep_file(t, "bad" + std::to_string(i) + ".yml", "python trial.py --rate ${{search_space.lr}}",
                                 cases[i].first, "");
    const auto r = cli(t, {"job", "create", "--file", file});
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains(cases[i].second));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  // A trial command naming a parameter the search space lacks.
  const auto undeclared = sweep_file(t, "undeclared.yml", "python trial.py --rate ${{search_space.nope}}",
                                     "  lr:\n    type: choice\n    values: [1]\n",
                                     "objective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 2}\n");
  CHECK_THAT(cli(t, {"job", "create", "--file", undeclared}).err, Contains("${{search_space.nope}} names no declared"));
  CHECK(cli(t, {"job", "list", "-o", "json"}).json().empty());
}

TEST_CASE("the notebook's sweep of tf-mnist: 8 trials 4 at a time on 4 nodes, Bandit, the best model registered", "[e2e][sweep]") {
  AMLEMU_SKIP_IN_SANITIZER_SUITE("trains a real model");
  AMLEMU_SKIP_UNLESS(std::system("python3 -c 'import tensorflow' >/dev/null 2>&1") == 0,
                     "TensorFlow for python3", kInstallDeps);
  TempHome t;
  t.write_config("sweep-ws");
  REQUIRE(cli(t, {"workspace", "create"}).code == 0);
  REQUIRE(cli(t, {"datastore", "upload", "--src-dir", "/usr/share/datasets/fashion-mnist", "--target-path", "mnist"}).code == 0);
  REQUIRE(cli(t, {"compute", "create", "--name", "gpucluster", "--size", "STANDARD_NC6", "--max-instances", "4"}).code == 0);
  // Three epochs: the policy applies at the second.
  const auto r = cli(t, {"job", "create", "--stream", "--file", std::string(AMLEMU_SAMPLE_JOBS) + "/tf-mnist-sweep/job.yml",
                         "--set", "inputs.epochs=3"});
  INFO(r.out.substr(r.out.size() > 6000 ? r.out.size() - 6000 : 0) << r.err);
  REQUIRE(r.code == 0);
  const auto id = run_id_of(r);
  const auto show = cli(t, {"job", "show", "--name", id}).json();
  CHECK(show["status"] == "Completed");
  const auto children = children_of(t, id);
  REQUIRE(children.size() == 8);
  std::string best;
  double best_value = -1;
  int terminated = 0;
  for (const auto& c : children) {
    const auto name = c["runId"].get<std::string>();
    CHECK((c["status"] == "Completed" || c["status"] == "Canceled"));
    if (c["status"] == "Canceled") {
      ++terminated;
      CHECK_THAT(c["properties"]["azureml.earlyTermination"].get<std::string>(), Contains("Bandit policy: at interval 2"));
    }
    const auto point = json::parse(c["tags"]["hyperparameters"].get<std::string>());
    CHECK(json({32, 64, 128}).dump().find(point["batch_size"].dump()) != std::string::npos);
    CHECK((point["learning_rate"].get<double>() >= std::exp(-6.0) && point["learning_rate"].get<double>() <= std::exp(-1.0)));
    const auto metrics = cli(t, {"job", "metrics", "--name", name}).json();
    if (!metrics.contains("validation_acc")) continue;  // ended before its first epoch
    const auto& v = metrics["validation_acc"];
    double top = -1;
    for (const auto& x : v.is_array() ? v : json::array({v})) top = std::max(top, x.get<double>());
    if (top > best_value) {
      best_value = top;
      best = name;
    }
  }
  CHECK(terminated >= 1);
  CHECK(show["properties"]["best_child_run_id"] == best);
  CHECK(std::stod(show["properties"]["score"].get<std::string>()) == Approx(best_value));
  CHECK(best_value > 0.75);
  // The best trial's model registers.
  const auto model = cli(t, {"model", "create", "--name", "tf-dnn-mnist", "--run", best, "--path", "outputs/model"});
  INFO(model.err);
  REQUIRE(model.code == 0);
  CHECK(model.json()["version"] == 1);
}

TEST_CASE("Bayesian sampling: Optuna's TPE proposes each trial from the ones before, in an environment built once", "[e2e][sweep]") {
  AMLEMU_SKIP_UNLESS(!boost::process::search_path("uv").empty(), "uv (Bayesian sampling's environment)", kInstallDeps);
  TempHome t;
  set_up(t);
  const auto file = sweep_file(t, "bayes.yml", "python trial.py --rate ${{search_space.rate}} --steps 1 --name acc",
                               "  rate:\n    type: uniform\n    min_value: 0\n    max_value: 1\n"
                               "  size:\n    type: choice\n    values: [8, 16]\n",
                               "sampling_algorithm: {type: bayesian, seed: 3}\n"
                               "objective: {goal: maximize, primary_metric: acc}\n"
                               "limits: {max_total_trials: 6, max_concurrent_trials: 2}\n");
  const auto r = cli(t, {"job", "create", "--stream", "--file", file});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const auto id = run_id_of(r);
  CHECK_THAT(r.out, Contains("Bayesian sampling: Optuna's TPE sampler (optuna=="));
  const auto show = cli(t, {"job", "show", "--name", id}).json();
  CHECK(show["status"] == "Completed");
  const auto children = children_of(t, id);
  REQUIRE(children.size() == 6);
  std::set<double> rates;
  for (const auto& c : children) {
    CHECK(c["status"] == "Completed");
    const auto point = json::parse(c["tags"]["hyperparameters"].get<std::string>());
    const double rate = point["rate"].get<double>();
    CHECK((rate >= 0.0 && rate <= 1.0));
    CHECK((point["size"] == 8 || point["size"] == 16));
    rates.insert(rate);
  }
  CHECK(rates.size() == 6);  // a fresh point each time, not the seed's first draw again
  CHECK(show["properties"]["score"] == json(*rates.rbegin()).dump());
  // The sampler's environment: built by the first Bayesian sweep, then taken from the cache.
  const auto again = cli(t, {"job", "create", "--stream", "--file", file});
  REQUIRE(again.code == 0);
  CHECK_THAT(r.out, Contains("was built (azureml-logs/20_image_build_log.txt)"));
  CHECK_THAT(again.out, Contains("was found in the cache"));
  const auto second = cli(t, {"job", "show", "--name", run_id_of(again)}).json();
  CHECK(second["properties"]["amlemu.environmentId"] == show["properties"]["amlemu.environmentId"]);
}

TEST_CASE("Bayesian sampling refuses a policy and expressions it cannot model, with the field named", "[e2e][sweep]") {
  TempHome t;
  set_up(t);
  const auto with_policy = sweep_file(t, "p.yml", "python trial.py --rate ${{search_space.rate}}",
                                      "  rate:\n    type: uniform\n    min_value: 0\n    max_value: 1\n",
                                      "sampling_algorithm: bayesian\n"
                                      "objective: {goal: maximize, primary_metric: acc}\n"
                                      "early_termination: {type: bandit, slack_factor: 0.1}\n"
                                      "limits: {max_total_trials: 4}\n");
  auto r = cli(t, {"job", "create", "--file", with_policy});
  CHECK(r.code != 0);
  CHECK_THAT(r.err, Contains("early_termination: bayesian sampling takes no early-termination policy"));
  const auto lognormal = sweep_file(t, "l.yml", "python trial.py --rate ${{search_space.rate}}",
                                    "  rate:\n    type: loguniform\n    min_value: -6\n    max_value: -1\n",
                                    "sampling_algorithm: bayesian\n"
                                    "objective: {goal: maximize, primary_metric: acc}\n"
                                    "limits: {max_total_trials: 4}\n");
  r = cli(t, {"job", "create", "--file", lognormal});
  CHECK(r.code != 0);
  CHECK_THAT(r.err, Contains("search_space.rate: bayesian sampling takes choice, uniform and quniform only, not loguniform"));
  CHECK(cli(t, {"job", "list"}).json().empty());
}

TEST_CASE("HyperDrive from an estimator spec: HD_ ids, swept values as script arguments, Bandit", "[e2e][sweep]") {
  TempHome t;
  set_up(t);
  const auto spec = nlohmann::ordered_json::parse(R"({
    "experiment_name": "hd",
    "source_directory": "src",
    "entry_script": "trial.py",
    "script_params": {"--rate": 0.5, "--steps": 20, "--pause": 0.25, "--name": "acc"},
    "hyperdrive": {
      "hyperparameter_sampling": {"name": "GRID", "parameter_space": {"--rate": ["choice", [[0.9, 0.1]]]}},
      "policy": {"name": "Bandit", "properties": {"evaluation_interval": 1, "slack_factor": 0.1}},
      "primary_metric_name": "acc",
      "primary_metric_goal": "maximize",
      "max_total_runs": 2,
      "max_concurrent_runs": 2,
      "max_duration_minutes": 10
    }})");
  TempHome::write(t.work() / "hd.json", spec.dump(2));
  const auto r = cli(t, {"job", "create", "--stream", "--file", "hd.json"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const auto id = run_id_of(r);
  CHECK(std::regex_match(id, std::regex("HD_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}")));
  CHECK_THAT(r.out, Contains("Scheduling job, id='" + id + "_1'"));
  const auto show = cli(t, {"job", "show", "--name", id}).json();
  CHECK(show["status"] == "Completed");
  CHECK(show["properties"]["runTemplate"] == "HyperDrive");
  CHECK(show["properties"]["primary_metric_config"] == R"({"goal":"maximize","name":"acc"})");
  CHECK(show["properties"]["best_child_run_id"] == id + "_0");
  const auto children = children_of(t, id);
  REQUIRE(children.size() == 2);
  // The estimator's arguments with the swept one replaced, its value last.
  const auto args = children[0]["runDefinition"]["arguments"];
  CHECK(args == json({"--steps", "20", "--pause", "0.25", "--name", "acc", "--rate", "0.9"}));
  CHECK(children[1]["runDefinition"]["arguments"].back() == "0.1");
  CHECK(children[0]["status"] == "Completed");
  CHECK(children[1]["status"] == "Canceled");

  // A bad section: one line naming the key, nothing recorded.
  auto bad = spec;
  bad["hyperdrive"]["max_total_runs"] = 0;
  TempHome::write(t.work() / "bad.json", bad.dump(2));
  const auto refused = cli(t, {"job", "create", "--file", "bad.json"});
  CHECK(refused.code != 0);
  CHECK_THAT(refused.err, Contains("bad.json: hyperdrive.max_total_runs: must be an integer from 1 to 1000"));
  bad = spec;
  bad["hyperdrive"]["hyperparameter_sampling"]["parameter_space"]["--rate"] = json::array({"choice", json::array({json::array()})});
  TempHome::write(t.work() / "bad.json", bad.dump(2));
  CHECK_THAT(cli(t, {"job", "create", "--file", "bad.json"}).err, Contains("hyperdrive.parameter_space.--rate"));
  CHECK(cli(t, {"job", "list", "--experiment-name", "hd"}).json().size() == 3);  // the parent and its trials
}

TEST_CASE("HyperDriveConfig from C++: submit, wait, the best run and the sorted children", "[e2e][sweep]") {
  TempHome t;
  set_up(t);
  const auto ws = amlemu::Workspace::from_config(t.work());
  amlemu::HyperDriveConfig config;
  config.estimator.source_directory = t.work() / "src";
  config.estimator.entry_script = "trial.py";
  config.estimator.script_params = {{"--name", json("loss")}, {"--steps", json(2)}};
  config.sampling = "random";
  config.seed = 11;
  config.parameter_space = json::parse(R"({"--rate": ["uniform", [0, 1]]})");
  config.primary_metric_name = "loss";
  config.primary_metric_goal = "minimize";
  config.max_total_runs = 3;
  config.max_concurrent_runs = 3;
  const auto run = amlemu::submit_hyperdrive(amlemu::Experiment(ws, "hd-cpp"), config);
  CHECK(run.id().rfind("HD_", 0) == 0);
  run.wait_for_completion();
  CHECK(run.get_status() == "Completed");
  const auto sorted = run.get_children_sorted_by_primary_metric();
  REQUIRE(sorted.size() == 3);
  CHECK(sorted[0]["best_primary_metric"].get<double>() <= sorted[1]["best_primary_metric"].get<double>());
  const auto best = run.get_best_run_by_primary_metric();
  REQUIRE(best);
  CHECK(best->id() == sorted[0]["run_id"]);
  // Bad configurations change nothing.
  config.max_total_runs = 1001;
  CHECK_THROWS_WITH(amlemu::submit_hyperdrive(amlemu::Experiment(ws, "hd-cpp"), config),
                    Contains("max_total_runs: must be an integer from 1 to 1000"));
  CHECK(amlemu::Experiment(ws, "hd-cpp").get_runs().size() == 4);
}

TEST_CASE("a sweep whose supervisor dies leaves no trial running", "[e2e][sweep]") {
  TempHome t;
  set_up(t);
  const auto file = sweep_file(t, "long.yml", "python trial.py --rate ${{search_space.rate}} --steps 600 --pause 0.1",
                               "  rate:\n    type: uniform\n    min_value: 0\n    max_value: 1\n",
                               "objective: {goal: maximize, primary_metric: acc}\n"
                               "limits: {max_total_trials: 4, max_concurrent_trials: 2}\n");
  const auto r = cli(t, {"job", "create", "--file", file, "-o", "json"});
  REQUIRE(r.code == 0);
  const std::string id = r.json()["name"];
  const auto ws = amlemu::Workspace::from_config(t.work());
  // Both trials running, then the parent's supervisor killed outright.
  for (int i = 0; i < 600 && !(amlemu::Run(ws, id).get_children().size() == 2 &&
                                amlemu::Run(ws, id + "_1").get_status() == "Running"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(amlemu::Run(ws, id + "_1").get_status() == "Running");
  amlemu::storage::Database db(ws.state_dir() / "workspace.db");
  auto st = db.prepare("SELECT supervisor_pid FROM runs WHERE run_id = ?");
  st.bind(1, id);
  REQUIRE(st.step());
  REQUIRE(::kill(static_cast<pid_t>(st.integer(0)), SIGKILL) == 0);
  // Each trial sees it within a second or two and is canceled; no third trial starts.
  bool ended = false;
  for (int i = 0; i < 200 && !ended; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ended = amlemu::Run(ws, id + "_0").get_status() == "Canceled" && amlemu::Run(ws, id + "_1").get_status() == "Canceled";
  }
  CHECK(ended);
  CHECK(amlemu::Run(ws, id).get_status() == "Failed");
  CHECK(amlemu::Run(ws, id).get_children().size() == 2);
  CHECK_THAT(amlemu::fs::read_file(ws.state_dir() / "runs" / (id + "_0") / "artifacts" / "azureml-logs" / "70_driver_log.txt"),
             !Contains("done"));
}

TEST_CASE("a sweep's timeout cancels it and its live trials", "[e2e][sweep]") {
  TempHome t;
  set_up(t);
  const auto ws = amlemu::Workspace::from_config(t.work());
  amlemu::Estimator trial;
  trial.source_directory = t.work() / "src";
  trial.command = "python trial.py --rate ${{search_space.rate}} --steps 600 --pause 0.1";
  // The C++ API takes any timeout (files and the SDK raise one under 60 s to 60 s).
  const json sweep = {{"searchSpace", {{"rate", {{"type", "uniform"}, {"min_value", 0}, {"max_value", 1}}}}},
                      {"sampling", {{"type", "random"}}},
                      {"objective", {{"goal", "maximize"}, {"primaryMetric", "acc"}}},
                      {"limits", {{"maxTotalTrials", 4}, {"maxConcurrentTrials", 2}, {"timeoutSeconds", 3},
                                  {"trialTimeoutSeconds", 0}}}};
  const auto run = amlemu::Experiment(ws, "timeout").submit_sweep(trial, sweep);
  run.wait_for_completion(false, false);
  CHECK(run.get_status() == "Canceled");
  const auto children = run.get_children();
  CHECK(children.size() == 2);  // no trial after the timeout
  for (const auto& c : children) CHECK(c.get_status() == "Canceled");
  CHECK_THAT(amlemu::fs::read_file(ws.state_dir() / "runs" / run.id() / "artifacts" / "azureml-logs" / "hyperdrive.txt"),
             Contains("The sweep's timeout was reached; its trials were canceled"));
}
