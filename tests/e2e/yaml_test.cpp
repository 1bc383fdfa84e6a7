// End to end: CLI v2 command-job YAML files through `job create --file --stream`.
#include <catch2/catch.hpp>

#include "e2e/cli.hpp"
#include "support/skip.hpp"
#include "support/interpreters.hpp"

using namespace amlemu::testing;
using nlohmann::json;
namespace stdfs = std::filesystem;
using Catch::Contains;

namespace {
void set_up(const TempHome& t) {
  t.write_config("yaml-ws");
  REQUIRE(cli(t, {"workspace", "create"}).code == 0);
}
}  // namespace

TEST_CASE("a hello-world command job runs from its YAML", "[e2e][yaml]") {
  // Its curated environment, AzureML-sklearn-1.5, is Python 3.10 with scikit-learn 1.5.
  AMLEMU_SKIP_UNLESS(python_exists("3.10"), "a Python 3.10 interpreter (pyenv or PATH)", nullptr);
  TempHome t;
  set_up(t);
  const auto r = cli(t, {"job", "create", "--stream", "--file", std::string(AMLEMU_SAMPLE_JOBS) + "/hello-v2/job.yml"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("hello from amlemu"));
  const auto show = cli(t, {"job", "show", "--name", run_id_of(r)}).json();
  CHECK(show["experimentName"] == "hello-v2");
  CHECK(show["status"] == "Completed");
}

TEST_CASE("a job with data inputs, a literal, a local folder and an output", "[e2e][yaml]") {
  TempHome t;
  set_up(t);
  TempHome::write(t.work() / "data" / "numbers.txt", "1 2 3\n");
  REQUIRE(cli(t, {"datastore", "upload", "--src-dir", "data", "--target-path", "nums"}).code == 0);
  TempHome::write(t.work() / "extra" / "extra.txt", "4");
  TempHome::write(t.work() / "io.yml",
                  "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n"
                  "type: command\n"
                  "name: io-job-1\n"
                  "code: " + std::string(AMLEMU_TEST_SCRIPTS) + "\n"
                  "command: >-\n"
                  "  python io_job.py --data ${{inputs.data}} --local ${{inputs.extra}}\n"
                  "  --factor ${{inputs.factor}} --out ${{outputs.result}}\n"
                  "inputs:\n"
                  "  data:\n"
                  "    type: uri_folder\n"
                  "    path: azureml://datastores/workspaceblobstore/paths/nums\n"
                  "  extra:\n"
                  "    type: uri_folder\n"
                  "    path: extra\n"
                  "    mode: download\n"
                  "  factor: 10\n"
                  "outputs:\n"
                  "  result:\n"
                  "    type: uri_folder\n"
                  "environment: azureml:AzureML-sklearn-1.5@latest\n"
                  "tags: {purpose: test}\n"
                  "experiment_name: io\n");
  const auto r = cli(t, {"job", "create", "--stream", "--file", "io.yml"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(run_id_of(r) == "io-job-1");  // the job's name is its run id
  CHECK_THAT(r.out, Contains("sum 100 written to result"));
  REQUIRE(cli(t, {"job", "download", "--name", "io-job-1", "--download-path", "dl"}).code == 0);
  CHECK(amlemu::fs::read_file(t.work() / "dl" / "named-outputs" / "result" / "sum.txt") == "100");
  const auto ws = t.home() / "workspaces" / "sub-1" / "rg-1" / "yaml-ws";
  CHECK(amlemu::fs::read_file(ws / "datastores" / "workspaceblobstore" / "azureml" / "io-job-1" / "result" / "sum.txt") == "100");
  CHECK(cli(t, {"job", "show", "--name", "io-job-1"}).json()["tags"]["purpose"] == "test");
  // The same name again is refused before anything runs.
  const auto again = cli(t, {"job", "create", "--file", "io.yml"});
  CHECK(again.code == 1);
  CHECK_THAT(again.err, Contains("name: a job named 'io-job-1' already exists"));
  // --set changes a value for one submission.
  const auto set = cli(t, {"job", "create", "--stream", "--file", "io.yml", "--set", "name=io-job-2",
                           "--set", "inputs.factor=2"});
  INFO(set.out << set.err);
  CHECK(set.code == 0);
  CHECK_THAT(set.out, Contains("sum 20 written to result"));
}

TEST_CASE("a data asset made with 'amlemu data create' is a job input by name", "[e2e][yaml]") {
  TempHome t;
  set_up(t);
  TempHome::write(t.work() / "data" / "numbers.txt", "1 2 3\n");
  REQUIRE(cli(t, {"datastore", "upload", "--src-dir", "data", "--target-path", "nums"}).code == 0);
  const auto made = cli(t, {"data", "create", "--name", "numbers", "--path",
                            "azureml://datastores/workspaceblobstore/paths/nums"});
  INFO(made.out << made.err);
  REQUIRE(made.code == 0);
  CHECK(made.json()["version"] == "1");
  CHECK(made.json()["type"] == "uri_folder");
  CHECK(cli(t, {"data", "show", "--name", "numbers"}).json()["path"] ==
        "azureml://datastores/workspaceblobstore/paths/nums");
  CHECK(cli(t, {"data", "list"}).json().size() == 1);
  // Not a URI, a datastore that does not exist, a path leaving the datastore: refused, with the
  // reason, and nothing recorded.
  for (const auto& [path, why] : std::vector<std::pair<std::string, std::string>>{
           {"nums", "'nums' does not exist"},
           {"azureml://datastores/nosuch/paths/x", "nosuch"},
           {"azureml://datastores/workspaceblobstore/paths/../x", ".."}}) {
    const auto bad = cli(t, {"data", "create", "--name", "numbers", "--path", path});
    INFO(path << ": " << bad.err);
    CHECK(bad.code == 1);
    CHECK_THAT(bad.err, Contains(why));
  }
  CHECK(cli(t, {"data", "list"}).json().size() == 1);

  const std::string job = "type: command\n"
                          "command: cat ${{inputs.data}}/numbers.txt\n"
                          "inputs:\n"
                          "  data:\n"
                          "    type: uri_folder\n"
                          "    path: azureml:numbers@latest\n"
                          "environment: azureml:AzureML-sklearn-1.5@latest\n";
  TempHome::write(t.work() / "asset.yml", job);
  const auto r = cli(t, {"job", "create", "--stream", "--file", "asset.yml"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("1 2 3"));
  // An asset that does not exist fails at submit, naming the input; no run is made.
  const auto runs_before = cli(t, {"job", "list"}).json().size();
  TempHome::write(t.work() / "missing.yml", std::string(job).replace(job.find("numbers@latest"), 14, "nothing:3"));
  const auto missing = cli(t, {"job", "create", "--file", "missing.yml"});
  CHECK(missing.code == 1);
  CHECK_THAT(missing.err, Contains("inputs.data.path: data asset nothing:3 does not exist"));
  CHECK(cli(t, {"job", "list"}).json().size() == runs_before);
}

TEST_CASE("environment_variables reach the command", "[e2e][yaml]") {
  TempHome t;
  set_up(t);
  TempHome::write(t.work() / "env.yml",
                  "command: echo \"$GREETING from $AZUREML_RUN_ID, level $LEVEL\"\n"
                  "environment: azureml:AzureML-sklearn-1.5@latest\n"
                  "environment_variables:\n  GREETING: hi\n  LEVEL: 3\n"
                  "resources: {instance_count: 1, shm_size: 8g}\n");
  const auto r = cli(t, {"job", "create", "--stream", "--file", "env.yml"});
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("hi from " + run_id_of(r) + ", level 3"));
  CHECK_THAT(r.err, Contains("Warning: resources.shm_size is accepted but ignored by amlemu"));
  CHECK_THAT(r.out, Contains("\nWarnings:\nresources.shm_size is accepted but ignored by amlemu\n"));
}

TEST_CASE("a type: tensorflow job with two workers prints each TF_CONFIG", "[e2e][yaml][distributed]") {
  TempHome t;
  set_up(t);
  REQUIRE(cli(t, {"compute", "create", "--name", "cpu-cluster", "--size", "STANDARD_D2_V2",
                  "--max-instances", "2"}).code == 0);
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         std::string(AMLEMU_SAMPLE_JOBS) + "/tf-distributed-v2/job.yml"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.err, Contains("is not pulled (no container engine)"));
  const auto show = cli(t, {"job", "show", "--name", run_id_of(r)}).json();
  for (int i = 0; i < 2; ++i) {
    const auto log = amlemu::fs::read_file(
        show["logFiles"]["azureml-logs/70_driver_log_worker_" + std::to_string(i) + ".txt"].get<std::string>());
    // The script prints the TF_CONFIG it got with sorted keys.
    CHECK_THAT(log, Contains("\"task\": {\"index\": " + std::to_string(i) + ", \"type\": \"worker\"}"));
    CHECK_THAT(log, Contains("\"ps\": []"));
  }
}

TEST_CASE("a missing compute says how to create it", "[e2e][yaml]") {
  TempHome t;
  set_up(t);
  TempHome::write(t.work() / "c.yml", "command: echo\nenvironment: azureml:AzureML-sklearn-1.5@latest\ncompute: azureml:gpucluster\n");
  const auto r = cli(t, {"job", "create", "--file", "c.yml"});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("amlemu compute create --name gpucluster"));
  CHECK(cli(t, {"job", "list"}).json().empty());
  // Opt-in: the cluster is created on first use from a default size.
  ::setenv("AMLEMU_AUTO_CREATE_COMPUTE", "1", 1);
  const auto created = cli(t, {"job", "create", "--stream", "--file", "c.yml"});
  ::unsetenv("AMLEMU_AUTO_CREATE_COMPUTE");
  CHECK(created.code == 0);
  CHECK(cli(t, {"compute", "show", "--name", "gpucluster"}).json()["vmSize"] == "Standard_DS3_v2");
}

TEST_CASE("a web input is read from the offline mirror, and a missing one names the command that adds it", "[e2e][yaml][mirror]") {
  TempHome t;
  set_up(t);
  const std::string url = "https://azuremlexamples.blob.core.windows.net/datasets/iris.csv";
  TempHome::write(t.work() / "iris.csv", "sepal_length,species\n5.1,setosa\n");
  const std::string job = "type: command\n"
                          "command: cat ${{inputs.iris}} ${{inputs.copy}}\n"
                          "inputs:\n"
                          "  iris:\n"
                          "    type: uri_file\n"
                          "    path: " + url + "\n"
                          "  copy:\n"
                          "    type: uri_file\n"
                          "    path: " + url + "\n"
                          "    mode: download\n"
                          "environment: azureml:AzureML-sklearn-1.5@latest\n";
  TempHome::write(t.work() / "iris.yml", job);

  // Not mirrored: refused before anything is recorded, in one line that says how to fix it.
  const auto missing = cli(t, {"job", "create", "--file", "iris.yml"});
  INFO(missing.err);
  CHECK(missing.code == 1);
  CHECK_THAT(missing.err, Contains("inputs.iris.path: '" + url + "' is not in the offline mirror"));
  CHECK_THAT(missing.err, Contains("amlemu mirror add '" + url + "' --file"));
  CHECK(std::count(missing.err.begin(), missing.err.end(), '\n') == 1);
  CHECK(cli(t, {"job", "list"}).json().empty());

  const auto added = cli(t, {"mirror", "add", url, "--file", "iris.csv"});
  INFO(added.err);
  REQUIRE(added.code == 0);
  CHECK(added.json()["kind"] == "file");
  CHECK(cli(t, {"mirror", "list"}).json().size() == 1);

  const auto r = cli(t, {"job", "create", "--stream", "--file", "iris.yml"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  // Mounted and downloaded, the script reads the same bytes, under the URL's file name.
  const std::string content = "sepal_length,species\n5.1,setosa\n";
  CHECK_THAT(r.out, Contains(content + content));

  // A copy changed under the mirror fails the run, naming the URL.
  const auto sha1 = added.json()["sha1"].get<std::string>();
  const auto copy = t.home() / "mirror" / "objects" / sha1 / "iris.csv";
  REQUIRE(stdfs::exists(copy));
  stdfs::permissions(copy, stdfs::perms::owner_write, stdfs::perm_options::add);
  TempHome::write(copy, "tampered\n");
  const auto tampered = cli(t, {"job", "create", "--stream", "--file", "iris.yml"});
  CHECK(tampered.code != 0);
  const auto show = cli(t, {"job", "show", "--name", run_id_of(tampered)}).json();
  CHECK(show["status"] == "Failed");
  CHECK_THAT(show["error"]["error"]["message"].get<std::string>(), Contains(url));
  CHECK_THAT(show["error"]["error"]["message"].get<std::string>(), Contains("changed"));

  // Credentials in a URL are refused, never stored.
  TempHome::write(t.work() / "secret.yml",
                  std::string(job).replace(job.find("https://"), 8, "https://me:pw@"));
  const auto secret = cli(t, {"job", "create", "--file", "secret.yml"});
  CHECK(secret.code == 1);
  CHECK_THAT(secret.err, Contains("credentials"));
  const auto refused = cli(t, {"mirror", "add", "https://me:pw@example.com/a.csv", "--file", "iris.csv"});
  CHECK(refused.code == 1);
  CHECK(cli(t, {"mirror", "list"}).json().size() == 1);
}

TEST_CASE("a wasbs:// input of the workspace's own storage account reads its datastore", "[e2e][yaml][mirror]") {
  TempHome t;
  set_up(t);
  TempHome::write(t.work() / "data" / "numbers.txt", "4 5 6\n");
  REQUIRE(cli(t, {"datastore", "upload", "--src-dir", "data", "--target-path", "nums"}).code == 0);
  const auto ds = cli(t, {"datastore", "show", "--name", "workspaceblobstore"}).json();
  const auto url = "wasbs://" + ds["containerName"].get<std::string>() + "@" +
                   ds["accountName"].get<std::string>() + ".blob.core.windows.net/nums";
  TempHome::write(t.work() / "wasbs.yml", "type: command\n"
                                          "command: cat ${{inputs.data}}/numbers.txt\n"
                                          "inputs:\n"
                                          "  data:\n"
                                          "    type: uri_folder\n"
                                          "    path: " + url + "\n"
                                          "environment: azureml:AzureML-sklearn-1.5@latest\n");
  const auto r = cli(t, {"job", "create", "--stream", "--file", "wasbs.yml"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("4 5 6"));
  // Nothing was needed from the mirror: the URL is the workspace's own.
  CHECK(cli(t, {"mirror", "list"}).json().empty());
}

TEST_CASE("a data asset from a data.yml with a local folder, used by @latest, archived and restored", "[e2e][yaml][data]") {
  TempHome t;
  set_up(t);
  TempHome::write(t.work() / "v1" / "numbers.txt", "one\n");
  TempHome::write(t.work() / "v2" / "numbers.txt", "two\n");
  TempHome::write(t.work() / "data.yml", "$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json\n"
                                         "name: numbers\n"
                                         "type: uri_folder\n"
                                         "path: v1\n"
                                         "description: the first numbers\n"
                                         "stage: Development\n"
                                         "tags: {source: e2e}\n");
  const auto v1 = cli(t, {"data", "create", "--file", "data.yml"});
  INFO(v1.err);
  REQUIRE(v1.code == 0);
  CHECK(v1.json()["version"] == "1");
  CHECK(v1.json()["tags"]["source"] == "e2e");
  CHECK_THAT(v1.err, Contains("warning: stage is accepted but ignored by amlemu"));
  CHECK_THAT(v1.json()["path"].get<std::string>(),
             Contains("azureml://datastores/workspaceblobstore/paths/LocalUpload/"));
  const auto v2 = cli(t, {"data", "create", "--name", "numbers", "--path", "v2"});
  INFO(v2.err);
  REQUIRE(v2.code == 0);
  CHECK(v2.json()["version"] == "2");

  TempHome::write(t.work() / "job.yml", "type: command\n"
                                        "command: cat ${{inputs.data}}/numbers.txt\n"
                                        "inputs:\n"
                                        "  data:\n"
                                        "    type: uri_folder\n"
                                        "    path: azureml:numbers@latest\n"
                                        "environment: azureml:AzureML-sklearn-1.5@latest\n");
  const auto latest = cli(t, {"job", "create", "--stream", "--file", "job.yml"});
  INFO(latest.out << latest.err);
  REQUIRE(latest.code == 0);
  CHECK_THAT(latest.out, Contains("two"));

  // Archived, version 2 is skipped by @latest and hidden from the list, but still there.
  REQUIRE(cli(t, {"data", "archive", "--name", "numbers", "--version", "2"}).code == 0);
  CHECK(cli(t, {"data", "list"}).json().size() == 1);
  CHECK(cli(t, {"data", "list", "--include-archived"}).json().size() == 2);
  CHECK(cli(t, {"data", "show", "--name", "numbers", "--version", "2"}).json()["archived"] == true);
  const auto after = cli(t, {"job", "create", "--stream", "--file", "job.yml"});
  REQUIRE(after.code == 0);
  CHECK_THAT(after.out, Contains("one"));

  // Every version archived: @latest names nothing, and the job is refused at submit.
  REQUIRE(cli(t, {"data", "archive", "--name", "numbers"}).code == 0);
  const auto none = cli(t, {"job", "create", "--file", "job.yml"});
  CHECK(none.code == 1);
  CHECK_THAT(none.err, Contains("inputs.data.path: data asset numbers does not exist"));
  REQUIRE(cli(t, {"data", "restore", "--name", "numbers", "--version", "2"}).code == 0);
  CHECK(cli(t, {"data", "show", "--name", "numbers"}).json()["version"] == "2");

  // Bad files: the line and key named, nothing recorded.
  TempHome::write(t.work() / "bad.yml", "name: numbers\ntype: table\npath: v1\n");
  const auto bad = cli(t, {"data", "create", "--file", "bad.yml"});
  CHECK(bad.code == 1);
  CHECK_THAT(bad.err, Contains("bad.yml:2: type: 'table' is not uri_file, uri_folder or mltable"));
  TempHome::write(t.work() / "gone.yml", "name: numbers\npath: ./nowhere\n");
  CHECK_THAT(cli(t, {"data", "create", "--file", "gone.yml"}).err, Contains("gone.yml:2: path:"));
  CHECK(cli(t, {"data", "list", "--include-archived"}).json().size() == 2);
}

TEST_CASE("a job's named output is a second job's input through its azureml://jobs/ URI", "[e2e][yaml][data]") {
  TempHome t;
  set_up(t);
  TempHome::write(t.work() / "first.yml", "type: command\n"
                                          "name: producer-1\n"
                                          "command: echo 42 > ${{outputs.result}}/answer.txt\n"
                                          "outputs:\n"
                                          "  result:\n"
                                          "    type: uri_folder\n"
                                          "environment: azureml:AzureML-sklearn-1.5@latest\n");
  const auto first = cli(t, {"job", "create", "--stream", "--file", "first.yml"});
  INFO(first.out << first.err);
  REQUIRE(first.code == 0);
  const auto second_yml = [](const std::string& uri) {
    return "type: command\n"
           "command: cat ${{inputs.answer}}\n"
           "inputs:\n"
           "  answer:\n"
           "    type: uri_file\n"
           "    path: " + uri + "\n"
           "environment: azureml:AzureML-sklearn-1.5@latest\n";
  };
  TempHome::write(t.work() / "second.yml", second_yml("azureml://jobs/producer-1/outputs/result/paths/answer.txt"));
  const auto second = cli(t, {"job", "create", "--stream", "--file", "second.yml"});
  INFO(second.out << second.err);
  REQUIRE(second.code == 0);
  CHECK_THAT(second.out, Contains("42"));
  // An output that is not there, and run history, are refused at submit in one line.
  const auto runs = cli(t, {"job", "list"}).json().size();
  TempHome::write(t.work() / "missing.yml", second_yml("azureml://jobs/producer-1/outputs/model/paths/x"));
  const auto missing = cli(t, {"job", "create", "--file", "missing.yml"});
  CHECK(missing.code == 1);
  CHECK_THAT(missing.err, Contains("inputs.answer.path: 'azureml://jobs/producer-1/outputs/model/paths/x': job producer-1 has no output 'model'"));
  TempHome::write(t.work() / "history.yml", second_yml("azureml://jobs/producer-1/outputs/artifacts/paths/x"));
  CHECK_THAT(cli(t, {"job", "create", "--file", "history.yml"}).err, Contains("run history"));
  TempHome::write(t.work() / "escape.yml", second_yml("azureml://jobs/producer-1/outputs/result/paths/../../x"));
  CHECK_THAT(cli(t, {"job", "create", "--file", "escape.yml"}).err, Contains(".."));
  CHECK(cli(t, {"job", "list"}).json().size() == runs);
}

TEST_CASE("a run has no route out, and finds the frameworks' caches the offline mirror holds", "[e2e][yaml][mirror]") {
  AMLEMU_SKIP_UNLESS(python_exists("3.10"), "a Python 3.10 interpreter (pyenv or PATH)", nullptr);
  TempHome t;
  set_up(t);
  TempHome::write(t.work() / "sk/openml/openml.org/data.json.gz", "cached");
  TempHome::write(t.work() / "hub/models--org--tiny/refs/main", "0123abcd");
  REQUIRE(cli(t, {"mirror", "add", "cache:scikit-learn", "--dir", "sk"}).code == 0);
  REQUIRE(cli(t, {"mirror", "add", "cache:huggingface", "--dir", "hub"}).code == 0);
  TempHome::write(t.work() / "src/probe.py",
                  "import os, sys, time, urllib.request\n"
                  "from sklearn.datasets import get_data_home\n"
                  "home = get_data_home()\n"
                  "print('sklearn:', open(os.path.join(home, 'openml/openml.org/data.json.gz')).read())\n"
                  "hub = os.environ['HF_HUB_CACHE']\n"
                  "print('hub:', open(os.path.join(hub, 'models--org--tiny/refs/main')).read(), os.environ['HF_HUB_OFFLINE'])\n"
                  "print('keras:', sorted(os.listdir(os.environ['KERAS_HOME'])))\n"
                  "start = time.monotonic()\n"
                  "try:\n"
                  "    urllib.request.urlopen('https://example.com/data.csv', timeout=60)\n"
                  "    print('reached the network')\n"
                  "except OSError as e:\n"
                  "    print('no route out:', e, 'after', round(time.monotonic() - start), 's')\n");
  TempHome::write(t.work() / "probe.yml", "type: command\n"
                                          "code: src\n"
                                          "command: python probe.py\n"
                                          "environment: azureml:AzureML-sklearn-1.5@latest\n");
  const auto r = cli(t, {"job", "create", "--stream", "--file", "probe.yml"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("sklearn: cached"));
  CHECK_THAT(r.out, Contains("hub: 0123abcd 1"));
  CHECK_THAT(r.out, Contains("keras: []"));  // the user's own ~/.keras is not shared in
  CHECK_THAT(r.out, Contains("no route out:"));
  CHECK_THAT(r.out, Contains("Connection refused"));
  CHECK_THAT(r.out, !Contains("reached the network"));
}

TEST_CASE("Keras's load_data() reads its datasets from the offline mirror and trains", "[e2e][yaml][mirror][tensorflow]") {
  AMLEMU_SKIP_UNLESS(std::system("python3 -c 'import tensorflow' >/dev/null 2>&1") == 0,
                     "TensorFlow for python3", kInstallDeps);
  AMLEMU_SKIP_IN_SANITIZER_SUITE("trains a real model");
  const stdfs::path fashion = "/usr/share/datasets/fashion-mnist";
  AMLEMU_SKIP_UNLESS(stdfs::exists(fashion / "train-images-idx3-ubyte.gz"),
                     "Debian's dataset-fashion-mnist", kInstallDeps);
  TempHome t;
  set_up(t);
  const std::string keras = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/";
  for (const char* f : {"train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
                        "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"}) {
    const auto added = cli(t, {"mirror", "add", keras + f, "--file", (fashion / f).string()});
    INFO(added.err);
    REQUIRE(added.code == 0);
    CHECK(added.err.empty());  // Keras checks no hash for Fashion-MNIST
  }
  // An mnist.npz made from the same images: the mirror takes it, and says what Keras will say.
  TempHome::write(t.work() / "make_npz.py",
                  "import gzip, sys, numpy as np\n"
                  "d = sys.argv[1]\n"
                  "def read(n, off): return np.frombuffer(gzip.open(d + '/' + n).read(), np.uint8, offset=off)\n"
                  "y, yt = read('train-labels-idx1-ubyte.gz', 8), read('t10k-labels-idx1-ubyte.gz', 8)\n"
                  "x = read('train-images-idx3-ubyte.gz', 16).reshape(-1, 28, 28)\n"
                  "xt = read('t10k-images-idx3-ubyte.gz', 16).reshape(-1, 28, 28)\n"
                  "np.savez_compressed(sys.argv[2], x_train=x, y_train=y, x_test=xt, y_test=yt)\n");
  REQUIRE(std::system(("cd '" + t.work().string() + "' && python3 make_npz.py " + fashion.string() +
                       " mnist.npz").c_str()) == 0);
  const auto npz = cli(t, {"mirror", "add", keras + "mnist.npz", "--file", "mnist.npz"});
  REQUIRE(npz.code == 0);
  CHECK_THAT(npz.err, Contains("Keras checks mnist.npz against a fixed SHA-256"));

  TempHome::write(t.work() / "src/train.py",
                  "import os, sys\n"
                  "import tensorflow as tf\n"
                  "if sys.argv[1] == 'mnist':\n"
                  "    tf.keras.datasets.mnist.load_data()\n"
                  "    sys.exit(0)\n"
                  "(x, y), (xt, yt) = tf.keras.datasets.fashion_mnist.load_data()\n"
                  "print('loaded', x.shape, xt.shape)\n"
                  "x, y, xt, yt = x[:6000] / 255.0, y[:6000], xt[:2000] / 255.0, yt[:2000]\n"
                  "tf.keras.utils.set_random_seed(1)\n"
                  "model = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(),\n"
                  "    tf.keras.layers.Dense(100, activation='relu'), tf.keras.layers.Dense(10)])\n"
                  "model.compile('adam', tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=['accuracy'])\n"
                  "model.fit(x, y, epochs=3, batch_size=64, verbose=0)\n"
                  "print('test accuracy %.3f' % model.evaluate(xt, yt, verbose=0)[1])\n");
  const auto job = [](const std::string& which) {
    return "type: command\n"
           "code: src\n"
           "command: python train.py " + which + "\n"
           "environment:\n"
           "  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04\n";
  };
  TempHome::write(t.work() / "fashion.yml", job("fashion"));
  const auto r = cli(t, {"job", "create", "--stream", "--file", "fashion.yml"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("loaded (60000, 28, 28) (10000, 28, 28)"));
  const auto at = r.out.find("test accuracy ");
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(r.out.substr(at + 14, 5)) > 0.7);

  // Keras refuses an mnist.npz that is not its own and reaches for the network: the run fails
  // at once, naming the URL, instead of hanging.
  TempHome::write(t.work() / "mnist.yml", job("mnist"));
  const auto refused = cli(t, {"job", "create", "--stream", "--file", "mnist.yml"});
  INFO(refused.out << refused.err);
  CHECK(refused.code != 0);
  CHECK_THAT(refused.out + refused.err, Contains("URL fetch failure on " + keras + "mnist.npz"));
}

TEST_CASE("input modes: direct hands the script the URI, an mltable folder is mounted or downloaded for evaluation", "[e2e][yaml][data]") {
  TempHome t;
  set_up(t);
  TempHome::write(t.work() / "iris/MLTable", "paths:\n  - file: ./iris.csv\ntransformations:\n  - read_delimited: {delimiter: ','}\n");
  TempHome::write(t.work() / "iris/iris.csv", "sepal_length,species\n5.1,setosa\n");
  REQUIRE(cli(t, {"datastore", "upload", "--src-dir", "iris", "--target-path", "tables/iris", "--no-progress"}).code == 0);
  TempHome::write(t.work() / "modes.yml",
                  "type: command\n"
                  "command: echo uri=${{inputs.uri}} && cat ${{inputs.mounted}}/MLTable && cat ${{inputs.copied}}/iris.csv\n"
                  "inputs:\n"
                  "  uri: {type: uri_folder, path: 'azureml://datastores/workspaceblobstore/paths/tables/iris', mode: direct}\n"
                  "  mounted: {type: mltable, path: 'azureml://datastores/workspaceblobstore/paths/tables/iris', mode: eval_mount}\n"
                  "  copied: {type: mltable, path: 'azureml://datastores/workspaceblobstore/paths/tables/iris', mode: eval_download}\n"
                  "environment: azureml:AzureML-sklearn-1.5@latest\n");
  const auto r = cli(t, {"job", "create", "--stream", "--file", "modes.yml"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("uri=azureml://subscriptions/"));
  CHECK_THAT(r.out, Contains("/workspaces/yaml-ws/datastores/workspaceblobstore/paths/tables/iris"));
  CHECK_THAT(r.out, Contains("read_delimited"));
  CHECK_THAT(r.out, Contains("5.1,setosa"));
}

TEST_CASE("outputs: rw_mount writes on the datastore, upload at the end, and name/version make a data asset", "[e2e][yaml][data]") {
  TempHome t;
  set_up(t);
  const auto producer = [](const std::string& name) {
    return "type: command\n"
           "name: " + name + "\n"
           "command: >-\n"
           "  echo live=${{outputs.live}} && echo upload=${{outputs.model}} &&\n"
           "  echo 1 > ${{outputs.live}}/a.txt && echo weights > ${{outputs.model}}/w.txt &&\n"
           "  echo 0.93 > ${{outputs.score}}\n"
           "outputs:\n"
           "  live: {type: uri_folder, name: live-data}\n"
           "  model: {type: uri_folder, mode: upload, path: 'azureml://datastores/workspaceblobstore/paths/custom/model', name: trained, version: '3'}\n"
           "  score: {type: uri_file, path: 'azureml://datastores/workspaceblobstore/paths/eval/score.txt'}\n"
           "environment: azureml:AzureML-sklearn-1.5@latest\n";
  };
  TempHome::write(t.work() / "producer.yml", producer("prod-1"));
  const auto r = cli(t, {"job", "create", "--stream", "--file", "producer.yml"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  // rw_mount: the datastore's own folder; upload: the node's, copied once the script ended.
  CHECK_THAT(r.out, Contains("live=" + (t.home() / "workspaces").string()));
  CHECK_THAT(r.out, Contains("/datastores/workspaceblobstore/azureml/prod-1/live"));
  CHECK_THAT(r.out, Contains("upload="));
  CHECK_THAT(r.out, !Contains("/datastores/workspaceblobstore/custom/model\n"));
  const auto trained = cli(t, {"data", "show", "--name", "trained", "--version", "3"});
  INFO(trained.err);
  REQUIRE(trained.code == 0);
  CHECK(trained.json()["path"] == "azureml://datastores/workspaceblobstore/paths/custom/model/");
  CHECK(cli(t, {"data", "show", "--name", "live-data"}).json()["path"] ==
        "azureml://datastores/workspaceblobstore/paths/azureml/prod-1/live/");

  // A second job reads both: the asset by @latest, the file output by its job URI.
  TempHome::write(t.work() / "consumer.yml",
                  "type: command\n"
                  "command: cat ${{inputs.model}}/w.txt ${{inputs.score}}\n"
                  "inputs:\n"
                  "  model: {type: uri_folder, path: 'azureml:trained@latest'}\n"
                  "  score: {type: uri_file, path: 'azureml://jobs/prod-1/outputs/score/paths/score.txt'}\n"
                  "environment: azureml:AzureML-sklearn-1.5@latest\n");
  const auto c = cli(t, {"job", "create", "--stream", "--file", "consumer.yml"});
  INFO(c.out << c.err);
  REQUIRE(c.code == 0);
  CHECK_THAT(c.out, Contains("weights\n0.93"));

  // The version exists now: a second producer is refused before anything is recorded.
  const auto runs = cli(t, {"job", "list"}).json().size();
  TempHome::write(t.work() / "again.yml", producer("prod-2"));
  const auto again = cli(t, {"job", "create", "--file", "again.yml"});
  CHECK(again.code == 1);
  CHECK_THAT(again.err, Contains("outputs.model.version: data asset trained:3 already exists"));
  CHECK(cli(t, {"job", "list"}).json().size() == runs);
  TempHome::write(t.work() / "nods.yml", std::string(producer("prod-3")).replace(
      producer("prod-3").find("datastores/workspaceblobstore/paths/custom"), 32, "datastores/nosuchstore/paths/cus"));
  CHECK_THAT(cli(t, {"job", "create", "--file", "nods.yml"}).err,
             Contains("outputs.model.path: datastore 'nosuchstore' not found"));
}
