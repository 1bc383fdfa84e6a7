// Room: environment. The pure pieces of resolving an environment: conda match specs as PyPI
// requirements (on real conda files), the interpreter an environment asks for (on a fake tree of
// interpreters), and the curated table's lookups (on the shipped table).
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <regex>

#include "common/fs.hpp"
#include "common/text.hpp"
#include "amlemu/errors.hpp"
#include "common/launcher.hpp"
#include "environment/conda.hpp"
#include "environment/environment.hpp"
#include "environment/curated.hpp"
#include "environment/interpreters.hpp"
#include "spec/yaml_reader.hpp"
#include "support/temp_home.hpp"

using namespace amlemu::environment;
namespace stdfs = std::filesystem;
using Catch::Matchers::Contains;
using amlemu::join;

namespace {

CondaTable shipped_conda_table() {
  return CondaTable::from_json(
      nlohmann::json::parse(amlemu::fs::read_file(stdfs::path(AMLEMU_FIXTURES) / "conda_packages.json")));
}

CuratedTable shipped_curated_table() {
  return CuratedTable::from_json(nlohmann::json::parse(
      amlemu::fs::read_file(stdfs::path(AMLEMU_FIXTURES) / "curated_environments.json")));
}

// A conda file of tests/environments/conda, as Preparing gets it: its conda packages (pip and
// the pip: list are the spec's to separate), then translated.
CondaTranslation translate_file(const std::string& name, std::vector<std::string>* pip = nullptr) {
  const auto doc = YAML::LoadFile(std::string(AMLEMU_TEST_DATA) + "/environments/conda/" + name);
  const auto deps = amlemu::spec::conda_dependencies(doc);
  if (pip) *pip = deps["pipPackages"].get<std::vector<std::string>>();
  return translate_conda(deps["condaPackages"].get<std::vector<std::string>>(), shipped_conda_table());
}

void make_executable(const stdfs::path& file) {
  stdfs::create_directories(file.parent_path());
  std::ofstream(file) << "#!/bin/sh\n";
  ::chmod(file.c_str(), 0755);
}

}  // namespace

TEST_CASE("conda version specs become PEP 440 specifiers", "[environment][conda]") {
  CHECK(conda_version_to_pep440("2.3.1") == "==2.3.1.*");  // conda's = is a prefix match
  CHECK(conda_version_to_pep440("=2.3.1") == "==2.3.1.*");
  CHECK(conda_version_to_pep440("==2.3.1") == "==2.3.1");
  CHECK(conda_version_to_pep440(">=1.5") == ">=1.5");
  CHECK(conda_version_to_pep440(">=1.5,<2") == ">=1.5,<2");
  CHECK(conda_version_to_pep440("1.2.*") == "==1.2.*");
  CHECK(conda_version_to_pep440("1.2*") == "==1.2.*");
  CHECK(conda_version_to_pep440("*") == "");
  CHECK(conda_version_to_pep440("") == "");
  CHECK(conda_version_to_pep440("!=1.3") == "!=1.3");
  CHECK_FALSE(conda_version_to_pep440("1.2|1.4"));  // alternatives: no PEP 440 form
  CHECK_FALSE(conda_version_to_pep440(">=1,"));
}

TEST_CASE("the endpoint sample's conda file: pinned versions, python and pip left out", "[environment][conda]") {
  std::vector<std::string> pip;
  const auto t = translate_file("endpoint-sklearn.yml", &pip);
  REQUIRE_FALSE(t.error);
  CHECK(t.pip == std::vector<std::string>{"numpy==2.3.1.*", "scikit-learn==1.7.0.*", "scipy==1.16.0.*"});
  CHECK(t.python == "3.12");
  CHECK(pip == std::vector<std::string>{"azureml-inference-server-http", "joblib"});
}

TEST_CASE("a TensorFlow conda file: renames, ranges and the space form", "[environment][conda]") {
  const auto t = translate_file("tensorflow.yml");
  REQUIRE_FALSE(t.error);
  CHECK(t.pip == std::vector<std::string>{"tensorflow==2.10.0", "matplotlib>=3.5,<4", "pandas==1.5.*"});
  CHECK(t.python == "3.10");
  CHECK_THAT(t.notes[0], Contains("'tensorflow-gpu' installed from PyPI as 'tensorflow'"));
}

TEST_CASE("a PyTorch conda file: channel prefix and build string dropped, pytorch is torch", "[environment][conda]") {
  const auto t = translate_file("pytorch.yml");
  REQUIRE_FALSE(t.error);
  CHECK(t.pip == std::vector<std::string>{"torch==2.2.1.*", "torchvision", "xgboost>=2"});
  CHECK(t.python == "3.11");
  const auto notes = amlemu::join(t.notes, "\n");
  CHECK_THAT(notes, Contains("channel pytorch of 'pytorch::pytorch=2.2.1=py3.11_cpu_0' ignored"));
  CHECK_THAT(notes, Contains("build string 'py3.11_cpu_0'"));
}

TEST_CASE("a conda package with no PyPI counterpart is one line naming it and the way out", "[environment][conda]") {
  const auto r = translate_file("unknown.yml");
  REQUIRE(r.error);
  CHECK(*r.error == "conda package 'r-ggplot2' has no PyPI counterpart (an R package; amlemu runs "
                    "Python jobs); remove it, list a PyPI package under pip:, or map it in the conda "
                    "renames file");
  const auto c = translate_file("cuda.yml");
  REQUIRE(c.error);
  CHECK_THAT(*c.error, Contains("conda package 'cudatoolkit' has no PyPI counterpart"));
  CHECK(c.error->find('\n') == std::string::npos);
}

TEST_CASE("unreadable match specs and alternatives are refused by name", "[environment][conda]") {
  const auto table = shipped_conda_table();
  CHECK_THAT(*translate_conda({"numpy[version='>=1.2']"}, table).error,
             Contains("'numpy[version='>=1.2']' is not a match spec amlemu can read"));
  CHECK_THAT(*translate_conda({"numpy 1.2 py_0 extra"}, table).error, Contains("not a match spec"));
  CHECK_THAT(*translate_conda({"numpy=1.2|1.4"}, table).error, Contains("'numpy=1.2|1.4': its version"));
  const auto py = translate_conda({"python>=3.8"}, table);
  CHECK_FALSE(py.python);
  CHECK_THAT(py.notes[0], Contains("names no single Python minor version"));
}

TEST_CASE("a user's renames file adds to the table and wins", "[environment][conda]") {
  auto table = shipped_conda_table();
  table.merge(CondaTable::from_json(nlohmann::json::parse(
      R"({"renames": {"cudatoolkit": "", "my-conda-pkg": "my-pypi-pkg"}})")));
  const auto t = translate_conda({"cudatoolkit=11.8", "my-conda-pkg>=2"}, table);
  REQUIRE_FALSE(t.error);
  CHECK(t.pip == std::vector<std::string>{"my-pypi-pkg>=2"});
  CHECK_THROWS_WITH(CondaTable::from_json(nlohmann::json::parse(R"({"rename": {}})")),
                    Contains("rename: unknown key"));
  CHECK_THROWS_WITH(CondaTable::from_json(nlohmann::json::parse(R"({"renames": {"a": 1}})")),
                    Contains("renames.a: must be a string"));
}

TEST_CASE("interpreters: PATH's python3.N (shims skipped), then pyenv's, newest first", "[environment][python]") {
  amlemu::testing::TempHome t;
  const auto bin = t.root() / "bin";
  const auto shims = t.root() / "pyenv" / "shims";
  const auto pyenv = t.root() / "pyenv";
  make_executable(bin / "python3.11");
  make_executable(bin / "python3");  // not python3.N: not a candidate
  make_executable(shims / "python3.9");
  make_executable(pyenv / "versions" / "3.12.1" / "bin" / "python3.12");
  make_executable(pyenv / "versions" / "3.10.13" / "bin" / "python3.10");
  make_executable(pyenv / "versions" / "3.10.2" / "bin" / "python3.10");
  stdfs::create_directories(pyenv / "versions" / "miniconda3-latest" / "bin");
  const auto found = discover_interpreters(bin.string() + ":" + shims.string() + ":/nonexistent", pyenv);
  REQUIRE(found.size() == 4);
  CHECK(found[0].version == "3.11");
  CHECK(found[0].origin == std::string("PATH"));
  CHECK(found[1].version == "3.12.1");
  CHECK(found[2].version == "3.10.13");  // 3.10.13 before 3.10.2
  CHECK(found[3].version == "3.10.2");

  CHECK(choose_interpreter(found, std::nullopt, "3.10")->version == "3.10.13");
  CHECK(choose_interpreter(found, std::nullopt, "3.11")->path == bin / "python3.11");
  CHECK_FALSE(choose_interpreter(found, std::nullopt, "3.9"));  // only a shim has it
  // The default interpreter wins when it is of the version asked for.
  const Interpreter def{pyenv / "versions" / "3.10.2" / "bin" / "python3.10", "3.10.2", "default"};
  CHECK(choose_interpreter(found, def, "3.10")->version == "3.10.2");
  CHECK(choose_interpreter(found, def, "3.12")->version == "3.12.1");
  CHECK_THAT(describe_interpreters(found), Contains("3.12.1 (" + (pyenv / "versions" / "3.12.1" / "bin" / "python3.12").string() + ")"));
  CHECK(describe_interpreters({}) == "none");
}

TEST_CASE("interpreters: the default one from its files, pyenv's selection included", "[environment][python]") {
  amlemu::testing::TempHome t;
  const auto pyenv = t.root() / "pyenv";
  make_executable(pyenv / "shims" / "python3");
  make_executable(pyenv / "versions" / "3.11.7" / "bin" / "python3.11");
  make_executable(pyenv / "versions" / "3.12.1" / "bin" / "python3.12");
  const auto shim = pyenv / "shims" / "python3";
  std::ofstream(pyenv / "version") << "3.11.7\n";
  CHECK(identify_default(shim, pyenv, "", t.work())->version == "3.11.7");
  CHECK(identify_default(shim, pyenv, "3.12.1", t.work())->version == "3.12.1");  // $PYENV_VERSION
  std::ofstream(t.work() / ".python-version") << "3.12.1\n";
  const auto sub = t.work() / "a" / "b";
  stdfs::create_directories(sub);
  CHECK(identify_default(shim, pyenv, "", sub)->path == pyenv / "versions" / "3.12.1" / "bin" / "python3.12");
  std::ofstream(t.work() / ".python-version") << "system\n";
  CHECK_FALSE(identify_default(shim, pyenv, "", sub));  // pyenv's "system": ask the interpreter
  // A python3 link to python3.11 says its version by its name.
  make_executable(t.root() / "usr" / "python3.11");
  stdfs::create_symlink(t.root() / "usr" / "python3.11", t.root() / "usr" / "python3");
  CHECK(identify_default(t.root() / "usr" / "python3", pyenv, "", sub)->version == "3.11");
  CHECK(minor_version("3.12.1") == "3.12");
  CHECK(minor_version("3.12") == "3.12");
}

TEST_CASE("curated names: the shipped table's entries and their spellings", "[environment][curated]") {
  const auto table = shipped_curated_table();
  const auto sk = table.find("AzureML-sklearn-1.5");
  REQUIRE(sk);
  CHECK(sk->python == "3.10");
  CHECK(std::find(sk->packages.begin(), sk->packages.end(), "scikit-learn~=1.5.0") != sk->packages.end());
  CHECK(table.find("azureml-sklearn-1.5@latest")->name == "AzureML-sklearn-1.5");  // any case, a label
  CHECK(table.find("AzureML-sklearn-1.5:33")->python == "3.10");                    // a version
  CHECK(table.find("sklearn-1.5")->name == "AzureML-sklearn-1.5");  // the registry's name
  CHECK(table.find("AzureML-TensorFlow-2.0-GPU")->python == "3.6");  // v1 names, by alias
  CHECK(table.find("AzureML-tensorflow-2.16-cuda12")->python == "3.11");
  CHECK_FALSE(table.find("AzureML-sklearn-9.9"));
  // Every entry installs from PyPI by a requirement uv can read, and names a Python minor.
  for (const auto& e : table.environments) {
    INFO(e.name);
    CHECK(std::regex_match(e.python, std::regex(R"(3\.\d+)")));
    for (const auto& p : e.packages) CHECK(std::regex_match(p, std::regex(R"([A-Za-z0-9_.-]+([=~<>!].*)?)")));
  }
}

TEST_CASE("curated table: TensorFlow framework versions and bad tables", "[environment][curated]") {
  const auto table = shipped_curated_table();
  REQUIRE(table.tensorflow.count("1.13"));
  CHECK(table.tensorflow.at("1.13").python == "3.6");
  CHECK(table.tensorflow.at("1.13").packages[0] == "tensorflow==1.13.1");
  CHECK(table.tensorflow.at("2.2").packages[0] == "tensorflow==2.2.0");
  CHECK_FALSE(table.tensorflow.count("2.16"));  // newer releases: the interpreter's, or PyPI's
  CHECK_THROWS_WITH(CuratedTable::from_json(nlohmann::json::parse(R"({"environments": [{"name": "x"}]})")),
                    Contains("environments[0].python: must be a string"));
}

TEST_CASE("TensorFlow framework_version 1.13 asks for its image's Python 3.6 and pins", "[environment][curated]") {
  // The default interpreter has no TensorFlow 1.13, so the release's stack is asked for: an
  // interpreter of Python 3.6 where the machine has one, else the one-line refusal naming it.
  amlemu::testing::TempHome t;
  const auto launcher = amlemu::make_local_launcher();
  const nlohmann::json def = {{"frameworkName", "TensorFlow"}, {"frameworkVersion", "1.13"},
                              {"environment", {{"python", {{"pipPackages", {"pillow"}}}}}}};
  ::unsetenv("AMLEMU_PYTHON_FALLBACK");
  try {
    const auto spec = resolve(def, *launcher);
    CHECK(spec.python_version == "3.6");
    CHECK(spec.pip_packages == std::vector<std::string>{"numpy>=1.13.3,<1.20", "pillow", "tensorflow==1.13.1"});
    CHECK_THAT(spec.interpreter, Contains("3.6"));
    CHECK_THAT(join(spec.notes, "\n"), Contains("framework_version '1.13': tensorflow==1.13.1"));
  } catch (const amlemu::UserErrorException& e) {
    CHECK_THAT(e.what(), Contains("TensorFlow 1.13 (framework_version '1.13') asks for Python 3.6, "
                                  "and no Python 3.6 interpreter was found"));
  }
  // A release the table does not have: that TensorFlow on the default interpreter.
  const nlohmann::json newer = {{"frameworkName", "TensorFlow"}, {"frameworkVersion", "2.99"}};
  const auto spec = resolve(newer, *launcher);
  CHECK(spec.python_version.empty());
  CHECK(spec.pip_packages == std::vector<std::string>{"tensorflow==2.99.*"});
}
