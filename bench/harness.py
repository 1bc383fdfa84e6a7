"""What the benchmarks share: a temporary workspace driven through the CLI, alternating timed
runs, medians, the MLflow virtual environment, and the Markdown section writer and machine line
of run_overhead.py.

Every comparison runs its sides in turn (A, B, A, B, ...) and reports medians, so a burst of load
from another process on the machine lands on both sides instead of one.
"""
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
from run_overhead import CLI, ROOT, machine, replace_section  # noqa: E402,F401

BENCH = os.path.join(ROOT, "bench")
VENV = os.path.join(ROOT, "build", "bench-venv")
VENV_PYTHON = os.path.join(VENV, "bin", "python")
MLFLOW = os.path.join(VENV, "bin", "mlflow")


def today():
    return datetime.date.today().isoformat()


def measured_line(runs, script):
    """The first line of a section: date, machine, repeats and the script that measured it."""
    return "Measured %s on %s; median of %d alternating runs (`bench/%s`)." % (
        today(), machine(), runs, script)


def median_ms(xs):
    return statistics.median(xs) * 1000.0


def alternate(sides, runs):
    """Runs each (name, fn) in turn, `runs` rounds. When fn() returns a float, that is the
    number of seconds it measured itself; otherwise its wall time is recorded.
    Returns {name: [seconds, ...]}."""
    out = {name: [] for name, _ in sides}
    for _ in range(runs):
        for name, fn in sides:
            t0 = time.perf_counter()
            got = fn()
            out[name].append(got if isinstance(got, float) else time.perf_counter() - t0)
    return out


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def need_build():
    if not os.path.exists(CLI):
        sys.exit("build first: scripts/build.sh")


def mlflow_venv():
    """build/bench-venv with MLflow, made on first use (pip install mlflow from PyPI). MLflow
    never goes into the system Python, whose TensorFlow needs its own protobuf."""
    if not os.path.exists(MLFLOW):
        print("creating %s and installing MLflow from PyPI (first run only)" % VENV, flush=True)
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([VENV_PYTHON, "-m", "pip", "install", "-q", "mlflow"], check=True)
    return VENV_PYTHON


def mlflow_version():
    return subprocess.run([VENV_PYTHON, "-c", "import mlflow; print(mlflow.__version__)"],
                          capture_output=True, text=True, check=True).stdout.strip()


class TempWorkspace:
    """A workspace under a temporary AMLEMU_HOME, with a folder to submit jobs from."""

    def __init__(self, prefix="amlemu-bench-", base=None):
        self.dir = tempfile.mkdtemp(prefix=prefix, dir=base)
        self.env = dict(os.environ, AMLEMU_HOME=os.path.join(self.dir, "home"))
        with open(os.path.join(self.dir, "config.json"), "w") as f:
            json.dump({"subscription_id": "bench", "resource_group": "bench",
                       "workspace_name": "bench"}, f)
        self.amlemu("workspace", "create")

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def amlemu(self, *argv, stdout=subprocess.PIPE, check=True):
        r = subprocess.run([CLI, *argv], cwd=self.dir, env=self.env, stdout=stdout,
                           stderr=subprocess.PIPE, text=True)
        if check and r.returncode != 0:
            sys.exit("amlemu %s failed:\n%s%s" % (" ".join(argv), (r.stdout or "")[-3000:],
                                                  r.stderr))
        return r

    def datastore_dir(self, name="workspaceblobstore"):
        ws = json.loads(self.amlemu("workspace", "show").stdout)
        return os.path.join(ws["stateDir"], "datastores", name)

    def source(self, name, *scripts):
        """A source folder `name` holding copies of bench/<script>."""
        src = self.path(name)
        os.makedirs(src, exist_ok=True)
        for s in scripts:
            shutil.copy(os.path.join(BENCH, s), src)
        return name

    def job(self, file_name, spec):
        with open(self.path(file_name), "w") as f:
            json.dump(spec, f)
        return file_name

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def table(header, rows, left=1):
    """Markdown table: header is a list of column names; the first `left` columns are
    left-aligned, the rest right-aligned."""
    lines = ["| " + " | ".join(header) + " |",
             "|" + "---|" * left + "---:|" * (len(header) - left)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def write_section(path, heading, lines):
    text = "\n".join(lines).rstrip("\n") + "\n"
    print(text)
    if path:
        replace_section(path, heading, text)
    return text


def summary_row(benchmark, measure, value, goal="", met=None):
    """One row of the summary table of run_all.py."""
    return {"benchmark": benchmark, "measure": measure, "value": value, "goal": goal, "met": met}
