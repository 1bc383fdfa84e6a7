#!/usr/bin/env python3
"""Environment builds: a new environment of scikit-learn, pandas and lightgbm built by amlemu
(`amlemu environment build`, which is what a run's Preparing does: uv, from a cold and from a warm
uv cache) against `python -m venv` + `pip install` of the same packages with a warm pip cache,
the way environments were built before uv; and the cache hit a later run gets. Alternating,
median of N. Needs PyPI (the cold cache downloads the wheels each time).

    python3 bench/environments.py [--runs N] [--write docs/benchmarks.md]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PACKAGES = ["scikit-learn", "pandas", "lightgbm"]
GOAL_RATIO = 10      # uv with a warm cache at least 10x faster than pip with a warm cache
GOAL_HIT_MS = 5      # a cache hit under 5 ms


def base_python():
    """The interpreter amlemu builds on by default (pyenv's shim resolved)."""
    return subprocess.run(["python3", "-c", "import sys; print(sys.executable)"],
                          capture_output=True, text=True, check=True).stdout.strip()


def run(runs=3, write=None):
    harness.need_build()
    ws = harness.TempWorkspace(prefix="amlemu-bench-env-")
    scratch = tempfile.mkdtemp(prefix="amlemu-bench-pip-")
    warm_cache = os.path.join(scratch, "uv-warm")
    pip_cache = os.path.join(scratch, "pip-cache")
    python = base_python()
    try:
        with open(ws.path("env.yml"), "w") as f:
            f.write("name: bench-env\nconda_file:\n  dependencies:\n    - pip:\n" +
                    "".join("      - %s\n" % p for p in PACKAGES))

        def amlemu_build(cache):
            env = dict(ws.env, AMLEMU_UV_CACHE=cache)
            r = subprocess.run([harness.CLI, "environment", "build", "--file", "env.yml", "-o", "json"],
                               cwd=ws.dir, env=env, capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit("amlemu environment build failed:\n" + r.stderr[-3000:])
            return json.loads(r.stdout)

        def new_environment(cache):
            t0 = time.perf_counter()
            doc = amlemu_build(cache)
            seconds = time.perf_counter() - t0
            if not doc["built"]:
                sys.exit("the environment was not built anew")
            ws.amlemu("environment", "delete", "--name", doc["name"])  # not timed
            return seconds

        def uv_cold():
            cache = tempfile.mkdtemp(dir=scratch)
            try:
                return new_environment(cache)
            finally:
                shutil.rmtree(cache, ignore_errors=True)

        def pip_warm():
            venv = os.path.join(scratch, "pip-venv")
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([python, "-m", "venv", "--system-site-packages", venv], check=True)
            subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q",
                            "--disable-pip-version-check", "--cache-dir", pip_cache] + PACKAGES,
                           check=True)

        # Warm both caches once, then alternate.
        new_environment(warm_cache)
        pip_warm()
        t = harness.alternate([("pip", pip_warm), ("uv warm", lambda: new_environment(warm_cache)),
                               ("uv cold", uv_cold)], runs)
        pip, warm, cold = (harness.median_ms(t[k]) for k in ("pip", "uv warm", "uv cold"))

        # The cache hit: what a later run's Preparing spends finding the built environment.
        built = amlemu_build(warm_cache)
        hits, walls = [], []
        for _ in range(max(runs, 5) * 4):
            t0 = time.perf_counter()
            doc = amlemu_build(warm_cache)
            walls.append((time.perf_counter() - t0) * 1000)
            hits.append(doc["seconds"] * 1000)
        hit, wall = sorted(hits)[len(hits) // 2], sorted(walls)[len(walls) // 2]
        uv = subprocess.run(["uv", "--version"], capture_output=True, text=True).stdout.strip()
        pip_version = subprocess.run([python, "-m", "pip", "--version"], capture_output=True,
                                     text=True).stdout.split(" from ")[0]
        lines = ["## Environment builds", "",
                 harness.measured_line(runs, "environments.py") +
                 " A new environment of %s on %s (the default interpreter): `amlemu environment "
                 "build` (%s, as a run's Preparing builds it) with uv's cache emptied before each "
                 "build and with it warm, against `python -m venv --system-site-packages` + "
                 "`pip install` of the same packages with pip's cache warm (%s). Each build makes "
                 "a new environment: amlemu's is deleted after each. Wheels come from PyPI."
                 % (", ".join(PACKAGES), python, uv, pip_version), ""]
        lines += harness.table(["measure", "median ms", "against pip (warm cache)"], [
            ("venv + pip install, pip cache warm", "%.0f" % pip, "1x"),
            ("amlemu, uv cache cold", "%.0f" % cold, "%.1fx faster" % (pip / cold)),
            ("amlemu, uv cache warm", "%.0f" % warm, "%.1fx faster" % (pip / warm)),
            ("cache hit: finding the built environment", "%.2f" % hit, ""),
            ("cache hit: `amlemu environment build` end to end", "%.1f" % wall, ""),
        ])
        lines += ["", "Goals: a warm uv cache at least %dx faster than pip with a warm cache; a "
                  "cache hit under %d ms (the lookup Preparing does: the environment's lock and "
                  "marker file, %s)." % (GOAL_RATIO, GOAL_HIT_MS,
                                           "met" if hit < GOAL_HIT_MS else "**missed**"), ""]
        harness.write_section(write, "## Environment builds", lines)
        return [harness.summary_row("8. new environment, sklearn+pandas+lightgbm",
                                    "uv warm cache against pip warm cache",
                                    "%.1fx faster (%.0f vs %.0f ms; cold uv %.0f ms)" % (
                                        pip / warm, warm, pip, cold),
                                    "at least %dx" % GOAL_RATIO, pip / warm >= GOAL_RATIO),
                harness.summary_row("8. environment cache hit", "lookup in Preparing",
                                    "%.2f ms" % hit, "under %d ms" % GOAL_HIT_MS, hit < GOAL_HIT_MS)]
    finally:
        ws.close()
        shutil.rmtree(scratch, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write")
    args = parser.parse_args()
    run(args.runs, args.write)


if __name__ == "__main__":
    main()
