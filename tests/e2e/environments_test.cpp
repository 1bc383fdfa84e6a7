// End to end: environments as Preparing builds them with uv: a conda file's Python and packages,
// a curated name's packages, one-line refusals, `environment build` ahead of a run. The tests
// run offline (UV_OFFLINE=1, set by TempHome): the wheels come from the uv cache that
// scripts/warm-uv-cache.sh fills at set-up (tests/environments/warm.txt).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <thread>

#include <boost/process/search_path.hpp>

#include "e2e/cli.hpp"
#include "support/interpreters.hpp"
#include "support/skip.hpp"

using namespace amlemu::testing;
using nlohmann::json;
namespace stdfs = std::filesystem;
using Catch::Contains;

namespace {

bool uv_found() { return !boost::process::search_path("uv").empty(); }

void set_up(const TempHome& t) {
  t.write_config("env-ws");
  REQUIRE(cli(t, {"workspace", "create"}).code == 0);
  TempHome::write(t.work() / "src" / "check.py",
                  "import sys\n"
                  "print('python', sys.version.split()[0])\n"
                  "import sklearn\n"
                  "print('sklearn', sklearn.__version__)\n");
}

// A command job on `environment` (YAML text) that prints its Python and scikit-learn versions.
std::string job_file(const TempHome& t, const std::string& name, const std::string& environment) {
  TempHome::write(t.work() / name, "command: python check.py\ncode: src\ncompute: local\n"
                                   "environment: " + environment + "\n");
  return name;
}

std::string log_of(const json& show, const std::string& prefix) {
  for (const auto& [name, path] : show["logFiles"].items()) {
    if (name.rfind(prefix, 0) == 0) return amlemu::fs::read_file(path.get<std::string>());
  }
  return "";
}

}  // namespace

TEST_CASE("a conda file's python=3.12 and scikit-learn: the job runs on 3.12, built once for two runs", "[e2e][environment]") {
  AMLEMU_SKIP_UNLESS(uv_found(), "uv on PATH", kInstallDeps);
  AMLEMU_SKIP_UNLESS(python_exists("3.12"), "a Python 3.12 interpreter (pyenv or PATH)", nullptr);
  TempHome t;
  set_up(t);
  TempHome::write(t.work() / "conda.yml", "name: sk\nchannels: [conda-forge]\n"
                                          "dependencies:\n  - python=3.12\n  - pip\n  - scikit-learn\n");
  const auto file = job_file(t, "job.yml", "\n  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04\n  conda_file: conda.yml");
  // Two runs at once that need the same new environment: one builds it, the other waits.
  const auto a = cli(t, {"job", "create", "-o", "json", "--file", file});
  const auto b = cli(t, {"job", "create", "-o", "json", "--file", file});
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  int builds = 0;
  for (const auto& r : {a, b}) {
    const auto show = wait_terminal(t, r.json()["name"]);
    CHECK(show["status"] == "Completed");
    const auto driver = log_of(show, "azureml-logs/70_driver_log");
    CHECK_THAT(driver, Contains("python 3.12.") && Contains("sklearn "));
    CHECK_THAT(show["properties"]["amlemu.interpreter"].get<std::string>(), Contains("3.12"));
    CHECK_THAT(log_of(show, "azureml-logs/55_"), Contains("Interpreter: 3.12") &&
                                                    Contains("conda channel conda-forge recorded and ignored"));
    const auto build = log_of(show, "azureml-logs/20_image_build_log");
    if (!build.empty()) {
      ++builds;
      CHECK_THAT(build, Contains("uv pip install") && Contains("scikit-learn"));
    }
  }
  CHECK(builds == 1);
  const auto envs = cli(t, {"environment", "list", "-o", "json"}).json();
  REQUIRE(envs.size() == 1);
  CHECK(envs[0]["specification"]["pythonVersion"] == "3.12");
  CHECK(envs[0]["specification"]["pipPackages"] == json::array({"scikit-learn"}));
}

TEST_CASE("AzureML-sklearn-1.5@latest means scikit-learn 1.5 on Python 3.10, and environment build warms it", "[e2e][environment]") {
  AMLEMU_SKIP_UNLESS(uv_found(), "uv on PATH", kInstallDeps);
  AMLEMU_SKIP_UNLESS(python_exists("3.10"), "a Python 3.10 interpreter (pyenv or PATH)", nullptr);
  TempHome t;
  set_up(t);
  const auto built = cli(t, {"environment", "build", "--file", "azureml:AzureML-sklearn-1.5@latest", "-o", "json"});
  REQUIRE(built.code == 0);
  const auto doc = built.json();
  CHECK(doc["built"] == true);
  CHECK(doc["pythonVersion"] == "3.10");
  CHECK_THAT(doc["interpreter"].get<std::string>(), Contains("3.10"));
  CHECK_THAT(doc["requirements"].dump(), Contains("scikit-learn~=1.5.0"));
  CHECK_THAT(built.err, Contains("Curated environment AzureML-sklearn-1.5: Python 3.10"));
  const auto again = cli(t, {"environment", "build", "--file", "azureml:AzureML-sklearn-1.5@latest", "-o", "json"});
  CHECK(again.json()["built"] == false);
  CHECK(again.json()["name"] == doc["name"]);
  const auto shown = cli(t, {"environment", "show", "--name", doc["name"].get<std::string>()}).json();
  CHECK(shown["interpreter"] == doc["interpreter"]);

  const auto r = cli(t, {"job", "create", "--stream", "--file", job_file(t, "cur.yml", "azureml:AzureML-sklearn-1.5@latest")});
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("python 3.10.") && Contains("sklearn 1.5."));
  const auto show = cli(t, {"job", "show", "--name", run_id_of(r)}).json();
  CHECK_THAT(log_of(show, "azureml-logs/55_"),
             Contains("Environment " + doc["name"].get<std::string>() + " found in the cache, reused in"));
  CHECK(log_of(show, "azureml-logs/20_image_build_log").empty());
}

TEST_CASE("a conda package with no PyPI counterpart fails in Preparing with one line, and builds nothing", "[e2e][environment]") {
  TempHome t;
  set_up(t);
  TempHome::write(t.work() / "conda.yml", "dependencies:\n  - python=3.11\n  - numpy\n  - r-ggplot2\n");
  const auto r = cli(t, {"job", "create", "--stream", "--file", job_file(t, "bad.yml", "\n  image: x\n  conda_file: conda.yml")});
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Contains("Preparing failed: conda package 'r-ggplot2' has no PyPI counterpart (an R "
                             "package; amlemu runs Python jobs); remove it, list a PyPI package under "
                             "pip:, or map it in " + (t.home() / "conda_packages.json").string()));
  const auto show = cli(t, {"job", "show", "--name", run_id_of(r)}).json();
  CHECK(show["status"] == "Failed");
  const auto& h = show["statusHistory"];
  CHECK(h[h.size() - 2]["status"] == "Preparing");
  CHECK(cli(t, {"environment", "list"}).json().empty());

  // The user's renames file is the way out the line names.
  TempHome::write(t.home() / "conda_packages.json", R"({"renames": {"r-ggplot2": ""}})");
  TempHome::write(t.work() / "conda.yml", "dependencies:\n  - numpy\n  - r-ggplot2\n");
  const auto fixed = cli(t, {"environment", "build", "--file",
                             TempHome::write(t.work() / "env.yml", "name: e\nconda_file: conda.yml\n").string(),
                             "-o", "json"});
  REQUIRE(fixed.code == 0);
  CHECK(fixed.json()["requirements"] == json::array({"numpy"}));
  CHECK_THAT(fixed.err, Contains("conda package 'r-ggplot2' dropped"));
}

TEST_CASE("a Python version the machine lacks: one line naming it, or the default with AMLEMU_PYTHON_FALLBACK", "[e2e][environment]") {
  TempHome t;
  set_up(t);
  TempHome::write(t.work() / "conda.yml", "dependencies:\n  - python=3.99\n  - pip:\n    - numpy\n");
  const auto file = job_file(t, "job.yml", "\n  image: x\n  conda_file: conda.yml");
  const auto r = cli(t, {"job", "create", "--stream", "--file", file});
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Contains("Preparing failed: python=3.99 asks for Python 3.99, and no Python 3.99 "
                             "interpreter was found (found: ") &&
                        Contains("set AMLEMU_PYTHON_FALLBACK=1 to use the default interpreter"));
  CHECK(cli(t, {"environment", "list"}).json().empty());

  ::setenv("AMLEMU_PYTHON_FALLBACK", "1", 1);
  TempHome::write(t.work() / "src" / "check.py", "import sys, numpy\nprint('python', sys.version.split()[0])\n");
  const auto fallback = cli(t, {"job", "create", "--stream", "--file", file});
  ::unsetenv("AMLEMU_PYTHON_FALLBACK");
  CHECK(fallback.code == 0);
  CHECK_THAT(fallback.out, Contains("Warning: python=3.99 asks for Python 3.99, and no such interpreter "
                                    "was found; AMLEMU_PYTHON_FALLBACK is set"));
}

TEST_CASE("without uv, environments are built with pip and the build log says so", "[e2e][environment]") {
  TempHome t;
  set_up(t);
  ::setenv("AMLEMU_UV", "/nonexistent/uv", 1);
  const auto r = cli(t, {"job", "create", "--stream", "--file",
                         write_spec(t, "pip.json", "envs", {{"entry_script", "slow_ok.py"}, {"pip_packages", {"numpy"}}})});
  ::unsetenv("AMLEMU_UV");
  REQUIRE(r.code == 0);
  const auto show = cli(t, {"job", "show", "--name", run_id_of(r)}).json();
  const auto build = log_of(show, "azureml-logs/20_image_build_log");
  CHECK_THAT(build, Contains("building with python -m venv and pip, which is slower"));
  CHECK_THAT(build, Contains("from the base interpreter satisfies numpy"));
}

TEST_CASE("AMLEMU_PYTHON naming a virtual environment's python runs the job inside that environment", "[e2e][environment]") {
  TempHome t;
  set_up(t);
  const auto venv = t.work() / "my-venv";
  REQUIRE(std::system(("python3 -m venv --without-pip " + venv.string()).c_str()) == 0);
  TempHome::write(t.work() / "job.yml",
                  "command: python -c \"import sys; print('prefix', sys.prefix)\"\ncompute: local\n"
                  "environment:\n  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04\n");
  ::setenv("AMLEMU_PYTHON", (venv / "bin" / "python").c_str(), 1);
  const auto r = cli(t, {"job", "create", "--stream", "--file", "job.yml"});
  ::unsetenv("AMLEMU_PYTHON");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  // The venv's python is a link to its base interpreter: followed, the job would run outside it.
  CHECK_THAT(r.out, Contains("prefix " + stdfs::canonical(venv.parent_path()).string() + "/my-venv"));
}
