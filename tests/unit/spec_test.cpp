// Room: spec. The estimator-style JSON spec, strict.
#include <catch2/catch.hpp>

#include "amlemu/errors.hpp"
#include "amlemu/estimator.hpp"

using namespace amlemu;
using ojson = nlohmann::ordered_json;

namespace {
JobSpec parse(const std::string& text) {
  return parse_job_spec(ojson::parse(text), "/base", "job.json");
}
const char* kMinimal = R"({"experiment_name": "e", "entry_script": "train.py"})";
}  // namespace

TEST_CASE("the issue's example spec parses with the SDK's meanings", "[spec]") {
  const auto spec = parse(R"({
    "experiment_name": "tf-mnist", "estimator": "TensorFlow", "source_directory": "tf-mnist",
    "entry_script": "tf_mnist.py",
    "script_params": {"--data-folder": {"datastore": "workspaceblobstore", "mode": "mount"},
                      "--batch-size": 50, "--first-layer-neurons": 300, "--learning-rate": 0.01},
    "compute_target": "gpucluster", "use_gpu": true, "framework_version": "2.16",
    "pip_packages": [], "environment_variables": {"EXAMPLE": "1"}, "node_count": 1,
    "process_count_per_node": 1, "distributed_training": {"type": "mpi"},
    "max_run_duration_seconds": 3600})");
  const auto& e = spec.estimator;
  CHECK(spec.experiment_name == "tf-mnist");
  CHECK(e.framework == "TensorFlow");
  CHECK(e.source_directory == "/base/tf-mnist");
  CHECK(e.compute_target == "gpucluster");
  CHECK(e.use_gpu);
  CHECK(e.environment_variables.at("EXAMPLE") == "1");
  CHECK(e.distributed_training->type == "mpi");
  CHECK(e.max_run_duration_seconds == 3600);
  REQUIRE(e.script_params.size() == 4);
  // Argument order is the file's order.
  CHECK(e.script_params[0].first == "--data-folder");
  CHECK(e.script_params[3].first == "--learning-rate");
  const auto& ref = std::get<DataReference>(e.script_params[0].second);
  CHECK(ref.to_string() == "$AZUREML_DATAREFERENCE_workspaceblobstore");
  CHECK(ref.mode == "mount");
  CHECK(std::get<nlohmann::json>(e.script_params[1].second) == 50);
}

TEST_CASE("defaults follow the SDK", "[spec]") {
  const auto e = parse(kMinimal).estimator;
  CHECK(e.source_directory == "/base");
  CHECK(e.compute_target == "local");
  CHECK(e.framework == "Python");
  CHECK(e.node_count == 1);
  CHECK_FALSE(e.distributed_training);
}

TEST_CASE("a data reference to a path gets a random 32-hex name", "[spec]") {
  const auto e = parse(R"({"experiment_name": "e", "entry_script": "t.py", "script_params":
      {"--data": {"datastore": "workspaceblobstore", "path_on_datastore": "./mnist/",
                  "mode": "download", "path_on_compute": "data"}}})").estimator;
  const auto& ref = std::get<DataReference>(e.script_params[0].second);
  CHECK(ref.path_on_datastore == "mnist");
  CHECK(ref.mode == "download");
  CHECK(ref.path_on_compute == "data");
  CHECK(ref.data_reference_name.size() == 32);
}

TEST_CASE("bad specs name the key at fault", "[spec]") {
  using Catch::Contains;
  CHECK_THROWS_WITH(parse(R"({"experiment_name": "e", "entry_script": "t.py", "nodes": 2})"),
                    Contains("job.json: nodes: unknown key"));
  CHECK_THROWS_WITH(parse(R"({"entry_script": "t.py"})"), Contains("experiment_name: is required"));
  CHECK_THROWS_WITH(parse(R"({"experiment_name": "e"})"), Contains("entry_script: is required"));
  CHECK_THROWS_WITH(parse(R"({"experiment_name": "e", "entry_script": "t.py", "node_count": "2"})"),
                    Contains("node_count: must be an integer, got string"));
  CHECK_THROWS_WITH(parse(R"({"experiment_name": "e", "entry_script": "t.py", "node_count": -1})"),
                    Contains("node_count: must be an integer >= 1, got -1"));
  CHECK_THROWS_WITH(parse(R"({"experiment_name": "e", "entry_script": "t.py", "use_gpu": "yes"})"),
                    Contains("use_gpu: must be true or false"));
  CHECK_THROWS_WITH(parse(R"({"experiment_name": "e", "entry_script": "t.py",
                              "script_params": {"--d": {"datastore": "x", "mode": "copy"}}})"),
                    Contains("script_params.--d.mode: must be 'mount' or 'download'"));
  CHECK_THROWS_WITH(parse(R"({"experiment_name": "e", "entry_script": "t.py",
                              "script_params": {"--d": {"datastore": "x", "path_on_datastore": "../up"}}})"),
                    Contains("script_params.--d.path_on_datastore"));
  CHECK_THROWS_WITH(parse(R"({"experiment_name": "e", "entry_script": "t.py",
                              "script_params": {"--d": [1, 2]}})"),
                    Contains("script_params.--d: must be a scalar or a data reference"));
  CHECK_THROWS_WITH(parse(R"({"experiment_name": "e", "entry_script": "t.py",
                              "distributed_training": {"type": "tensorflow", "worker_count": 0}})"),
                    Contains("distributed_training.worker_count: must be an integer >= 1, got 0"));
  CHECK_THROWS_WITH(parse(R"({"experiment_name": "e", "entry_script": "t.py",
                              "distributed_training": {"type": "horovod"}})"),
                    Contains("distributed_training.type: must be 'mpi', 'tensorflow' or 'pytorch'"));
  CHECK_THROWS_WITH(parse(R"({"experiment_name": "e", "entry_script": "../t.py"})"),
                    Contains("entry_script: '../t.py' is invalid"));
  CHECK_THROWS_WITH(parse(R"([1])"), Contains("must be a JSON object"));
}

TEST_CASE("a missing or malformed spec file is named", "[spec]") {
  CHECK_THROWS_WITH(load_job_spec("/nonexistent/job.json"),
                    Catch::Contains("spec file not found: /nonexistent/job.json"));
}
