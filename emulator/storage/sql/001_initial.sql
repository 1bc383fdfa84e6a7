-- Run history, compute targets and the model registry of one workspace.

CREATE TABLE workspace (
  id              TEXT NOT NULL,
  name            TEXT NOT NULL,
  subscription_id TEXT NOT NULL,
  resource_group  TEXT NOT NULL,
  created_time    TEXT NOT NULL
);

CREATE TABLE experiments (
  name         TEXT PRIMARY KEY,
  id           TEXT NOT NULL,
  created_time TEXT NOT NULL
);

CREATE TABLE runs (
  run_id          TEXT PRIMARY KEY,
  experiment_name TEXT NOT NULL REFERENCES experiments(name),
  status          TEXT NOT NULL,
  target          TEXT NOT NULL,
  created_time    TEXT NOT NULL,
  start_time      TEXT,
  end_time        TEXT,
  definition      TEXT NOT NULL,  -- runDefinition, JSON
  properties      TEXT NOT NULL DEFAULT '{}',
  tags            TEXT NOT NULL DEFAULT '{}',
  error           TEXT,           -- {"error": {...}} when Failed
  supervisor_pid  INTEGER
);
CREATE INDEX runs_by_experiment ON runs(experiment_name, created_time DESC);
CREATE INDEX runs_by_time ON runs(created_time DESC);

CREATE TABLE run_status (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  seq    INTEGER NOT NULL,
  status TEXT NOT NULL,
  time   TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
);

-- One row per logged value; kind is 'scalar' (run.log) or 'list' (run.log_list).
CREATE TABLE metrics (
  id     INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  name   TEXT NOT NULL,
  kind   TEXT NOT NULL,
  step   INTEGER,
  value  TEXT NOT NULL,  -- JSON
  time   TEXT NOT NULL
);
CREATE INDEX metrics_by_run ON metrics(run_id, name, id);

CREATE TABLE run_files (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  name   TEXT NOT NULL,  -- relative path in the run's artifacts folder
  size   INTEGER NOT NULL,
  PRIMARY KEY (run_id, name)
);

CREATE TABLE compute_targets (
  name                          TEXT PRIMARY KEY,
  type                          TEXT NOT NULL,
  vm_size                       TEXT NOT NULL,
  vm_priority                   TEXT NOT NULL,
  min_nodes                     INTEGER NOT NULL,
  max_nodes                     INTEGER NOT NULL,
  idle_seconds_before_scaledown INTEGER NOT NULL,
  provisioning_state            TEXT NOT NULL,
  created_time                  TEXT NOT NULL,
  modified_time                 TEXT NOT NULL
);

CREATE TABLE models (
  name            TEXT NOT NULL,
  version         INTEGER NOT NULL,
  path            TEXT NOT NULL,  -- relative to the version's folder
  run_id          TEXT,
  experiment_name TEXT,
  description     TEXT NOT NULL DEFAULT '',
  tags            TEXT NOT NULL DEFAULT '{}',
  created_time    TEXT NOT NULL,
  PRIMARY KEY (name, version)
);
