#!/usr/bin/env python3
"""History at scale: `amlemu job list` and `amlemu model list` in a workspace of 100,000 runs
(100 experiments) and 10,000 model versions (100 models), against the same commands in a
workspace of 1/100 of that, alternating, median of N. The rows are written through the library's
own stores by bench/gen_history.cpp (`amlemu-bench-history`, built here on first use).

    python3 bench/history_scale.py [--runs N] [--scale N] [--write docs/benchmarks.md]
"""
import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

GENERATOR = os.path.join(harness.ROOT, "build", "bin", "amlemu-bench-history")
EXPERIMENTS = 100
MODEL_NAMES = 100


def build_generator():
    subprocess.run(["cmake", "--build", os.path.join(harness.ROOT, "build"), "--target",
                    "amlemu-bench-history"], check=True, stdout=subprocess.DEVNULL)


def fill(runs, versions):
    ws = harness.TempWorkspace(prefix="amlemu-bench-history-")
    t0 = time.perf_counter()
    out = subprocess.run([GENERATOR, str(runs), str(EXPERIMENTS), str(versions), str(MODEL_NAMES)],
                         cwd=ws.dir, env=ws.env, capture_output=True, text=True)
    if out.returncode != 0:
        ws.close()
        sys.exit("amlemu-bench-history failed:\n" + out.stdout + out.stderr)
    return ws, time.perf_counter() - t0


def query_plan(ws, sql, *args):
    db = os.path.join(json.loads(ws.amlemu("workspace", "show").stdout)["stateDir"],
                      "workspace.db")
    with sqlite3.connect(db) as conn:
        return "; ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args))


def run(runs=5, scale=100000, write=None):
    harness.need_build()
    build_generator()
    versions = scale // 10
    big, big_s = fill(scale, versions)
    try:
        small, _ = fill(scale // 100, versions // 100)
    except BaseException:
        big.close()
        raise
    try:
        commands = [
            ("`job list --experiment-name exp-7 -r 50`",
             ["job", "list", "--experiment-name", "exp-7", "--max-results", "50"]),
            ("`job list -r 50` (all experiments)", ["job", "list", "--max-results", "50"]),
            ("`job list` (every run)", ["job", "list"]),
            ("`model list` (every version)", ["model", "list"]),
            ("`model list --name model-7 --latest`", ["model", "list", "--name", "model-7", "--latest"]),
            ("`workspace show` (the CLI's floor)", ["workspace", "show"]),
        ]
        rows, figures = [], {}
        for label, argv in commands:
            # Whole-workspace listings print every row: fewer repeats.
            n = max(1, runs // 2) if argv in (["job", "list"], ["model", "list"]) else runs
            t = harness.alternate([
                ("small", lambda: small.amlemu(*argv, stdout=subprocess.DEVNULL)),
                ("big", lambda: big.amlemu(*argv, stdout=subprocess.DEVNULL))], n)
            s, b = harness.median_ms(t["small"]), harness.median_ms(t["big"])
            figures[label] = b
            rows.append((label, "%.0f" % s, "%.0f" % b, "%.1fx" % (b / s)))
        plan_exp = query_plan(big, "SELECT run_id FROM runs WHERE experiment_name = ?1 "
                                   "ORDER BY created_time DESC, rowid DESC LIMIT 50", "exp-7")
        plan_all = query_plan(big, "SELECT run_id FROM runs ORDER BY created_time DESC, rowid DESC "
                                   "LIMIT 50")
        exp_label = commands[0][0]
        exp_ms = figures[exp_label]
        lines = ["## History at scale", "",
                 harness.measured_line(runs, "history_scale.py") +
                 " A workspace of %d runs over %d experiments (each run with its seven statuses) "
                 "and %d model versions over %d models, written through the library's run store "
                 "and model registry by `bench/gen_history.cpp` in one transaction (%.0f s), "
                 "against one of %d runs and %d versions. Each figure is the whole CLI command, "
                 "JSON printed to /dev/null." % (scale, EXPERIMENTS, versions, MODEL_NAMES, big_s,
                                                 scale // 100, versions // 100), ""]
        lines += harness.table(["command", "%d runs, ms" % (scale // 100), "%d runs, ms" % scale,
                                "ratio"], rows)
        lines += ["", "SQLite's plans: one experiment's last 50 runs: `%s`; the last 50 of all: `%s`."
                  % (plan_exp, plan_all), ""]
        lines += ["Goal: one experiment's last 50 runs in under 50 ms; %s (%.0f ms, of which "
                  "about %.0f ms is the CLI's start, as `workspace show` gives). `job list "
                  "--experiment-name` passes `--max-results` to the query (a `LIMIT` on the "
                  "`runs_by_experiment` index), so it reads 50 runs however many the experiment "
                  "holds (%d here). `job list` and `model list` without a limit print every row, "
                  "so they grow with the workspace by design." % (
                      "met" if exp_ms < 50 else "missed", exp_ms, figures[commands[5][0]],
                      scale // EXPERIMENTS), ""]
        harness.write_section(write, "## History at scale", lines)
        return [harness.summary_row("6. history, %d runs" % scale,
                                    "one experiment's last 50 runs (`job list`)",
                                    "%.0f ms" % exp_ms, "under 50 ms", exp_ms < 50),
                harness.summary_row("6. history, %d model versions" % versions,
                                    "`model list`, every version",
                                    "%.0f ms" % figures[commands[3][0]])]
    finally:
        big.close()
        small.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", type=int, default=100000)
    parser.add_argument("--write")
    args = parser.parse_args()
    run(args.runs, args.scale, args.write)


if __name__ == "__main__":
    main()
