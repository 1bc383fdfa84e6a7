#!/usr/bin/env python3
"""MLflow calls inside an amlemu run against MLflow's own SQLite tracking store, side by side: the
same script (bench/log_metrics_mlflow.py) logs with `mlflow.log_metric` (one call per value) and
`MlflowClient.log_batch` (1000 per call), once as an amlemu job (tracking URI and run from the
job's environment: amlemu's store) and once against `sqlite:///mlflow.db`; and the job's
`Run.log` for the batch comparison. Alternating, median of N.

    python3 bench/mlflow_tracking.py [--runs N] [--write docs/benchmarks.md]

MLflow comes from build/bench-venv (made on first use); the amlemu job runs on that venv's python
($AMLEMU_PYTHON, a user-managed environment), so both sides run the same MLflow.
"""
import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from metrics import bench_line  # noqa: E402


def run(runs=3, values=100000, per_call_values=5000, write=None):
    harness.need_build()
    harness.mlflow_venv()
    ws = harness.TempWorkspace(prefix="amlemu-bench-mlflow-tracking-")
    # The jobs run on the bench venv's python, which has MLflow.
    ws.env["AMLEMU_PYTHON"] = harness.VENV_PYTHON
    try:
        src = ws.source("src", "log_metrics_mlflow.py", "log_metrics_amlemu.py")

        def job(mode, n):
            return ws.job("%s.json" % mode, {"experiment_name": "mlflow", "source_directory": src,
                                             "entry_script": "log_metrics_mlflow.py",
                                             "user_managed": True,
                                             "arguments": ["-", mode, str(n)]})

        uri = "sqlite:///" + ws.path("mlflow.db")
        script = os.path.join(harness.BENCH, "log_metrics_mlflow.py")
        got = {k: [] for k in ("amlemu log_metric", "amlemu log_batch", "sqlite log_metric",
                               "sqlite log_batch", "amlemu store_batch", "sqlite store_batch",
                               "Run.log")}

        def in_run(mode, n):
            spec = job(mode, n)

            def go():
                got["amlemu " + mode].append(bench_line(ws.amlemu("job", "create", "--file", spec,
                                                                  "--stream").stdout))
            return go

        def sqlite(mode, n):
            def go():
                out = subprocess.run([harness.VENV_PYTHON, script, uri, mode, str(n)], cwd=ws.dir,
                                     capture_output=True, text=True, check=True).stdout
                got["sqlite " + mode].append(bench_line(out))
            return go

        run_log = ws.job("runlog.json", {"experiment_name": "mlflow", "source_directory": src,
                                         "entry_script": "log_metrics_amlemu.py",
                                         "user_managed": True,
                                         "script_params": {"--count": values}})

        def run_log_side():
            got["Run.log"].append(bench_line(ws.amlemu("job", "create", "--file", run_log,
                                                       "--stream").stdout))

        sqlite("log_batch", 1000)()  # creates the tracking database's schema
        got["sqlite log_batch"].clear()
        harness.alternate([("amlemu log_metric", in_run("log_metric", per_call_values)),
                           ("sqlite log_metric", sqlite("log_metric", per_call_values)),
                           ("amlemu log_batch", in_run("log_batch", values)),
                           ("sqlite log_batch", sqlite("log_batch", values)),
                           ("amlemu store_batch", in_run("store_batch", values)),
                           ("sqlite store_batch", sqlite("store_batch", values)),
                           ("Run.log", run_log_side)], runs)

        def rate(side, n):
            return n / statistics.median(x["log_s"] for x in got[side])

        r = {"amlemu log_metric": rate("amlemu log_metric", per_call_values),
             "sqlite log_metric": rate("sqlite log_metric", per_call_values),
             "amlemu log_batch": rate("amlemu log_batch", values),
             "sqlite log_batch": rate("sqlite log_batch", values),
             "amlemu store_batch": rate("amlemu store_batch", values),
             "sqlite store_batch": rate("sqlite store_batch", values),
             "Run.log": rate("Run.log", values)}
        per_call = r["amlemu log_metric"] / r["sqlite log_metric"]
        batch_vs_runlog = r["amlemu log_batch"] / r["Run.log"]
        store_vs_runlog = r["amlemu store_batch"] / r["Run.log"]
        lines = ["## MLflow inside a run", "",
                 harness.measured_line(runs, "mlflow_tracking.py") +
                 " One script, MLflow %s: `mlflow.log_metric(\"loss\", v, step=i)` %d times, and "
                 "`MlflowClient.log_batch` with %d values in calls of 1000, then "
                 "`get_metric_history`. Inside an amlemu job it logs to the job's run (amlemu's "
                 "`amlemu://` store, which MLflow finds through its plugin entry points); the other "
                 "side is MLflow's own SQLite store (`sqlite:///mlflow.db`). `Run.log` is the same "
                 "job logging %d values through the azureml compatibility package. Times are taken "
                 "inside the script (interpreter start and imports excluded)."
                 % (harness.mlflow_version(), per_call_values, values, values), ""]
        lines += harness.table(["measure", "values per second", "amlemu is"], [
            ("`log_metric` in an amlemu run", "%.0f" % r["amlemu log_metric"], ""),
            ("`log_metric` into MLflow's SQLite store", "%.0f" % r["sqlite log_metric"],
             "%.0fx faster" % per_call),
            ("`log_batch` of 1000 in an amlemu run", "%.0f" % r["amlemu log_batch"], ""),
            ("`log_batch` of 1000 into MLflow's SQLite store", "%.0f" % r["sqlite log_batch"],
             "%.1fx faster" % (r["amlemu log_batch"] / r["sqlite log_batch"])),
            ("the store's own `log_batch` (MLflow's client code left out), amlemu run",
             "%.0f" % r["amlemu store_batch"], ""),
            ("the store's own `log_batch`, MLflow's SQLite store", "%.0f" % r["sqlite store_batch"],
             "%.1fx faster" % (r["amlemu store_batch"] / r["sqlite store_batch"])),
            ("`Run.log` in an amlemu run (queued, 1000 per transaction)", "%.0f" % r["Run.log"],
             "store `log_batch` is %.2fx `Run.log`" % store_vs_runlog),
        ])
        lines += ["", "Inside a run, MLflow's metric values go into the same queue as `Run.log`'s "
                  "(written 1000 per transaction, or after 1 s, and at exit), so a `log_metric` "
                  "costs MLflow's own validation and entity building plus an append; MLflow's "
                  "SQLite store opens a SQLAlchemy session and commits once per call. A "
                  "`log_batch` is validated as a whole, its params and tags written at once, its "
                  "values queued; `get_metric_history` writes the queue first.", ""]
        harness.write_section(write, "## MLflow inside a run", lines)
        return [
            harness.summary_row("9. MLflow in a run", "`log_metric`/s, amlemu run / MLflow SQLite",
                                "%.0fx (%.0f vs %.0f /s)" % (per_call, r["amlemu log_metric"],
                                                             r["sqlite log_metric"]),
                                "at least 1x", per_call >= 1),
            harness.summary_row("9. MLflow in a run",
                                "`log_batch` values/s in a run (the store's own) / `Run.log`",
                                "%.2fx (%.0f vs %.0f /s); %.2fx through MLflow's client"
                                % (store_vs_runlog, r["amlemu store_batch"], r["Run.log"],
                                   batch_vs_runlog),
                                "at least 1x", store_vs_runlog >= 1),
        ]
    finally:
        ws.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--values", type=int, default=100000)
    p.add_argument("--per-call", type=int, default=5000)
    p.add_argument("--write", help="replace this section of the given Markdown file")
    args = p.parse_args()
    for row in run(args.runs, args.values, args.per_call, write=args.write):
        print(row)


if __name__ == "__main__":
    main()
