#!/usr/bin/env python3
"""Every benchmark in one run, each against the tool people use today, side by side: prints a
summary table of ratios against the goals and writes it, with each benchmark's section, into
docs/benchmarks.md.

    python3 bench/run_all.py [--quick] [--only NAME[,NAME...]] [--write FILE | --no-write]

Benchmarks (NAME): overhead, mlflow, metrics, datastore, mpi, tf, history, service (which
needs build/test-venv, which scripts/install-test-venv.sh makes, for its SDK comparison),
environments (which needs PyPI), mlflow-tracking, sweep, endpoint (an online endpoint and its
router). The full run takes
about 15 minutes on 2 cores and needs about 4 GB free under /tmp; --quick uses fewer repeats and
smaller sizes (a smoke test of about 2 minutes) and writes nothing unless --write is given.
The first run creates build/bench-venv and installs MLflow into it from PyPI.
"""
import argparse
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datastore  # noqa: E402
import endpoint_router  # noqa: E402
import environments  # noqa: E402
import harness  # noqa: E402
import history_scale  # noqa: E402
import metrics  # noqa: E402
import mlflow_run  # noqa: E402
import mlflow_tracking  # noqa: E402
import mpi_startup  # noqa: E402
import run_overhead  # noqa: E402
import service  # noqa: E402
import sweep_overhead  # noqa: E402
import tf_startup  # noqa: E402

DOC = os.path.join(harness.ROOT, "docs", "benchmarks.md")

# The sections of docs/benchmarks.md, in the order they are kept.
SECTIONS = ["## Summary", "## Run overhead", "## Against MLflow: one run", "## Metric logging",
            "## Datastore upload and mount", "## MPI start-up", "## TensorFlow start-up",
            "## History at scale", "## Service plane", "## Environment builds",
            "## MLflow inside a run", "## Sweeps", "## Online endpoint router"]


# Another build's bin/amlemu for the run-overhead benchmark to measure alongside (--baseline).
BASELINE = None


def overhead(quick, write):
    r = run_overhead.run(runs=5 if quick else 40, write=write, baseline=BASELINE)
    return [harness.summary_row("1. run overhead, trivial script", "added to the bare script",
                                "%.1f ms (%.0f vs %.0f ms, %.2fx)" % (
                                    r["added_ms"], r["amlemu_ms"], r["bare_ms"],
                                    r["amlemu_ms"] / r["bare_ms"]),
                                "under %d ms" % run_overhead.GOAL_MS,
                                r["added_ms"] < run_overhead.GOAL_MS)]


def endpoint(quick, write):
    r = endpoint_router.run(requests=400 if quick else 2000, write=write)
    return [harness.summary_row("11. online endpoint, one scoring request",
                                "added by the router (key, traffic, forwarding) at p50, against the "
                                "instance alone",
                                "%.2f ms (%.2f vs %.2f ms; %.0f vs %.0f requests/s on one connection)" % (
                                    r["added_ms"], r["routed_ms"], r["direct_ms"], r["routed_rps"],
                                    r["direct_rps"]))]


def mpi(quick, write):
    r = mpi_startup.run(runs=3 if quick else 7, write=write)
    return [harness.summary_row("5. MPI start-up, 8 ranks", "wall time, amlemu / bare `mpirun`",
                                "%.2fx (+%.0f ms)" % (r["ratio"], r["amlemu_ms"] - r["bare_ms"]))]


def service_plane(quick, write):
    r = service.run(quick=quick, write=write)
    rows = [harness.summary_row("7. REST server, " + name, "server time p50 (p99)",
                                "%.1f ms (%.1f)" % (r[name]["p50"], r[name]["p99"]),
                                "under %g ms" % service.GOALS_MS[name],
                                r[name]["p50"] < service.GOALS_MS[name])
            for name in ("job get", "job create")]
    rows.append(harness.summary_row("7. REST server, 16 clients", "requests/s, job get",
                                    "%.0f" % r["rps"]))
    if r["sdk"]:
        rows.append(harness.summary_row("7. trivial job, submit and stream", "wall time, SDK / CLI",
                                        "%.1fx (%.0f vs %.0f ms)" % (r["sdk"]["sdk"] / r["sdk"]["cli"],
                                                                     r["sdk"]["sdk"], r["sdk"]["cli"])))
    return rows


BENCHMARKS = {
    "overhead": overhead,
    "mlflow": lambda quick, write: mlflow_run.run(runs=3 if quick else 9, write=write),
    "metrics": lambda quick, write: metrics.run(
        runs=1 if quick else 3, values=10000 if quick else 100000,
        per_call_values=500 if quick else 5000, write=write),
    "datastore": lambda quick, write: datastore.run(
        runs=2 if quick else 5, files=1000 if quick else 10000, mb=100 if quick else 1024,
        mount_files=6000 if quick else 60000, write=write),
    "mpi": mpi,
    "tf": lambda quick, write: tf_startup.run(runs=3 if quick else 7, write=write),
    "history": lambda quick, write: history_scale.run(
        runs=3 if quick else 5, scale=10000 if quick else 100000, write=write),
    "service": service_plane,
    "environments": lambda quick, write: environments.run(runs=1 if quick else 3, write=write),
    "mlflow-tracking": lambda quick, write: mlflow_tracking.run(
        runs=1 if quick else 3, values=10000 if quick else 100000,
        per_call_values=500 if quick else 5000, write=write),
    "sweep": lambda quick, write: sweep_overhead.run(
        runs=1 if quick else 3, trials=20 if quick else 100, write=write),
    "endpoint": endpoint,
}


def order_sections(path):
    """Keeps the known sections in SECTIONS' order, after the page's introduction."""
    body = open(path).read()
    head, *chunks = body.split("\n## ")
    sections = {("## " + c).split("\n", 1)[0]: "## " + c.rstrip("\n") + "\n" for c in chunks}
    known = [sections.pop(h) for h in SECTIONS if h in sections]
    with open(path, "w") as f:
        f.write(head.rstrip("\n") + "\n\n" + "\n".join(known + list(sections.values())))


def summary(rows, quick, seconds, load):
    lines = ["## Summary", "",
             "Measured %s on %s by `python3 bench/run_all.py%s` (%.1f minutes; load average %.1f "
             "at the start, %.1f at the end, from whatever else ran on the machine); each result "
             "is a ratio or figure measured side by side, alternating runs, medians. The sections "
             "below give the details, and say why a goal is missed and what would close it."
             % (harness.today(), harness.machine(), " --quick" if quick else "", seconds / 60,
                load, os.getloadavg()[0]), ""]
    met = {True: "met", False: "**missed**", None: ""}
    lines += harness.table(["benchmark", "measure", "result", "goal", "goal met"],
                           [(r["benchmark"], r["measure"], r["value"], r["goal"] or "-",
                             met[r["met"]]) for r in rows], left=5)
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller sizes")
    parser.add_argument("--only", help="comma-separated benchmark names (default: all)")
    parser.add_argument("--write", help="Markdown file to write (default: %s; none with --quick)"
                        % os.path.relpath(DOC))
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--baseline", help="another build's bin/amlemu, measured alongside in the "
                                           "run-overhead benchmark (the same machine, the same minutes)")
    args = parser.parse_args()
    global BASELINE
    BASELINE = args.baseline
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        sys.exit("unknown benchmark %s; known: %s" % (", ".join(unknown), ", ".join(BENCHMARKS)))
    write = None if args.no_write else (args.write or (None if args.quick else DOC))
    harness.need_build()

    rows, t0, load = [], time.perf_counter(), os.getloadavg()[0]
    for name in names:
        print("=== %s" % name, flush=True)
        try:
            rows += BENCHMARKS[name](args.quick, write)
        except (Exception, SystemExit) as e:  # one failing benchmark does not stop the others
            traceback.print_exc()
            rows.append(harness.summary_row(name, "failed", str(e).splitlines()[0][:120] if str(e)
                                            else type(e).__name__, met=False))
    text = "\n".join(summary(rows, args.quick, time.perf_counter() - t0, load)) + "\n"
    print(text)
    if write:
        if args.only:  # a partial run must not replace the summary of a full one
            print("--only: the summary in %s is left as it was" % write)
        else:
            harness.replace_section(write, "## Summary", text)
        order_sections(write)
    sys.exit(1 if any(r["measure"] == "failed" for r in rows) else 0)


if __name__ == "__main__":
    main()
