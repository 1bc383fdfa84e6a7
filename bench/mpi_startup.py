#!/usr/bin/env python3
"""MPI start-up: an 8-rank mpi4py hello job (2 emulated nodes x 4 processes) submitted with
`amlemu job create --stream` against the same program under a bare `mpirun -np 8`, alternating,
median of N.

    python3 bench/mpi_startup.py [--runs N] [--write docs/benchmarks.md]
"""
import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_overhead import CLI, ROOT, machine, replace_section  # noqa: E402

HELLO = os.path.join(ROOT, "bench", "mpi_hello.py")


def run(runs=7, write=None):
    """Measures, prints the section, writes it into `write` when given; returns the figures."""
    work = tempfile.mkdtemp(prefix="amlemu-bench-mpi-")
    try:
        return _measure(work, runs, write)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure(work, runs, write):
    env = dict(os.environ, AMLEMU_HOME=os.path.join(work, "home"))
    with open(os.path.join(work, "config.json"), "w") as f:
        json.dump({"subscription_id": "bench", "resource_group": "bench", "workspace_name": "bench"}, f)
    os.makedirs(os.path.join(work, "src"))
    shutil.copy(HELLO, os.path.join(work, "src"))
    with open(os.path.join(work, "job.json"), "w") as f:
        json.dump({"experiment_name": "mpi", "source_directory": "src", "entry_script": "mpi_hello.py",
                   "compute_target": "cluster", "node_count": 2, "user_managed": True,
                   "distributed_training": {"type": "mpi", "process_count_per_node": 4}}, f)

    def amlemu(*argv):
        r = subprocess.run([CLI, *argv], cwd=work, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("amlemu %s failed:\n%s%s" % (" ".join(argv), r.stdout[-3000:], r.stderr))
        return r

    amlemu("workspace", "create")
    amlemu("compute", "create", "--name", "cluster", "--size", "STANDARD_D2_V2", "--max-instances", "2")
    amlemu("job", "create", "--file", "job.json", "--stream")  # nodes up, warm caches
    bare_cmd = ["mpirun", "-np", "8", "--oversubscribe", "--bind-to", "none"]
    if os.geteuid() == 0:
        bare_cmd.append("--allow-run-as-root")
    bare_cmd += [sys.executable, HELLO]
    bare, emu = [], []
    for _ in range(runs):
        t0 = time.time()
        subprocess.run(bare_cmd, capture_output=True, check=True)
        bare.append(time.time() - t0)
        t0 = time.time()
        amlemu("job", "create", "--file", "job.json", "--stream")
        emu.append(time.time() - t0)
    b, e = statistics.median(bare) * 1000, statistics.median(emu) * 1000
    text = "\n".join([
        "## MPI start-up", "",
        "Measured %s on %s; median of %d alternating runs of an 8-rank mpi4py hello job "
        "(`bench/mpi_startup.py`): amlemu on 2 emulated nodes x 4 processes (hostfile of loopback "
        "addresses, daemons started through amlemu-rsh) against a bare `mpirun -np 8` on one host."
        % (datetime.date.today().isoformat(), machine(), runs), "",
        "| measure | median ms |", "|---|---:|",
        "| bare `mpirun -np 8` | %.0f |" % b,
        "| `amlemu job create --stream`, 8 ranks on 2 nodes | %.0f |" % e,
        "| added by amlemu | %.0f (%.2fx) |" % (e - b, e / b), "",
        "The added time: amlemu starts two daemons through `amlemu-rsh` (one per emulated node) "
        "where the bare run starts none, checks once that the interpreter has mpi4py (so ranks "
        "run under `python -m mpi4py` and fail fast), copies the snapshot to each node and "
        "writes their contexts.", ""])
    print(text)
    if write:
        replace_section(write, "## MPI start-up", text)
    return {"bare_ms": b, "amlemu_ms": e, "ratio": e / b}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--write")
    args = parser.parse_args()
    run(args.runs, args.write)


if __name__ == "__main__":
    main()
