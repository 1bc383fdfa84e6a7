#!/usr/bin/env python3
"""A sweep's own overhead: 100 trials of a trivial script (it waits --seconds, then logs its
primary metric once), 4 at a time on a 4-node cluster, as an amlemu sweep job; side by side with
the same 100 scripts started directly by a pool of 4 workers (what a user would script without
a sweep tool), and against the ideal: trials x one trial's time / 4, where one trial's time is
the wall time of the same script run alone as an amlemu job. Alternating, median of N.

    python3 bench/sweep_overhead.py [--runs N] [--trials N] [--seconds S] [--write docs/benchmarks.md]
"""
import argparse
import concurrent.futures
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

GOAL = 1.2  # the sweep within 1.2x of the ideal
CONCURRENT = 4

TRIAL = """import sys, time
time.sleep(float(sys.argv[1]))
if len(sys.argv) > 3:  # inside amlemu: log the primary metric to the trial's run
    from azureml.core.run import Run
    Run.get_context().log("acc", float(sys.argv[2]))
"""


def run(runs=3, trials=100, seconds=1.0, write=None):
    harness.need_build()
    ws = harness.TempWorkspace(prefix="amlemu-bench-sweep-")
    try:
        os.makedirs(ws.path("src"))
        with open(ws.path("src", "trial.py"), "w") as f:
            f.write(TRIAL)
        ws.amlemu("compute", "create", "--name", "cluster", "--max-instances", str(CONCURRENT))
        env = "  environment:\n    image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04\n"
        with open(ws.path("sweep.yml"), "w") as f:
            f.write("type: sweep\nexperiment_name: bench-sweep\ncompute: cluster\ntrial:\n"
                    "  command: python trial.py %g ${{search_space.acc}} log\n  code: src\n%s"
                    "search_space:\n  acc: {type: uniform, min_value: 0, max_value: 1}\n"
                    "objective: {goal: maximize, primary_metric: acc}\n"
                    "limits: {max_total_trials: %d, max_concurrent_trials: %d}\n"
                    % (seconds, env, trials, CONCURRENT))
        with open(ws.path("one.yml"), "w") as f:
            f.write("experiment_name: bench-one\ncompute: cluster\ncommand: python trial.py %g 0.5 log\n"
                    "code: src\nenvironment:\n  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04\n"
                    % seconds)

        def sweep():
            ws.amlemu("job", "create", "--file", "sweep.yml", "--stream")

        def one():
            ws.amlemu("job", "create", "--file", "one.yml", "--stream")

        def pool():
            script = ws.path("src", "trial.py")
            with concurrent.futures.ThreadPoolExecutor(CONCURRENT) as ex:
                list(ex.map(lambda i: subprocess.run([sys.executable, script, str(seconds), "0.5"],
                                                     check=True), range(trials)))

        one()  # the environment and the cluster's nodes exist before anything is timed
        t = harness.alternate([("sweep", sweep), ("pool", pool), ("one", one)], runs)
        sweep_s, pool_s, one_s = (statistics.median(t[k]) for k in ("sweep", "pool", "one"))
        ideal = trials * one_s / CONCURRENT
        lines = ["## Sweeps", "",
                 harness.measured_line(runs, "sweep_overhead.py") +
                 " A sweep job of %d trials, %d at a time on a %d-node cluster; each trial runs a "
                 "script that waits %g s and logs its primary metric once (the azureml "
                 "compatibility package). The ideal is %d x one trial's time / %d, one trial's time "
                 "being the same script run alone as an amlemu job (`job create --stream`, start to "
                 "end). The pool is the same %d scripts started directly by %d worker threads, "
                 "without logging: what the sweep costs over scripting it by hand."
                 % (trials, CONCURRENT, CONCURRENT, seconds, trials, CONCURRENT, trials,
                    CONCURRENT), ""]
        lines += harness.table(["measure", "seconds", "sweep is"], [
            ("the sweep (`job create --stream`)", "%.1f" % sweep_s, ""),
            ("the ideal (%d x %.2f s / %d)" % (trials, one_s, CONCURRENT), "%.1f" % ideal,
             "%.2fx the ideal" % (sweep_s / ideal)),
            ("a pool of %d running the bare scripts" % CONCURRENT, "%.1f" % pool_s,
             "%.2fx the pool" % (sweep_s / pool_s)),
        ])
        lines += ["", "Per trial the sweep adds what any run costs (a supervisor, the trial's "
                  "snapshot, its Preparing and node placement, the compatibility package's "
                  "import) and the parent's polling: it reads the trials' metrics and statuses "
                  "at every poll and submits the next trial as soon as a node is free.", ""]
        harness.write_section(write, "## Sweeps", lines)
        return [harness.summary_row("10. sweep, %d trivial trials, 4 nodes" % trials,
                                    "wall time / ideal (trials x trial time / 4)",
                                    "%.2fx (%.1f vs %.1f s; bare pool %.1f s)"
                                    % (sweep_s / ideal, sweep_s, ideal, pool_s),
                                    "within %.1fx" % GOAL, sweep_s / ideal <= GOAL)]
    finally:
        ws.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--write", help="replace this section of the given Markdown file")
    args = p.parse_args()
    for row in run(args.runs, args.trials, args.seconds, write=args.write):
        print(row)


if __name__ == "__main__":
    main()
