"""What the two stores share: the workspace a ``amlemu://`` URI names, its database connection (the
one ``azureml.core``'s writer keeps, so metrics logged through ``Run.log`` and through MLflow go
into one queue), run history rows as MLflow entities, and the time and status conversions."""
import calendar
import json
import os
import pathlib
import threading
import time
from urllib.parse import unquote, urlparse

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST

from azureml.core import _metrics, _schema
from azureml.core._writer import MetricWriter

SCHEME = "amlemu"

# amlemu's run statuses as MLflow's (RunStatus names), and back.
_TO_MLFLOW = {"NotStarted": "SCHEDULED", "Starting": "SCHEDULED", "Preparing": "SCHEDULED",
              "Queued": "SCHEDULED", "Running": "RUNNING", "Finalizing": "RUNNING",
              "CancelRequested": "RUNNING", "Completed": "FINISHED", "Failed": "FAILED",
              "Canceled": "KILLED"}
FROM_MLFLOW = {"RUNNING": "Running", "SCHEDULED": "Running", "FINISHED": "Completed",
               "FAILED": "Failed", "KILLED": "Canceled"}


def mlflow_status(status):
    return _TO_MLFLOW.get(status, "RUNNING")


def stamp(ms):
    """Epoch milliseconds as amlemu writes times (ISO-8601 UTC with milliseconds)."""
    seconds, millis = divmod(int(ms), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".%03dZ" % millis


def epoch_ms(text):
    """The inverse of :func:`stamp`; None for None."""
    if not text:
        return None
    main, _, rest = text.rstrip("Z").partition(".")
    millis = int((rest + "000")[:3]) if rest else 0
    return calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S")) * 1000 + millis


def not_found(what):
    return MlflowException(what, error_code=RESOURCE_DOES_NOT_EXIST)


def folder_of(store_uri):
    """The workspace folder of ``amlemu:///path/to/workspace``."""
    parsed = urlparse(store_uri)
    if parsed.scheme != SCHEME or not parsed.path:
        raise MlflowException("%r is not an amlemu tracking URI (amlemu:///<workspace folder>)"
                              % store_uri, error_code=INVALID_PARAMETER_VALUE)
    return pathlib.Path(unquote((parsed.netloc or "") + parsed.path))


class WorkspaceFiles:
    """One workspace: its database and its runs' folders."""

    _lock = threading.Lock()
    _writers = {}  # database -> MetricWriter (one per process and database)

    def __init__(self, store_uri):
        self.folder = folder_of(store_uri)
        self.database = str(self.folder / "workspace.db")
        if not os.path.isfile(self.database):
            raise MlflowException("%s: no amlemu workspace database there (from the tracking URI "
                                  "%s)" % (self.database, store_uri),
                                  error_code=INVALID_PARAMETER_VALUE)
        self.job_run_id = os.environ.get("AZUREML_RUN_ID", "")
        self.writer = self._writer()
        with self.writer.connection() as conn:
            version = conn.execute(_schema.READ_SCHEMA_VERSION).fetchone()[0]
        if version < _schema.MLFLOW_SCHEMA_VERSION:
            raise MlflowException("%s has schema version %d; MLflow needs %d: upgrade it with "
                                  "this amlemu (any amlemu command on the workspace does)"
                                  % (self.database, version, _schema.MLFLOW_SCHEMA_VERSION))

    def _writer(self):
        """The writer of azureml.core's run context when it is this workspace's, else our own."""
        with WorkspaceFiles._lock:
            writer = WorkspaceFiles._writers.get(self.database)
            if writer is None:
                if os.environ.get("AMLEMU_DATABASE") and self.job_run_id and os.path.samefile(
                        os.environ["AMLEMU_DATABASE"], self.database):
                    from azureml.core.run import Run
                    writer = Run.get_context()._writer
                else:
                    writer = MetricWriter(self.job_run_id or "-", self.database)
                WorkspaceFiles._writers[self.database] = writer
            return writer

    def artifacts(self, run_id):
        return self.folder / "runs" / run_id / "artifacts"

    def artifact_uri(self, run_id):
        return self.artifacts(run_id).as_uri()

    # ------------------------------------------------------------------------------ reading

    def query(self, sql, args=()):
        with self.writer.connection() as conn:
            return conn.execute(sql, args).fetchall()

    def run_row(self, run_id):
        rows = self.query(_schema.SELECT_RUN, (run_id,))
        if not rows:
            raise not_found("Run '%s' not found" % run_id)
        keys = ("run_id", "experiment_name", "status", "created_time", "start_time", "end_time",
                "tags", "parent_run_id")
        row = dict(zip(keys, rows[0]))
        row["tags"] = json.loads(row["tags"] or "{}")
        return row

    def experiment(self, name=None, experiment_id=None):
        """(name, id, created_time) or None."""
        if name is not None:
            rows = self.query(_schema.SELECT_EXPERIMENT_BY_NAME, (name,))
        else:
            rows = self.query(_schema.SELECT_EXPERIMENT_BY_ID, (str(experiment_id),))
        return rows[0] if rows else None

    def latest_metrics(self, run_id):
        """MLflow's latest value of each scalar metric: highest step, then newest, then largest."""
        latest = {}
        for name, step, value, logged in self.query(_schema.SELECT_RUN_SCALARS, (run_id,)):
            number = to_number(value)
            if number is None:
                continue
            key = (step or 0, epoch_ms(logged), number)
            if name not in latest or key >= latest[name][0]:
                latest[name] = (key, number)
        return {name: (k[0], k[1], v) for name, (k, v) in latest.items()}

    def metric_history(self, run_id, name):
        """[(step, value, ms)] of one metric, in logging order."""
        out = []
        for step, value, logged in self.query(_schema.SELECT_METRIC_HISTORY, (run_id, name)):
            number = to_number(value)
            if number is not None:
                out.append((step or 0, number, epoch_ms(logged)))
        return out

    def params(self, run_id):
        return dict(self.query(_schema.SELECT_PARAMS, (run_id,)))


def to_number(text):
    """A stored metric value (JSON) as MLflow's float, or None when it is not a number."""
    value = _metrics.decode(json.loads(text))
    if type(value) is bool or not isinstance(value, (int, float)):
        return None
    return float(value)
