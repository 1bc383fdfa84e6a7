#!/usr/bin/env python3
"""Against `mlflow run`: the trivial script of the run-overhead benchmark as an amlemu job
(`job create --stream`) and as an MLflow project (`mlflow run --env-manager local`, SQLite
tracking store), alternating with the bare script, median of N.

    python3 bench/mlflow_run.py [--runs N] [--write docs/benchmarks.md]

MLflow comes from build/bench-venv (made on first use); both tools run the script with the
system python3.
"""
import argparse
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

# Runs the script with the same interpreter amlemu uses: python3 from PATH.
MLPROJECT = """name: bench-trivial
entry_points:
  main:
    command: "python3 trivial.py"
"""


def run(runs=9, write=None):
    harness.need_build()
    harness.mlflow_venv()
    ws = harness.TempWorkspace(prefix="amlemu-bench-mlflow-")
    try:
        src = ws.source("src", "trivial.py")
        job = ws.job("job.json", {"experiment_name": "bench", "source_directory": src,
                                  "entry_script": "trivial.py", "user_managed": True})
        project = ws.path("project")
        os.makedirs(project)
        shutil.copy(os.path.join(harness.BENCH, "trivial.py"), project)
        with open(os.path.join(project, "MLproject"), "w") as f:
            f.write(MLPROJECT)
        ml_env = dict(os.environ, MLFLOW_TRACKING_URI="sqlite:///" + ws.path("mlflow.db"))
        mlflow_cmd = [harness.MLFLOW, "run", project, "--env-manager", "local",
                      "--experiment-name", "bench"]

        def mlflow_run():
            subprocess.run(mlflow_cmd, cwd=ws.dir, env=ml_env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def amlemu_run():
            ws.amlemu("job", "create", "--file", job, "--stream")

        def bare():
            subprocess.run([sys.executable, os.path.join(harness.BENCH, "trivial.py")], check=True,
                           stdout=subprocess.DEVNULL)

        mlflow_run()  # creates the tracking database's schema
        amlemu_run()
        t = harness.alternate([("bare", bare), ("amlemu", amlemu_run), ("mlflow", mlflow_run)], runs)
        b, a, m = (harness.median_ms(t[k]) for k in ("bare", "amlemu", "mlflow"))
        import_ms = harness.median_ms(harness.alternate(
            [("import", lambda: subprocess.run([harness.VENV_PYTHON, "-c", "import mlflow"],
                                               check=True))], max(3, runs // 3))["import"])
        lines = ["## Against MLflow: one run", "",
                 harness.measured_line(runs, "mlflow_run.py") +
                 " The trivial script of the run-overhead benchmark (it prints one line), run bare, "
                 "as an amlemu job and as an MLflow %s project (`mlflow run --env-manager local`, "
                 "tracking in SQLite); both tools start it with the system `python3`, and neither "
                 "builds an environment (`user_managed`, `--env-manager local`)."
                 % harness.mlflow_version(), ""]
        lines += harness.table(["measure", "median ms"], [
            ("bare `python3 trivial.py`", "%.0f" % b),
            ("`amlemu job create --stream`", "%.0f" % a),
            ("`mlflow run --env-manager local`", "%.0f" % m),
            ("of which `import mlflow` alone", "%.0f" % import_ms),
            ("MLflow / amlemu", "%.1fx" % (m / a)),
        ])
        lines += ["", "Most of MLflow's time is its own start: the `mlflow` command imports its "
                  "package and SQLAlchemy, checks the tracking database's schema, then starts the "
                  "script as a child and records the run. amlemu's CLI and supervisor are native "
                  "programs, so their start costs a few milliseconds.", ""]
        harness.write_section(write, "## Against MLflow: one run", lines)
        return [harness.summary_row("2. one run vs `mlflow run`", "wall time, MLflow / amlemu",
                                    "%.1fx (%.0f vs %.0f ms)" % (m / a, m, a))]
    finally:
        ws.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--write")
    args = parser.parse_args()
    run(args.runs, args.write)


if __name__ == "__main__":
    main()
