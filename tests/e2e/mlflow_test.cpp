// End to end: MLflow inside runs. Job files whose scripts call mlflow (nothing names amlemu or a
// tracking URI: the run's environment does) and what the CLI then shows: params in `job show`,
// metrics in `job metrics`, files in `job download`, MLflow models in the registry, nested runs
// as child runs, MLflow's own errors for bad input. Environments are built offline from the uv
// cache (tests/environments/warm.txt: Python 3.11 with mlflow-skinny and friends).
#include <catch2/catch.hpp>

#include <boost/process/search_path.hpp>

#include "amlemu/run.hpp"
#include "amlemu/workspace.hpp"
#include "e2e/cli.hpp"
#include "support/interpreters.hpp"
#include "support/skip.hpp"

using namespace amlemu::testing;
using nlohmann::json;
namespace stdfs = std::filesystem;
using Catch::Contains;

namespace {

const std::string kMlflowJobs = std::string(AMLEMU_TEST_DATA) + "/mlflow";
const char* kFashion = "/usr/share/datasets/fashion-mnist";

bool environments_possible() {
  return !boost::process::search_path("uv").empty() && python_exists("3.11");
}

void set_up(const TempHome& t) {
  t.write_config("mlflow-ws");
  REQUIRE(cli(t, {"workspace", "create"}).code == 0);
}

std::string run_of(const CliResult& r) {
  INFO(r.out.substr(r.out.size() > 6000 ? r.out.size() - 6000 : 0) << r.err);
  REQUIRE(r.code == 0);
  return run_id_of(r);
}

}  // namespace

TEST_CASE("hello-mlflow: log_param, log_metric and log_artifact land in job show, metrics and download", "[e2e][mlflow]") {
  AMLEMU_SKIP_UNLESS(environments_possible(), "uv and a Python 3.11 interpreter", kInstallDeps);
  TempHome t;
  set_up(t);
  const auto id = run_of(cli(t, {"job", "create", "--stream", "--file",
                                 std::string(AMLEMU_SAMPLE_JOBS) + "/hello-mlflow/job.yml"}));
  const auto show = cli(t, {"job", "show", "--name", id}).json();
  CHECK(show["status"] == "Completed");
  CHECK(show["parameters"] == json({{"hello_param", "world"}}));
  // Three values at steps 0..2, the rows Run.log writes: get_metrics() shape.
  CHECK(cli(t, {"job", "metrics", "--name", id}).json()["hello_metric"] == json({0.5, 1.5, 2.5}));
  const auto out = t.work() / "downloaded";
  REQUIRE(cli(t, {"job", "download", "--name", id, "--download-path", out.string()}).code == 0);
  CHECK(amlemu::fs::read_file(out / "helloworld.txt") == "hello world!");
  // MLflow's step and time are kept with each value.
  const auto ws = amlemu::Workspace::from_config(t.work());
  const auto history = amlemu::Run(ws, id).get_metric_history("hello_metric");
  REQUIRE(history.size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(history[static_cast<size_t>(i)].step == i);
    CHECK(history[static_cast<size_t>(i)].time.size() == 24);
  }
}

TEST_CASE("mlflow.sklearn.log_model with registered_model_name registers an mlflow_model version", "[e2e][mlflow]") {
  AMLEMU_SKIP_IN_SANITIZER_SUITE("trains a real model");
  AMLEMU_SKIP_UNLESS(environments_possible(), "uv and a Python 3.11 interpreter", kInstallDeps);
  TempHome t;
  set_up(t);
  const auto id = run_of(cli(t, {"job", "create", "--stream", "--file", kMlflowJobs + "/sklearn/job.yml"}));
  const auto models = cli(t, {"model", "list", "-o", "json"}).json();
  REQUIRE(models.size() == 1);
  CHECK(models[0]["name"] == "iris-classifier");
  CHECK(models[0]["type"] == "mlflow_model");
  CHECK(models[0]["runId"] == id);
  CHECK(models[0]["sourceUri"].get<std::string>().rfind("models:/m-", 0) == 0);
  const auto dl = t.work() / "model";
  REQUIRE(cli(t, {"model", "download", "--name", "iris-classifier", "--download-path", dl.string()}).code == 0);
  CHECK(stdfs::exists(dl / "model" / "MLmodel"));
  CHECK(cli(t, {"job", "show", "--name", id}).json()["parameters"]["C"] == "1.0");
  // log_model logs the run's metrics again to link them to the model: still one value.
  CHECK(cli(t, {"job", "metrics", "--name", id}).json()["accuracy"].is_number());
  // The logged model's folder is among the run's files.
  const auto out = t.work() / "downloaded";
  REQUIRE(cli(t, {"job", "download", "--name", id, "--download-path", out.string()}).code == 0);
  CHECK(stdfs::exists(out / "model" / "MLmodel"));
}

TEST_CASE("a Keras script with mlflow.autolog() logs per-epoch metrics, its parameters and a model folder", "[e2e][mlflow]") {
  AMLEMU_SKIP_IN_SANITIZER_SUITE("trains a real model");
  AMLEMU_SKIP_UNLESS(environments_possible(), "uv and a Python 3.11 interpreter", kInstallDeps);
  AMLEMU_SKIP_UNLESS(std::system("python3.11 -c 'import tensorflow' >/dev/null 2>&1") == 0 ||
                         std::system("python3 -c 'import sys, tensorflow; sys.exit(sys.version_info[:2] != (3, 11))' >/dev/null 2>&1") == 0,
                     "TensorFlow for Python 3.11", kInstallDeps);
  AMLEMU_SKIP_UNLESS(stdfs::exists(std::string(kFashion) + "/train-images-idx3-ubyte.gz"),
                     "the Fashion-MNIST files in /usr/share/datasets/fashion-mnist", kInstallDeps);
  TempHome t;
  set_up(t);
  const auto id = run_of(cli(t, {"job", "create", "--stream", "--file", kMlflowJobs + "/keras/job.yml"}));
  const auto metrics = cli(t, {"job", "metrics", "--name", id}).json();
  INFO(metrics.dump());
  REQUIRE(metrics.contains("accuracy"));
  CHECK(metrics["accuracy"].size() == 3);  // one per epoch
  CHECK(metrics["loss"].size() == 3);
  CHECK(metrics["accuracy"][2].get<double>() > 0.5);  // chance is 0.1
  const auto show = cli(t, {"job", "show", "--name", id}).json();
  CHECK(show["parameters"]["epochs"] == "3");
  CHECK(show["parameters"]["batch_size"] == "64");
  CHECK(show["tags"]["mlflow.autologging"].is_string());
  const auto out = t.work() / "downloaded";
  REQUIRE(cli(t, {"job", "download", "--name", id, "--download-path", out.string()}).code == 0);
  CHECK(stdfs::exists(out / "model" / "MLmodel"));
}

TEST_CASE("MLflow's errors for bad input store nothing, and nested runs become child runs", "[e2e][mlflow]") {
  AMLEMU_SKIP_UNLESS(environments_possible(), "uv and a Python 3.11 interpreter", kInstallDeps);
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--stream", "--file", kMlflowJobs + "/checks/job.yml"});
  const auto id = run_of(r);
  CHECK_THAT(r.out, Contains("refused param changed: Changing param values is not allowed. Param with key='lr' "
                             "was already logged with value='0.1'"));
  CHECK_THAT(r.out, Contains("refused metric not a number: Invalid value \"abc\""));
  CHECK_THAT(r.out, Contains("refused key too long: 'Metric name' exceeds the maximum length of 250"));
  CHECK_THAT(r.out, Contains("refused batch: Invalid value \"x\""));
  CHECK_THAT(r.out, Contains("refused artifact path with ..: Invalid artifact path: '../escape'"));
  CHECK_THAT(r.out, !Contains("accepted "));
  const auto show = cli(t, {"job", "show", "--name", id}).json();
  CHECK(show["parameters"] == json({{"lr", "0.1"}}));
  const auto metrics = cli(t, {"job", "metrics", "--name", id}).json();
  CHECK(metrics == json({{"good", 1.0}, {"outer", 1.0}}));  // no "bad", "half" or "bad2"
  // nested.py: two child runs with their own params, metrics and names, Completed.
  const auto ws = amlemu::Workspace::from_config(t.work());
  const auto children = amlemu::Run(ws, id).get_children();
  REQUIRE(children.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    const auto d = children[i].get_details();
    CHECK(d["status"] == "Completed");
    CHECK(d["tags"]["mlflow.runName"] == "fold-" + std::to_string(i));
    CHECK(d["parameters"]["fold"] == std::to_string(i));
    CHECK(children[i].get_metrics()["score"] == 0.5 + static_cast<double>(i));
  }
}

TEST_CASE("model create --type mlflow_model needs an MLmodel file and changes nothing without one", "[e2e][mlflow]") {
  TempHome t;
  set_up(t);
  TempHome::write(t.work() / "plain" / "model.pkl", "weights");
  const auto bad = cli(t, {"model", "create", "--name", "m", "--path", (t.work() / "plain").string(),
                           "--type", "mlflow_model"});
  CHECK(bad.code == 1);
  CHECK_THAT(bad.err, Contains("mlflow_model") && Contains("MLmodel"));
  CHECK(cli(t, {"model", "list", "-o", "json"}).json().empty());
  TempHome::write(t.work() / "mlflow-model" / "MLmodel", "flavors:\n  python_function: {}\n");
  const auto good = cli(t, {"model", "create", "--name", "m", "--path", (t.work() / "mlflow-model").string(),
                            "--type", "mlflow_model", "-o", "json"});
  REQUIRE(good.code == 0);
  CHECK(good.json()["type"] == "mlflow_model");
  CHECK(good.json()["version"] == 1);
}
