// End to end: the distributed TensorFlow samples (multi-worker, parameter server, MPI) through the
// CLI on Fashion-MNIST, with few epochs: Completed, metrics with the right names and shapes, a
// model in outputs, registered with increasing versions, accuracy well above chance.
#include <catch2/catch.hpp>
#include <fstream>

#include "e2e/cli.hpp"
#include "support/skip.hpp"

using namespace amlemu::testing;
using nlohmann::ordered_json;
using Catch::Contains;

namespace {

const char* kData = "/usr/share/datasets/fashion-mnist";

bool tensorflow_installed() {
  return std::system("python3 -c 'import tensorflow, mpi4py' >/dev/null 2>&1") == 0;
}

// The sample's spec with its source folder made absolute and two epochs.
std::string quick_spec(const TempHome& t, const std::string& sample) {
  std::ifstream in(std::string(AMLEMU_SAMPLE_JOBS) + "/" + sample + ".json");
  auto doc = ordered_json::parse(in);
  doc["source_directory"] = std::string(AMLEMU_SAMPLE_JOBS) + "/" + doc["source_directory"].get<std::string>();
  doc["script_params"]["--epochs"] = 2;
  const auto file = t.work() / (sample + ".json");
  TempHome::write(file, doc.dump(2));
  return file.string();
}

void check_sample(const std::string& sample) {
  AMLEMU_SKIP_UNLESS(tensorflow_installed(), "TensorFlow and mpi4py for python3", kInstallDeps);
  TempHome t;
  t.write_config("samples-ws");
  REQUIRE(cli(t, {"workspace", "create"}).code == 0);
  REQUIRE(cli(t, {"datastore", "upload", "--src-dir", kData, "--target-path", "mnist"}).code == 0);
  REQUIRE(cli(t, {"compute", "create", "--name", "cpu-cluster", "--size", "STANDARD_D2_V2",
                  "--max-instances", "2"}).code == 0);
  const auto r = cli(t, {"job", "create", "--stream", "--file", quick_spec(t, sample)});
  INFO(r.out.substr(r.out.size() > 4000 ? r.out.size() - 4000 : 0) << r.err);
  REQUIRE(r.code == 0);
  const auto run_id = run_id_of(r);
  const auto metrics = cli(t, {"job", "metrics", "--name", run_id}).json();
  REQUIRE(metrics.contains("final_acc"));
  CHECK(metrics["final_acc"].get<double>() > 0.6);  // chance is 0.1
  CHECK(metrics["training_acc"].size() == 2);       // once per epoch
  CHECK(metrics["validation_acc"].size() == 2);
  const auto show = cli(t, {"job", "show", "--name", run_id}).json();
  CHECK(show["status"] == "Completed");
  CHECK(cli(t, {"model", "create", "--name", sample, "--run", run_id, "--path", "outputs/model"})
            .json()["version"] == 1);
  CHECK(cli(t, {"model", "create", "--name", sample, "--run", run_id, "--path", "outputs/model"})
            .json()["version"] == 2);
}

}  // namespace

TEST_CASE("sample tf-mnist-multiworker trains on 2 workers", "[e2e][samples]") {
  AMLEMU_SKIP_IN_SANITIZER_SUITE("trains a real model");
  check_sample("tf-mnist-multiworker");
}

TEST_CASE("sample tf-mnist-ps trains with parameter servers and ends cleanly", "[e2e][samples]") {
  AMLEMU_SKIP_IN_SANITIZER_SUITE("trains a real model");
  check_sample("tf-mnist-ps");
}

TEST_CASE("sample tf-mnist-mpi trains on 2 nodes x 1 process", "[e2e][samples]") {
  AMLEMU_SKIP_IN_SANITIZER_SUITE("trains a real model");
  check_sample("tf-mnist-mpi");
}

TEST_CASE("sample tf-mnist-mpi trains on 1 node x 2 processes", "[e2e][samples]") {
  AMLEMU_SKIP_IN_SANITIZER_SUITE("trains a real model");
  check_sample("tf-mnist-mpi-1x2");
}
