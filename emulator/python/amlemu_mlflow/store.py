"""MLflow's tracking store on amlemu's run history (the ``amlemu`` URI scheme).

What each MLflow call becomes:

- ``log_metric``/``log_metrics``/``log_batch`` metrics: rows of the ``metrics`` table, kind
  ``scalar``, with the metric's step and timestamp: the rows ``Run.log`` writes, queued and
  written in batches by the same writer (see ``azureml.core._writer``);
- params: ``run_params`` (set once; another value for a key is MLflow's own error);
- tags (``set_tag``, and MLflow's ``mlflow.*`` system tags): the run's tags;
- artifacts: files in the run's files folder (``artifact_uri`` is that folder, so MLflow's own
  local artifact repository copies them), recorded in run history when the run ends;
- ``log_model`` (MLflow 3): a logged model whose files are a folder of the run's files named after
  the model (``model/``, then ``model_2/``...), with its ``MLmodel``;
- ``start_run()`` in a job: attaches to the job's run (``MLFLOW_RUN_ID``); a new run, nested or
  not, becomes a child run of the job's run (or of its ``mlflow.parentRunId``);
- ``end_run()``: the job's own status stays amlemu's (it ends when the script does); a child run
  takes the status given (FINISHED -> Completed, FAILED -> Failed, KILLED -> Canceled);
- ``log_inputs``/``log_outputs`` (datasets, model links): accepted and not stored.

Validation is MLflow's (``mlflow.utils.validation``), so bad input gets MLflow's own messages and
stores nothing.
"""
import json
import os
import uuid

from mlflow.entities import (Experiment, LifecycleStage, Metric, Param, Run, RunData, RunInfo,
                             RunStatus, RunTag)
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking.abstract_store import AbstractStore
from mlflow.utils import validation
from mlflow.utils.search_utils import SearchExperimentsUtils, SearchUtils

from azureml.core import _metrics, _schema
from amlemu_mlflow._workspace import (FROM_MLFLOW, WorkspaceFiles, epoch_ms, mlflow_status,
                                      not_found, stamp)

try:  # MLflow 3
    from mlflow.entities import LoggedModel, LoggedModelStatus
    from mlflow.utils.search_utils import SearchLoggedModelsUtils
except ImportError:  # MLflow 2: no logged models
    LoggedModel = LoggedModelStatus = SearchLoggedModelsUtils = None

_PARENT_TAG = "mlflow.parentRunId"
_RUN_NAME_TAG = "mlflow.runName"
_USER_TAG = "mlflow.user"


def _now_ms():
    import time
    return int(time.time() * 1000)


class AmlemuTrackingStore(AbstractStore):
    """Run history of the workspace at ``amlemu:///<workspace folder>``."""

    def __init__(self, store_uri=None, artifact_uri=None):
        super().__init__()
        self.store_uri = store_uri
        self.ws = WorkspaceFiles(store_uri)
        self._runs = set()  # run ids known to exist

    # -------------------------------------------------------------------------- experiments

    def _experiment(self, row):
        name, experiment_id, created = row
        created_ms = epoch_ms(created)
        return Experiment(experiment_id, name, (self.ws.folder / "runs").as_uri(),
                          LifecycleStage.ACTIVE, tags={}, creation_time=created_ms,
                          last_update_time=created_ms)

    def get_experiment(self, experiment_id):
        row = self.ws.experiment(experiment_id=experiment_id)
        if row is None:
            raise not_found("No Experiment with id=%s exists" % experiment_id)
        return self._experiment(row)

    def get_experiment_by_name(self, experiment_name):
        row = self.ws.experiment(name=experiment_name)
        return None if row is None else self._experiment(row)

    def create_experiment(self, name, artifact_location=None, tags=None):
        validation._validate_experiment_name(name)
        if self.ws.experiment(name=name) is not None:
            from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS
            raise MlflowException("Experiment '%s' already exists." % name,
                                  error_code=RESOURCE_ALREADY_EXISTS)
        experiment_id = str(uuid.uuid4())
        with self.ws.writer.transaction() as conn:
            conn.execute(_schema.INSERT_EXPERIMENT, (name, experiment_id, stamp(_now_ms())))
        return experiment_id

    def search_experiments(self, view_type=None, max_results=None, filter_string=None,
                           order_by=None, page_token=None):
        experiments = [self._experiment(r) for r in self.ws.query(_schema.SELECT_EXPERIMENTS)]
        experiments = SearchExperimentsUtils.filter(experiments, filter_string)
        experiments = SearchExperimentsUtils.sort(experiments,
                                                  order_by or ["creation_time DESC"])
        found, token = SearchUtils.paginate(experiments, page_token, max_results or 1000)
        return PagedList(found, token)

    def delete_experiment(self, experiment_id):
        raise MlflowException("amlemu keeps every experiment: delete_experiment is not supported",
                              error_code=INVALID_PARAMETER_VALUE)

    def restore_experiment(self, experiment_id):
        self.get_experiment(experiment_id)

    def rename_experiment(self, experiment_id, new_name):
        raise MlflowException("amlemu experiments keep their names: rename_experiment is not "
                              "supported", error_code=INVALID_PARAMETER_VALUE)

    def set_experiment_tag(self, experiment_id, tag):
        self.get_experiment(experiment_id)  # accepted, not stored

    # --------------------------------------------------------------------------------- runs

    def _run_info(self, row):
        experiment = self.ws.experiment(name=row["experiment_name"])
        tags = row["tags"]
        end = epoch_ms(row["end_time"]) if row["end_time"] else None
        return RunInfo(row["run_id"], experiment[1] if experiment else "", tags.get(_USER_TAG, ""),
                       mlflow_status(row["status"]),
                       epoch_ms(row["start_time"] or row["created_time"]), end,
                       LifecycleStage.ACTIVE, self.ws.artifact_uri(row["run_id"]),
                       run_name=tags.get(_RUN_NAME_TAG, row["run_id"]))

    def _run(self, row):
        run_id = row["run_id"]
        self.ws.writer.flush()
        metrics = [Metric(name, value, ms, step)
                   for name, (step, ms, value) in self.ws.latest_metrics(run_id).items()]
        params = [Param(k, v) for k, v in self.ws.params(run_id).items()]
        tags = [RunTag(k, v) for k, v in row["tags"].items()]
        return Run(self._run_info(row), RunData(metrics=metrics, params=params, tags=tags))

    def get_run(self, run_id):
        return self._run(self.ws.run_row(run_id))

    def create_run(self, experiment_id, user_id, start_time, tags, run_name):
        """A new MLflow run inside a job is a child run of the job's run (of the run its
        ``mlflow.parentRunId`` tag names, when it has one)."""
        tags = {t.key: t.value for t in (tags or [])}
        parent = tags.get(_PARENT_TAG) or self.ws.job_run_id
        if not parent:
            raise MlflowException("amlemu creates MLflow runs inside its runs only: submit the "
                                  "script as a job (amlemu job create)",
                                  error_code=INVALID_PARAMETER_VALUE)
        self.ws.run_row(parent)  # the parent must exist
        run_id = uuid.uuid4().hex
        if run_name:
            tags[_RUN_NAME_TAG] = run_name
        if user_id:
            tags.setdefault(_USER_TAG, user_id)
        start = stamp(start_time or _now_ms())
        with self.ws.writer.transaction() as conn:
            conn.execute(_schema.INSERT_CHILD_RUN,
                         (run_id, start, start, json.dumps(tags), parent, parent))
            conn.execute(_schema.INSERT_RUN_STATUS, (run_id, "Running", start, run_id))
        self.ws.artifacts(run_id).mkdir(parents=True, exist_ok=True)
        return self.get_run(run_id)

    def update_run_info(self, run_id, run_status, end_time, run_name):
        row = self.ws.run_row(run_id)
        status = RunStatus.to_string(run_status) if isinstance(run_status, int) else run_status
        if run_name:
            self._merge_tags(run_id, {_RUN_NAME_TAG: run_name})
        # The job's own run ends when its script does, as amlemu records it; only the runs
        # MLflow created take the status MLflow gives.
        if run_id != self.ws.job_run_id:
            new = FROM_MLFLOW.get(status, "Running")
            if new != row["status"]:
                ended = stamp(end_time or _now_ms()) if new != "Running" else None
                with self.ws.writer.transaction() as conn:
                    conn.execute(_schema.UPDATE_RUN_STATUS, (new, ended, run_id))
                    conn.execute(_schema.INSERT_RUN_STATUS,
                                 (run_id, new, ended or stamp(_now_ms()), run_id))
                    if ended:
                        self._record_files(conn, run_id)
        return self._run_info(self.ws.run_row(run_id))

    def _record_files(self, conn, run_id):
        """The files MLflow copied into a child run's folder, into run history (the job's own
        run records its files when it ends)."""
        root = self.ws.artifacts(run_id)
        for folder, _, files in os.walk(root):
            for name in files:
                path = os.path.join(folder, name)
                conn.execute(_schema.INSERT_RUN_FILE,
                             (run_id, os.path.relpath(path, root).replace(os.sep, "/"),
                              os.path.getsize(path)))

    def delete_run(self, run_id):
        raise MlflowException("amlemu keeps every run: delete_run is not supported",
                              error_code=INVALID_PARAMETER_VALUE)

    def restore_run(self, run_id):
        self.ws.run_row(run_id)

    def _search_runs(self, experiment_ids, filter_string, run_view_type, max_results, order_by,
                     page_token):
        runs = []
        for experiment_id in experiment_ids:
            experiment = self.ws.experiment(experiment_id=experiment_id)
            if experiment is None:
                continue
            for (run_id,) in self.ws.query(_schema.SELECT_EXPERIMENT_RUN_IDS, (experiment[0],)):
                runs.append(self.get_run(run_id))
        runs = SearchUtils.filter(runs, filter_string)
        runs = SearchUtils.sort(runs, order_by)
        return SearchUtils.paginate(runs, page_token, max_results)

    # ------------------------------------------------------------------------------ logging

    def log_batch(self, run_id, metrics, params, tags):
        metrics, params, tags = self._validated(metrics, params, tags)
        self._known_run(run_id)
        if params:
            known = self.ws.params(run_id)
            changed = [p for p in params if p.key in known and known[p.key] != p.value]
            if changed:
                p = changed[0]
                raise MlflowException(
                    "Changing param values is not allowed. Param with key='%s' was already "
                    "logged with value='%s' for run ID='%s'. Attempted logging new value '%s'."
                    % (p.key, known[p.key], run_id, p.value), error_code=INVALID_PARAMETER_VALUE)
        if params or tags:
            with self.ws.writer.transaction() as conn:
                conn.executemany(_schema.INSERT_PARAM,
                                 [(run_id, p.key, str(p.value)) for p in params])
                if tags:
                    current = json.loads(conn.execute(_schema.SELECT_RUN_JSON["tags"],
                                                      (run_id,)).fetchone()[0] or "{}")
                    current.update({t.key: str(t.value) for t in tags})
                    conn.execute(_schema.UPDATE_RUN_JSON["tags"], (json.dumps(current), run_id))
        if metrics:
            metrics = self._without_relinked(run_id, metrics)
            scalar, as_json = _metrics.SCALAR, _metrics.scalar_json
            self.ws.writer.add_many([(m.key, scalar, int(m.step or 0), as_json(float(m.value)),
                                      int(m.timestamp)) for m in metrics], run_id=run_id)

    def _known_run(self, run_id):
        """Raises MLflow's not-found error for a run that does not exist (runs are never
        deleted, so each is looked up once)."""
        if run_id not in self._runs:
            self.ws.run_row(run_id)
            self._runs.add(run_id)

    @staticmethod
    def _validated(metrics, params, tags):
        """MLflow's own validation (its messages), with the per-value checks of a metric whose
        key was already checked done inline: a float or int value, an int timestamp >= 0 and an
        int step pass as MLflow's checks would pass them; anything else goes through MLflow's."""
        validation._validate_batch_log_limits(metrics, params, tags)
        checked = set()
        for index, m in enumerate(metrics):
            value, stamp, step = m.value, m.timestamp, m.step
            if (m.key in checked and (type(value) is float or type(value) is int)
                    and type(stamp) is int and stamp >= 0 and type(step) is int):
                continue
            validation._validate_metric(m.key, value, stamp, step, path="metrics[%d]" % index)
            checked.add(m.key)
        validation._validate_param_keys_unique(params)
        # MLflow 3 gives back params and tags truncated to its limits (with a warning).
        result = validation._validate_batch_log_data([], params, tags)
        if result is not None:
            _, params, tags = result
        return metrics, params, tags

    def _without_relinked(self, run_id, metrics):
        """Less the values MLflow 3 logs again to link them to a logged model (same key, step,
        time and value as a stored one, with a model_id): MLflow's own stores keep one row."""
        linked = {m.key for m in metrics if getattr(m, "model_id", None)}
        if not linked:
            return metrics
        self.ws.writer.flush()
        stored = {key: set(self.ws.metric_history(run_id, key)) for key in linked}
        return [m for m in metrics
                if not (getattr(m, "model_id", None) and
                        (int(m.step or 0), float(m.value), int(m.timestamp)) in stored[m.key])]

    def _merge_tags(self, run_id, values):
        with self.ws.writer.transaction() as conn:
            current = json.loads(conn.execute(_schema.SELECT_RUN_JSON["tags"],
                                              (run_id,)).fetchone()[0] or "{}")
            current.update(values)
            conn.execute(_schema.UPDATE_RUN_JSON["tags"], (json.dumps(current), run_id))

    def delete_tag(self, run_id, key):
        with self.ws.writer.transaction() as conn:
            current = json.loads(conn.execute(_schema.SELECT_RUN_JSON["tags"],
                                              (run_id,)).fetchone()[0] or "{}")
            if key not in current:
                raise MlflowException("No tag with name: %s in run with id %s" % (key, run_id),
                                      error_code=INVALID_PARAMETER_VALUE)
            del current[key]
            conn.execute(_schema.UPDATE_RUN_JSON["tags"], (json.dumps(current), run_id))

    def get_metric_history(self, run_id, metric_key, max_results=None, page_token=None):
        self.ws.run_row(run_id)
        self.ws.writer.flush()
        history = [Metric(metric_key, value, ms, step)
                   for step, value, ms in self.ws.metric_history(run_id, metric_key)]
        if max_results is not None or page_token is not None:
            found, token = SearchUtils.paginate(history, page_token, max_results or len(history))
            return PagedList(found, token)
        return PagedList(history, None)

    def log_inputs(self, run_id, datasets=None, models=None):
        self.ws.run_row(run_id)  # dataset and model inputs are accepted, not stored

    def log_outputs(self, run_id, models):
        self.ws.run_row(run_id)

    def record_logged_model(self, run_id, mlflow_model):
        """MLflow 2's ``log_model``: the model's description in the run's
        ``mlflow.log-model.history`` tag, as MLflow's own stores keep it."""
        row = self.ws.run_row(run_id)
        history = json.loads(row["tags"].get("mlflow.log-model.history", "[]"))
        history.append(mlflow_model.to_dict())
        self._merge_tags(run_id, {"mlflow.log-model.history": json.dumps(history)})

    # ----------------------------------------------------------------- logged models (MLflow 3)

    def _logged_model(self, row):
        (model_id, run_id, name, path, model_type, status, tags, params, created, updated,
         experiment_name) = row
        experiment = self.ws.experiment(name=experiment_name)
        return LoggedModel(experiment_id=experiment[1] if experiment else "", model_id=model_id,
                           name=name, artifact_location=(self.ws.artifacts(run_id) / path).as_uri(),
                           creation_timestamp=created, last_updated_timestamp=updated,
                           model_type=model_type, source_run_id=run_id,
                           status=LoggedModelStatus(status), tags=json.loads(tags),
                           params=json.loads(params))

    def _logged_model_row(self, model_id):
        rows = self.ws.query(_schema.SELECT_LOGGED_MODEL, (model_id,))
        if not rows:
            raise not_found("Logged model with ID '%s' not found." % model_id)
        return rows[0]

    def create_logged_model(self, experiment_id, name=None, source_run_id=None, tags=None,
                            params=None, model_type=None):
        """The model's files go to a folder of its run's files named after it (``model``; then
        ``model_2``, ``model_3``... when the run logs more models of that name)."""
        run_id = source_run_id or self.ws.job_run_id
        self.ws.run_row(run_id)
        name = name or "model"
        taken = {p for (p,) in self.ws.query(_schema.SELECT_LOGGED_MODEL_PATHS, (run_id,))}
        path, n = name, 1
        while path in taken or (self.ws.artifacts(run_id) / path).exists():
            n += 1
            path = "%s_%d" % (name, n)
        model_id = "m-" + uuid.uuid4().hex
        now = _now_ms()
        with self.ws.writer.transaction() as conn:
            conn.execute(_schema.INSERT_LOGGED_MODEL,
                         (model_id, run_id, name, path, model_type, LoggedModelStatus.PENDING.value,
                          json.dumps({t.key: t.value for t in tags or []}),
                          json.dumps({p.key: p.value for p in params or []}), now, now))
        return self.get_logged_model(model_id)

    def get_logged_model(self, model_id, allow_deleted=False):
        return self._logged_model(self._logged_model_row(model_id))

    def finalize_logged_model(self, model_id, status):
        self._logged_model_row(model_id)
        if isinstance(status, int) and not isinstance(status, LoggedModelStatus):
            status = LoggedModelStatus.from_int(status)
        with self.ws.writer.transaction() as conn:
            conn.execute(_schema.UPDATE_LOGGED_MODEL_STATUS,
                         (LoggedModelStatus(status).value, _now_ms(), model_id))
        return self.get_logged_model(model_id)

    def _update_model_json(self, model_id, column, change):
        """Rewrites a logged model's ``tags`` or ``params`` (JSON) with ``change``."""
        row = self._logged_model_row(model_id)
        value = json.dumps(change(json.loads(row[6 if column == "tags" else 7])))
        with self.ws.writer.transaction() as conn:
            if column == "tags":
                conn.execute(_schema.UPDATE_LOGGED_MODEL_TAGS, (value, _now_ms(), model_id))
            else:
                conn.execute(_schema.UPDATE_LOGGED_MODEL_PARAMS, (value, _now_ms(), model_id))

    def set_logged_model_tags(self, model_id, tags):
        values = {t.key: t.value for t in tags}
        self._update_model_json(model_id, "tags", lambda current: {**current, **values})

    def delete_logged_model_tag(self, model_id, key):
        self._update_model_json(model_id, "tags",
                                lambda current: {k: v for k, v in current.items() if k != key})

    def log_logged_model_params(self, model_id, params):
        values = {p.key: p.value for p in params}
        self._update_model_json(model_id, "params", lambda current: {**current, **values})

    def search_logged_models(self, experiment_ids, filter_string=None, datasets=None,
                             max_results=None, order_by=None, page_token=None):
        wanted = {str(e) for e in experiment_ids}
        models = [m for m in (self._logged_model(r)
                              for r in self.ws.query(_schema.SELECT_LOGGED_MODELS))
                  if m.experiment_id in wanted]
        models = SearchLoggedModelsUtils.filter_logged_models(models, filter_string, datasets)
        return PagedList(models[:max_results] if max_results else models, None)

    def delete_logged_model(self, model_id):
        raise MlflowException("amlemu keeps every logged model: delete_logged_model is not "
                              "supported", error_code=INVALID_PARAMETER_VALUE)
