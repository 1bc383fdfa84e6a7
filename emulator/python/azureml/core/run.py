"""``Run.get_context()`` for scripts run by amlemu.

Inside a run, amlemu sets ``AZUREML_RUN_ID`` (as Azure ML does) and ``AMLEMU_DATABASE``, the
workspace's SQLite file; metrics go straight into its ``metrics`` table, batched like the SDK's
client (50 values or one second, and at exit). Outside a run, ``get_context()`` returns an offline
run that prints what it would have logged, as the SDK does.
"""
import atexit
import datetime
import json
import numbers
import os
import shutil
import sqlite3
import threading
import time
import uuid
import warnings

_BATCH_SIZE = int(os.environ.get("AZUREML_METRICS_BATCH_SIZE", "50"))
_FLUSH_SECONDS = 1.0


class RunEnvironmentException(Exception):
    """Raised by ``Run.get_context(allow_offline=False)`` outside a run."""


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _scalar(name, value):
    """Converts a value the way the SDK accepts scalars: int, float, str, bool or None."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        value = int(value)
        if not -(2 ** 63) <= value < 2 ** 63:
            raise ValueError("Metric %s: integer value %d does not fit in 64 bits" % (name, value))
        return value
    if isinstance(value, numbers.Real):
        return float(value)
    warnings.warn("Metric %s: value of type %s is logged as its repr" % (name, type(value).__name__))
    return repr(value)


class _Experiment:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "Experiment(Name: %s)" % self.name


class Run:
    """A run of an experiment. Use ``Run.get_context()`` to get the current one."""

    _context = None

    @classmethod
    def get_context(cls, allow_offline=True, **kwargs):
        """The run this script executes in, or an offline run when there is none."""
        if cls._context is not None:
            return cls._context
        run_id = os.environ.get("AZUREML_RUN_ID")
        database = os.environ.get("AMLEMU_DATABASE")
        if run_id and database:
            cls._context = _SubmittedRun(run_id, database)
        elif allow_offline:
            cls._context = _OfflineRun()
        else:
            raise RunEnvironmentException(
                "Could not load a submitted run, if outside of an execution context, use "
                "experiment.start_logging to initialize an azureml.core.Run.")
        return cls._context


class _OfflineRun(Run):
    """What ``get_context()`` gives outside a run: logging prints instead of recording."""

    def __init__(self):
        self.id = "OfflineRun_" + str(uuid.uuid4())
        self.experiment = None

    def log(self, name, value, description="", step=None):
        print("Attempted to log scalar metric %s:\n%s" % (name, value))

    def log_list(self, name, value, description=""):
        print("Attempted to log list metric %s:\n%s" % (name, value))

    def upload_file(self, name, path_or_stream):
        print("Attempted to track file %s at %s" % (name, path_or_stream))

    def tag(self, key, value=None):
        print("Attempted to tag %s:\n%s" % (key, value))

    def flush(self):
        pass

    def complete(self):
        pass


class _SubmittedRun(Run):
    """The run amlemu started this process for."""

    def __init__(self, run_id, database):
        self.id = run_id
        self.experiment = _Experiment(os.environ.get("AZUREML_ARM_PROJECT_NAME", ""))
        self._database = database
        self._artifacts = os.environ.get("AMLEMU_RUN_ARTIFACTS", "")
        self._pending = []
        self._last_flush = time.monotonic()
        self._lock = threading.Lock()
        self._conn = None
        atexit.register(self.flush)

    def __repr__(self):
        return "Run(Experiment: %s,\nId: %s,\nType: azureml.scriptrun,\nStatus: Running)" % (
            self.experiment.name, self.id)

    def _connection(self):
        if self._conn is None:
            self._conn = sqlite3.connect(self._database, timeout=30, isolation_level=None)
        return self._conn

    def _add(self, name, kind, value, step):
        if not isinstance(name, str) or not name:
            raise ValueError("Metric name must be a non-empty string")
        with self._lock:
            self._pending.append((self.id, name, kind, step, json.dumps(value), _now()))
            due = (len(self._pending) >= _BATCH_SIZE
                   or time.monotonic() - self._last_flush >= _FLUSH_SECONDS)
        if due:
            self.flush()

    def log(self, name, value, description="", step=None):
        """Logs a scalar; logged several times, the metric becomes a list."""
        self._add(name, "scalar", _scalar(name, value), step)

    def log_list(self, name, value, description=""):
        """Logs a list of scalars."""
        self._add(name, "list", [_scalar(name, v) for v in value], None)

    def flush(self):
        """Writes pending metric values to run history in one transaction."""
        with self._lock:
            rows, self._pending = self._pending, []
            self._last_flush = time.monotonic()
            if not rows:
                return
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT INTO metrics (run_id, name, kind, step, value, time) "
                    "VALUES (?, ?, ?, ?, ?, ?)", rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def get_metrics(self, name=None):
        """The run's metrics: a bare value for a metric logged once, else a list."""
        self.flush()
        sql = "SELECT name, kind, value FROM metrics WHERE run_id = ?"
        args = [self.id]
        if name is not None:
            sql += " AND name = ?"
            args.append(name)
        grouped = {}
        for metric, kind, value in self._connection().execute(sql + " ORDER BY id", args):
            grouped.setdefault(metric, []).append((kind, json.loads(value)))
        out = {}
        for metric, values in grouped.items():
            if len(values) == 1:
                out[metric] = values[0][1]
            else:
                flat = []
                for kind, value in values:
                    flat.extend(value if kind == "list" else [value])
                out[metric] = flat
        return out

    def upload_file(self, name, path_or_stream):
        """Copies a file into the run's files under ``name``."""
        if not self._artifacts:
            raise RunEnvironmentException("AMLEMU_RUN_ARTIFACTS is not set")
        target = os.path.normpath(os.path.join(self._artifacts, name))
        if not target.startswith(os.path.normpath(self._artifacts) + os.sep):
            raise ValueError("upload_file: name %r leaves the run's folder" % name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if hasattr(path_or_stream, "read"):
            with open(target, "wb") as out:
                shutil.copyfileobj(path_or_stream, out)
        else:
            shutil.copyfile(path_or_stream, target)

    def tag(self, key, value=None):
        """Sets a tag on the run."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                (tags,) = conn.execute("SELECT tags FROM runs WHERE run_id = ?", (self.id,)).fetchone()
                tags = json.loads(tags)
                tags[key] = "" if value is None else str(value)
                conn.execute("UPDATE runs SET tags = ? WHERE run_id = ?", (json.dumps(tags), self.id))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def complete(self):
        """Flushes metrics; the run's status is set by amlemu when the script exits."""
        self.flush()
