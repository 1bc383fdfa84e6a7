#!/usr/bin/env python3
"""Metric logging: N scalars logged through amlemu's `Run.get_context().log` inside an amlemu job
against MLflow's `log_metric` (one call per value) and `log_batch` (1000 per call) into a SQLite
tracking store; values per second, and the time to read them back (`Run.get_metrics()` in the
script, `amlemu job metrics` from the CLI, MLflow's `get_metric_history`). Alternating, median
of N.

    python3 bench/metrics.py [--runs N] [--values N] [--per-call-values N] [--write FILE]

MLflow's `log_metric` writes one SQLite transaction per call, so it logs fewer values
(--per-call-values) to keep the benchmark short: its rate per value does not depend on the count.
"""
import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def bench_line(text):
    for line in text.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    raise RuntimeError("no BENCH line in:\n" + text[-3000:])


def journal_mode(db):
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]


def run(runs=3, values=100000, per_call_values=5000, write=None):
    harness.need_build()
    harness.mlflow_venv()
    ws = harness.TempWorkspace(prefix="amlemu-bench-metrics-")
    try:
        src = ws.source("src", "log_metrics_amlemu.py")
        job = ws.job("job.json", {"experiment_name": "metrics", "source_directory": src,
                                  "entry_script": "log_metrics_amlemu.py", "user_managed": True,
                                  "script_params": {"--count": values}})
        uri = "sqlite:///" + ws.path("mlflow.db")
        script = os.path.join(harness.BENCH, "log_metrics_mlflow.py")
        got = {"amlemu": [], "log_metric": [], "log_batch": [], "cli_read": []}

        def amlemu():
            out = ws.amlemu("job", "create", "--file", job, "--stream").stdout
            got["amlemu"].append(bench_line(out))
            run_id = out.splitlines()[0].split()[1]
            t0 = time.perf_counter()
            metrics = json.loads(ws.amlemu("job", "metrics", "--name", run_id).stdout)
            got["cli_read"].append(time.perf_counter() - t0)
            assert len(metrics["loss"]) == values

        def mlflow(mode, n):
            def go():
                out = subprocess.run([harness.VENV_PYTHON, script, uri, mode, str(n)], cwd=ws.dir,
                                     capture_output=True, text=True, check=True).stdout
                got[mode].append(bench_line(out))
            return go

        mlflow("log_batch", 1000)()  # creates the tracking database's schema
        got["log_batch"].clear()
        harness.alternate([("amlemu", amlemu), ("log_metric", mlflow("log_metric", per_call_values)),
                           ("log_batch", mlflow("log_batch", values))], runs)

        med = lambda side, key: statistics.median(g[key] for g in got[side])
        rate = {"amlemu": values / med("amlemu", "log_s"),
                "log_metric": per_call_values / med("log_metric", "log_s"),
                "log_batch": values / med("log_batch", "log_s")}
        read_ms = {"amlemu": med("amlemu", "read_s") * 1000,
                   "cli": harness.median_ms(got["cli_read"]),
                   "mlflow": med("log_batch", "read_s") * 1000}
        vs_call = rate["amlemu"] / rate["log_metric"]
        vs_batch = rate["amlemu"] / rate["log_batch"]
        lines = ["## Metric logging", "",
                 harness.measured_line(runs, "metrics.py") +
                 " amlemu: a job logs %d scalars with `Run.get_context().log(\"loss\", v)` (the "
                 "compatibility package queues them and writes 1000 per SQLite transaction), then "
                 "`flush()`. MLflow %s into a SQLite tracking store: `mlflow.log_metric` %d times "
                 "(one call, one transaction per value), and `MlflowClient.log_batch` with %d "
                 "values in calls of 1000. Times are taken inside the scripts, so neither side's "
                 "interpreter start or import counts."
                 % (values, harness.mlflow_version(), per_call_values, values), ""]
        lines += harness.table(["measure", "values per second", "amlemu is"], [
            ("amlemu `Run.log` (queued, batched)", "%.0f" % rate["amlemu"], ""),
            ("MLflow `log_metric`, one call per value", "%.0f" % rate["log_metric"],
             "%.0fx faster" % vs_call),
            ("MLflow `log_batch`, 1000 per call", "%.0f" % rate["log_batch"],
             "%.1fx %s" % (vs_batch if vs_batch >= 1 else 1 / vs_batch,
                           "faster" if vs_batch >= 1 else "slower")),
        ])
        lines += ["", "Reading the %d values back:" % values, ""]
        lines += harness.table(["measure", "median ms"], [
            ("amlemu `Run.get_metrics()` in the script", "%.0f" % read_ms["amlemu"]),
            ("`amlemu job metrics --name <run>` (whole command, JSON printed)", "%.0f" % read_ms["cli"]),
            ("MLflow `get_metric_history` (in the script)", "%.0f" % read_ms["mlflow"]),
        ])
        ml_journal = journal_mode(ws.path("mlflow.db"))
        emu_journal = journal_mode(os.path.join(json.loads(ws.amlemu("workspace", "show").stdout)
                                                ["stateDir"], "workspace.db"))
        lines += ["", "`log_metric` pays a full round trip per value (a SQLAlchemy session and a "
                  "transaction for each); amlemu's `Run.log` appends to a queue "
                  "and pays one transaction per 1000 values, as `log_batch` does, so the fair "
                  "comparison for bulk logging is the `log_batch` row. MLflow leaves its SQLite "
                  "database in SQLite's default journal mode (`%s` here) with full sync, so every "
                  "commit waits for the disk, and its per-call rate follows the disk's flush "
                  "latency (it varied between about 50 and 400 calls a second from one batch of "
                  "calls to the next on this shared machine); amlemu's database is in `%s` mode "
                  "with `synchronous=NORMAL`, whose commits do not wait for the disk."
                  % (ml_journal, emu_journal), ""]
        harness.write_section(write, "## Metric logging", lines)
        return [
            harness.summary_row("3. metric logging", "values/s, amlemu `Run.log` / MLflow `log_metric`",
                                "%.0fx (%.0f vs %.0f /s)" % (vs_call, rate["amlemu"], rate["log_metric"]),
                                "at least 50x", vs_call >= 50),
            harness.summary_row("3. metric logging", "values/s, amlemu `Run.log` / MLflow `log_batch`",
                                "%.1fx" % vs_batch),
            harness.summary_row("3. metric logging", "read back %d values, MLflow / amlemu `get_metrics`" % values,
                                "%.1fx (%.0f vs %.0f ms)" % (read_ms["mlflow"] / read_ms["amlemu"],
                                                             read_ms["mlflow"], read_ms["amlemu"])),
        ]
    finally:
        ws.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--values", type=int, default=100000)
    parser.add_argument("--per-call-values", type=int, default=5000)
    parser.add_argument("--write")
    args = parser.parse_args()
    run(args.runs, args.values, args.per_call_values, args.write)


if __name__ == "__main__":
    main()
