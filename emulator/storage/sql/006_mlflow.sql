-- MLflow in runs: a run's parameters (set once, as MLflow's log_param), and the models that
-- MLflow 3's log_model creates (a "logged model": files under the run's artifacts, a status,
-- tags and params of its own).

CREATE TABLE run_params (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
);

CREATE TABLE logged_models (
  model_id      TEXT PRIMARY KEY,          -- m-<32 hex>, as MLflow names them
  run_id        TEXT NOT NULL REFERENCES runs(run_id),
  name          TEXT NOT NULL,
  artifact_path TEXT NOT NULL,             -- the folder, relative to the run's artifacts
  model_type    TEXT,
  status        TEXT NOT NULL,             -- PENDING, READY or FAILED
  tags          TEXT NOT NULL DEFAULT '{}',
  params        TEXT NOT NULL DEFAULT '{}',
  created_ms    INTEGER NOT NULL,
  updated_ms    INTEGER NOT NULL
);
CREATE INDEX logged_models_by_run ON logged_models(run_id);
