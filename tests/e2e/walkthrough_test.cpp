// End to end: the walkthrough's real training job on Fashion-MNIST, through the CLI and through
// the C++ sample program.
#include <catch2/catch.hpp>

#include "e2e/cli.hpp"
#include "support/skip.hpp"

using namespace amlemu::testing;
using nlohmann::json;
using Catch::Contains;

namespace {
const char* kData = "/usr/share/datasets/fashion-mnist";
}

TEST_CASE("the walkthrough's TensorFlow job reaches 0.87 test accuracy and registers its model", "[e2e][walkthrough]") {
  AMLEMU_SKIP_IN_SANITIZER_SUITE("trains a real model");
  TempHome t;
  t.write_config("walk-ws");
  REQUIRE(cli(t, {"workspace", "create"}).code == 0);
  REQUIRE(cli(t, {"datastore", "upload", "--src-dir", kData, "--target-path", "mnist"}).code == 0);
  REQUIRE(cli(t, {"compute", "create", "--name", "gpucluster", "--size", "STANDARD_NC6",
                     "--max-instances", "4"}).code == 0);
  const auto r = cli(t, {"job", "create", "--file", std::string(AMLEMU_SAMPLE_JOBS) + "/tf-mnist.json",
                            "--stream", "-o", "json"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const std::string run_id = run_id_of(r);
  const auto metrics = cli(t, {"job", "metrics", "--name", run_id}).json();
  // The Fashion-MNIST benchmark gives 0.8833 for a comparable MLP.
  CHECK(metrics["final_acc"].get<double>() >= 0.87);
  CHECK(metrics["training_acc"].size() == metrics["validation_acc"].size());
  CHECK(metrics["validation_acc"].size() > 1);
  const auto model = cli(t, {"model", "create", "--name", "tf-dnn-mnist", "--run", run_id,
                                "--path", "outputs/model"}).json();
  CHECK(model["id"] == "tf-dnn-mnist:1");
  REQUIRE(cli(t, {"model", "download", "--name", "tf-dnn-mnist", "--version", "1",
                     "--download-path", "dl"}).code == 0);
  CHECK(std::filesystem::exists(t.work() / "dl" / "model" / "saved_model.pb"));
  CHECK(std::filesystem::file_size(t.work() / "dl" / "model" / "variables" / "variables.data-00000-of-00001") > 100000);
  // Versions increase per registration.
  CHECK(cli(t, {"model", "create", "--name", "tf-dnn-mnist", "--run", run_id, "--path",
                "outputs/model"}).json()["id"] == "tf-dnn-mnist:2");

  // The notebook's next step: the model behind an online endpoint, with its scoring script.
  const std::string sample = std::string(AMLEMU_SAMPLE_JOBS) + "/tf-mnist";
  REQUIRE(cli(t, {"online-endpoint", "create", "--name", "tf-mnist-ep"}).code == 0);
  struct Deleted {  // the endpoint goes however the test ends
    const TempHome& t;
    ~Deleted() { cli(t, {"online-endpoint", "delete", "--name", "tf-mnist-ep"}); }
  } deleted{t};
  const auto deployed = cli(t, {"online-deployment", "create", "--file", sample + "/deployment.yml", "--all-traffic"});
  INFO(deployed.out << deployed.err);
  REQUIRE(deployed.code == 0);
  CHECK(deployed.json()["provisioning_state"] == "Succeeded");
  const auto uri = cli(t, {"online-endpoint", "show", "--name", "tf-mnist-ep"}).json()["scoring_uri"].get<std::string>();
  const auto key = cli(t, {"online-endpoint", "get-credentials", "--name", "tf-mnist-ep"}).json()["primaryKey"].get<std::string>();
  const auto check = run_program("/usr/bin/env", {"python3", std::string(AMLEMU_TEST_SCRIPTS) + "/tf_endpoint_check.py", uri, key,
                                             kData, (t.work() / "dl" / "model").string()}, t.work());
  const auto logs = cli(t, {"online-deployment", "get-logs", "--name", "blue", "--endpoint-name", "tf-mnist-ep",
                            "--lines", "150"});
  INFO(check.out << check.err << "\n--- the instance's log\n" << logs.out);
  CHECK(check.code == 0);
  CHECK_THAT(check.out, Contains("scored: 200"));
  CHECK_THAT(check.out, Contains("same predictions"));
  CHECK_THAT(check.out, Contains("GET / -> 200 Healthy"));
  CHECK_THAT(check.out, Contains("GET /swagger.json -> 200"));
  CHECK_THAT(check.out, Contains("wrong key -> 401"));
  CHECK_THAT(check.out, Contains("PUT /score -> 405"));
  CHECK_THAT(check.out, Contains("bad body -> 500"));
}

TEST_CASE("the C++ walkthrough program follows the SDK's steps", "[e2e][walkthrough]") {
  TempHome t;
  const auto config = t.write_config("cpp-ws");
  const auto r = run_program(AMLEMU_WALKTHROUGH,
                             {config.string(), AMLEMU_SAMPLE_JOBS, kData, "downloaded", "1"}, t.work());
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("Uploaded 4 files"));
  CHECK_THAT(r.out, Contains("Creating a new compute target..."));
  CHECK_THAT(r.out, Contains("Streaming azureml-logs/70_driver_log.txt"));
  CHECK_THAT(r.out, Contains("Execution Summary"));
  CHECK_THAT(r.out, Contains("File: outputs/model/saved_model.pb"));
  CHECK_THAT(r.out, Contains("test accuracy: 0."));  // the downloaded model, loaded and scored
  CHECK_THAT(r.out, Contains("Registered tf-dnn-mnist id tf-dnn-mnist:1 version 1"));
  CHECK(std::filesystem::exists(t.work() / "downloaded" / "model" / "saved_model.pb"));
}

TEST_CASE("the CUDA burn-in sample compiles with nvcc and skips clearly without a GPU", "[e2e][cuda]") {
  TempHome t;
  t.write_config("cuda-ws");
  REQUIRE(cli(t, {"workspace", "create"}).code == 0);
  REQUIRE(cli(t, {"compute", "create", "--name", "gpucluster", "--size", "STANDARD_NC6",
                  "--max-instances", "1"}).code == 0);
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         std::string(AMLEMU_SAMPLE_JOBS) + "/cuda-burnin.json"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  // Without nvcc the job only reports that it cannot compile; CI never has the CUDA toolkit.
  AMLEMU_SKIP_UNLESS(r.out.find("SKIPPED: nvcc") == std::string::npos,
                     "the CUDA toolkit (nvcc) on the node", nullptr);
  const auto gpus = cli(t, {"gpu", "list"}).json()["gpus"];
  if (gpus.empty()) {
    CHECK_THAT(r.out, Contains("compiled") && Contains("SKIPPED: no GPU on this node (amlemu virtual GPU mode, 1 virtual GPU(s))"));
  } else {
    CHECK_THAT(r.out, Contains("check: passed") && Contains("GFLOP/s"));
    CHECK(cli(t, {"job", "metrics", "--name", run_id_of(r)}).json().contains("gflops"));
  }
}
