#!/usr/bin/env python3
"""TensorFlow start-up: a 4-worker job (distributed_training tensorflow, worker_count 4, no
parameter server, 2 emulated nodes) of a script that prints its task and exits, submitted with
`amlemu job create --stream`, against the same four processes started by hand, each with a
hand-written TF_CONFIG. Alternating, median of N.

    python3 bench/tf_startup.py [--runs N] [--write docs/benchmarks.md]
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

WORKERS = 4


def run(runs=7, write=None):
    harness.need_build()
    ws = harness.TempWorkspace(prefix="amlemu-bench-tf-")
    try:
        ws.amlemu("compute", "create", "--name", "cluster", "--size", "STANDARD_D2_V2",
                  "--max-instances", "2")
        src = ws.source("src", "tf_hello.py")
        job = ws.job("tf.json", {
            "experiment_name": "tf", "estimator": "TensorFlow", "source_directory": src,
            "entry_script": "tf_hello.py", "compute_target": "cluster", "node_count": 2,
            "user_managed": True,
            "distributed_training": {"type": "tensorflow", "worker_count": WORKERS,
                                     "parameter_server_count": 0}})
        script = os.path.join(harness.BENCH, "tf_hello.py")
        cluster = {"worker": ["localhost:%d" % (2222 + i) for i in range(WORKERS)]}

        def by_hand():
            procs = []
            for i in range(WORKERS):
                tf_config = {"cluster": cluster, "task": {"type": "worker", "index": i},
                             "environment": "cloud"}
                procs.append(subprocess.Popen([sys.executable, script], stdout=subprocess.DEVNULL,
                                              env=dict(os.environ, TF_CONFIG=json.dumps(tf_config))))
            for p in procs:
                if p.wait() != 0:
                    sys.exit("a worker started by hand failed")

        def amlemu():
            out = ws.amlemu("job", "create", "--file", job, "--stream").stdout
            if "hello from worker" not in out:
                sys.exit("the TensorFlow job printed no hello:\n" + out[-2000:])

        amlemu()  # nodes up, caches warm
        t = harness.alternate([("hand", by_hand), ("amlemu", amlemu)], runs)
        h, a = harness.median_ms(t["hand"]), harness.median_ms(t["amlemu"])
        lines = ["## TensorFlow start-up", "",
                 harness.measured_line(runs, "tf_startup.py") +
                 " A job with `distributed_training` `tensorflow`, `worker_count` 4, no parameter "
                 "server, on 2 emulated nodes, whose script prints its task from `TF_CONFIG` and "
                 "exits, against the same four processes started by hand at once, each with a "
                 "hand-written `TF_CONFIG`, waited for together.", ""]
        lines += harness.table(["measure", "median ms"], [
            ("4 workers by hand", "%.0f" % h),
            ("`amlemu job create --stream`, 4 workers on 2 nodes", "%.0f" % a),
            ("added by amlemu", "%.0f (%.2fx)" % (a - h, a / h)),
        ])
        lines += ["", "The added time is the run overhead (submission, supervisor, environment "
                  "lookup, status writes) plus the job folder on each node, the TF_CONFIG of each task "
                  "and a driver log per task, collected at the end.", ""]
        harness.write_section(write, "## TensorFlow start-up", lines)
        return [harness.summary_row("5. TensorFlow start-up, 4 workers",
                                    "wall time, amlemu / by hand",
                                    "%.2fx (+%.0f ms)" % (a / h, a - h))]
    finally:
        ws.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--write")
    args = parser.parse_args()
    run(args.runs, args.write)


if __name__ == "__main__":
    main()
