// Room: spec. CLI v2 command-job YAML: the samples, each default, and a corpus of bad files
// (tests/yaml/bad/*.yml), each with the message it must give on its first line.
#include <catch2/catch.hpp>

#include "amlemu/errors.hpp"
#include "amlemu/hyperdrive.hpp"
#include "amlemu/job_yaml.hpp"
#include "common/fs.hpp"
#include "support/temp_home.hpp"
#include "spec/yaml_reader.hpp"

using namespace amlemu;
using amlemu::testing::TempHome;
namespace stdfs = std::filesystem;

namespace {
CommandJob parse(const TempHome& t, const std::string& text, const std::vector<std::string>& set = {}) {
  const auto file = TempHome::write(t.work() / "job.yml", text);
  return load_command_job(file, set);
}
const std::string kEnv = "environment: azureml:AzureML-sklearn-1.5@latest\n";
}  // namespace

TEST_CASE("every YAML job under sample_jobs parses", "[yaml]") {
  int count = 0;
  for (const auto& f : fs::list_files(AMLEMU_SAMPLE_JOBS)) {
    if (f.size() < 8 || f.substr(f.size() - 8) != "/job.yml") continue;
    INFO(f);
    CHECK_NOTHROW(load_command_job(stdfs::path(AMLEMU_SAMPLE_JOBS) / f));
    ++count;
  }
  CHECK(count >= 3);
}

TEST_CASE("every estimator spec under sample_jobs parses, HyperDrive sections included", "[spec]") {
  int count = 0, hyperdrive = 0;
  for (const auto& f : fs::list_files(AMLEMU_SAMPLE_JOBS)) {
    if (f.find('/') != std::string::npos || f.size() < 5 || f.substr(f.size() - 5) != ".json" || f == "config.json") continue;
    INFO(f);
    amlemu::JobSpec spec;
    CHECK_NOTHROW(spec = load_job_spec(stdfs::path(AMLEMU_SAMPLE_JOBS) / f));
    if (!spec.hyperdrive.is_null()) {
      ++hyperdrive;
      const auto config = amlemu::parse_hyperdrive(spec.hyperdrive, spec.estimator);
      CHECK(amlemu::hyperdrive_definition(config)["arguments"] == true);
    }
    ++count;
  }
  CHECK(count >= 5);
  CHECK(hyperdrive >= 1);
}

TEST_CASE("defaults: local compute, one instance, the folder name as experiment", "[yaml]") {
  TempHome t;
  const auto cwd = stdfs::current_path();
  stdfs::current_path(t.work());
  const auto job = parse(t, "command: echo hi\n" + kEnv);
  stdfs::current_path(cwd);
  const auto& e = job.spec.estimator;
  CHECK(e.compute_target == "local");
  CHECK(e.node_count == 1);
  CHECK_FALSE(e.distributed_training);
  CHECK(e.command == "echo hi");
  CHECK(job.spec.experiment_name == "work");  // TempHome's working folder is named "work"
  CHECK(e.max_run_duration_seconds == 2592000);
  CHECK(job.environment == "azureml:AzureML-sklearn-1.5@latest");
}

TEST_CASE("distribution defaults follow the v2 schema", "[yaml]") {
  TempHome t;
  auto tf = parse(t, "command: x\n" + kEnv + "resources: {instance_count: 3}\ndistribution: {type: tensorflow}\n");
  CHECK(tf.spec.estimator.distributed_training->worker_count == 3);  // instance_count
  CHECK(tf.spec.estimator.distributed_training->parameter_server_count == 0);
  auto pt = parse(t, "command: x\n" + kEnv + "distribution: {type: pytorch}\n");
  CHECK(pt.spec.estimator.distributed_training->process_count_per_node == 1);
  auto mpi = parse(t, "command: x\n" + kEnv + "distribution: {type: mpi, process_count_per_instance: 4}\n");
  CHECK(mpi.spec.estimator.distributed_training->process_count_per_node == 4);
}

TEST_CASE("inputs and outputs become shell-safe values and per-node paths", "[yaml]") {
  TempHome t;
  TempHome::write(t.work() / "local-data" / "a.txt", "a");
  const auto job = parse(t,
      "command: python t.py --lr ${{inputs.lr}} --name ${{ inputs.name }} --data ${{inputs.data}}"
      " --local ${{inputs.local}} --out ${{outputs.model}}\n" + kEnv +
      "inputs:\n"
      "  lr: 0.01\n"
      "  name: amlemu\n"
      "  data: {type: uri_folder, path: 'azureml://datastores/workspaceblobstore/paths/mnist/', mode: download}\n"
      "  local: {path: local-data}\n"
      "outputs:\n"
      "  model:\n");
  const auto& e = job.spec.estimator;
  CHECK(e.command ==
        "python t.py --lr 0.01 --name amlemu --data \"${AZURE_ML_INPUT_data}\" --local "
        "\"${AZURE_ML_INPUT_local}\" --out \"${AZURE_ML_OUTPUT_model}\"");
  REQUIRE(e.script_params.size() == 1);
  const auto& ref = std::get<DataReference>(e.script_params[0].second);
  CHECK(ref.data_reference_name == "data");
  CHECK(ref.path_on_datastore == "mnist");
  CHECK(ref.mode == "download");
  REQUIRE(job.local_inputs.size() == 1);
  CHECK(job.local_inputs[0].path == t.work() / "local-data");
  CHECK(e.outputs.at("model") == "rw_mount");
}

TEST_CASE("input modes (direct, eval_ for mltable) and output places and data assets", "[yaml][data]") {
  TempHome t;
  const auto job = parse(t,
      "command: python t.py ${{inputs.uri}} ${{inputs.table}} ${{outputs.model}} ${{outputs.scores}}\n" + kEnv +
      "inputs:\n"
      "  uri: {type: uri_folder, path: 'azureml://datastores/workspaceblobstore/paths/mnist', mode: direct}\n"
      "  table: {type: mltable, path: 'azureml://datastores/workspaceblobstore/paths/iris', mode: eval_download}\n"
      "outputs:\n"
      "  model: {type: uri_folder, mode: upload, path: 'azureml://datastores/workspacefilestore/paths/models/m1', name: my-model, version: '7'}\n"
      "  scores: {type: uri_file, path: 'azureml://datastores/workspaceblobstore/paths/eval/scores.csv', name: scores}\n");
  const auto& e = job.spec.estimator;
  REQUIRE(e.script_params.size() == 2);
  CHECK(std::get<DataReference>(e.script_params[0].second).mode == "direct");
  CHECK(std::get<DataReference>(e.script_params[1].second).mode == "download");
  CHECK(e.outputs.at("model") == "upload");
  CHECK(e.outputs.at("scores") == "rw_mount");
  const auto& model = e.output_settings.at("model");
  CHECK(model.datastore == "workspacefilestore");
  CHECK(model.path_on_datastore == "models/m1");
  CHECK(model.asset_name == "my-model");
  CHECK(model.asset_version == "7");
  const auto& scores = e.output_settings.at("scores");
  CHECK(scores.type == "uri_file");
  CHECK(scores.path_on_datastore == "eval/scores.csv");
  CHECK(scores.asset_version.empty());
  CHECK(e.warnings.empty());
  // The settings travel with the run definition and back.
  CHECK(output_settings_from_json(output_settings_json(e)).at("model").asset_version == "7");
}

TEST_CASE("ignored keys become warnings and --set overrides values", "[yaml]") {
  TempHome t;
  const auto job = parse(t, "command: echo ${{inputs.n}}\n" + kEnv +
                                "inputs: {n: 1}\nresources: {instance_count: 1, shm_size: 8g}\n"
                                "queue_settings: {job_tier: spot}\n",
                         {"inputs.n=5", "resources.instance_count=2", "distribution.type=pytorch",
                          "limits.timeout=60", "name=my-run"});
  const auto& e = job.spec.estimator;
  CHECK(e.command == "echo 5");
  CHECK(e.node_count == 2);
  CHECK(e.max_run_duration_seconds == 60);
  CHECK(e.run_name == "my-run");
  REQUIRE(e.warnings.size() == 2);
  CHECK(e.warnings[0] == "queue_settings is accepted but ignored by amlemu");
  CHECK(e.warnings[1] == "resources.shm_size is accepted but ignored by amlemu");
  CHECK_THROWS_WITH(parse(t, "command: x\n" + kEnv, {"nokey"}), Catch::Contains("must be key.path=value"));
}

TEST_CASE("the corpus of bad job files, each with its message", "[yaml]") {
  const stdfs::path dir = stdfs::path(AMLEMU_TEST_SCRIPTS).parent_path() / "yaml" / "bad";
  int count = 0;
  for (const auto& f : fs::list_files(dir)) {
    const auto text = fs::read_file(dir / f);
    const std::string marker = "# expect: ";
    REQUIRE(text.rfind(marker, 0) == 0);
    const auto expected = text.substr(marker.size(), text.find('\n') - marker.size());
    INFO(f);
    CHECK_THROWS_AS(load_command_job(dir / f), UserErrorException);
    CHECK_THROWS_WITH(load_command_job(dir / f), Catch::Contains(expected));
    ++count;
  }
  CHECK(count >= 15);
}

TEST_CASE("environments: registered versions, curated names, inline images", "[yaml][environment]") {
  TempHome t;
  const auto ws = Workspace::create("yws", "s", "r");
  TempHome::write(t.work() / "conda.yml", "dependencies:\n  - python=3.11\n  - pip\n  - pip:\n    - numpy\n");
  TempHome::write(t.work() / "env.yml", "name: my-env\nimage: some/image:1\nconda_file: conda.yml\n");
  const auto v1 = create_environment(ws, t.work() / "env.yml");
  CHECK(v1["version"] == "1");
  CHECK(v1["definition"]["pipPackages"] == nlohmann::json::array({"numpy"}));
  CHECK(create_environment(ws, t.work() / "env.yml")["version"] == "2");
  CHECK(list_registered_environments(ws).size() == 2);

  auto by_ref = parse(t, "command: x\nenvironment: azureml:my-env:1\n");
  auto e = resolve_command_job(ws, by_ref);
  CHECK(e.pip_packages == std::vector<std::string>{"numpy"});
  CHECK_FALSE(e.user_managed_dependencies);
  CHECK_NOTHROW(resolve_command_job(ws, parse(t, "command: x\nenvironment: azureml:my-env@latest\n")));
  const auto curated = resolve_command_job(ws, parse(t, "command: x\nenvironment: azureml:AzureML-tensorflow-2.16-cuda12@latest\n"));
  CHECK(curated.user_managed_dependencies);
  CHECK_THAT(curated.environment_note, Catch::Contains("Curated environment AzureML-tensorflow-2.16-cuda12"));
  const auto image = resolve_command_job(ws, parse(t, "command: x\nenvironment: {image: mcr.microsoft.com/x:1}\n"));
  CHECK(image.user_managed_dependencies);
  REQUIRE(image.warnings.size() == 1);
  CHECK_THAT(image.warnings[0], Catch::Contains("no container engine"));
  CHECK_THROWS_WITH(resolve_command_job(ws, parse(t, "command: x\nenvironment: azureml:missing:3\n")),
                    Catch::Contains("'azureml:missing:3' is not registered") &&
                        Catch::Contains("amlemu environment create --file"));
  TempHome::write(t.work() / "dup.yml", "name: my-env\nversion: 2\nimage: x\n");
  CHECK_THROWS_WITH(create_environment(ws, t.work() / "dup.yml"), Catch::Contains("my-env:2 already exists"));
}

TEST_CASE("a command's ${{...}} expressions are replaced, spaces around the name optional",
          "[unit][job_yaml]") {
  const std::map<std::string, std::string> r = {{"inputs.x", "X"}, {"outputs.y", "Y"}};
  std::string unknown = "stale";
  CHECK(amlemu::spec::substitute_expressions("a ${{inputs.x}} b ${{ outputs.y }}c", r, &unknown) ==
        "a X b Yc");
  CHECK(unknown.empty());
  CHECK(amlemu::spec::substitute_expressions("${{\tinputs.x\n}}${{inputs.x}}", r, &unknown) == "XX");
  // Not expressions: a '}' inside, an unclosed one, shell braces.
  CHECK(amlemu::spec::substitute_expressions("${{ a } b }} ${HOME} ${{inputs.x", r, &unknown) ==
        "${{ a } b }} ${HOME} ${{inputs.x");
  CHECK(amlemu::spec::substitute_expressions("echo ${{inputs.z}}", r, &unknown).empty());
  CHECK(unknown == "inputs.z");
}
