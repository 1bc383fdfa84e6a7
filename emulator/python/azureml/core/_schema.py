"""Every SQL statement the package runs against the workspace database, and the schema it expects.

The database is created and upgraded by amlemu's C++ side only, from the numbered migrations in
``emulator/storage/sql/NNN_*.sql`` (compiled into the binaries); ``PRAGMA user_version`` is the
number of the last migration applied. This package never migrates. It writes with the statements
below, which work with the schemas from :data:`OLDEST_SCHEMA_VERSION` to :data:`SCHEMA_VERSION`
(the highest migration number when the package was last checked against the migrations).

The rule, checked once per connection by :func:`check_version`:

- a database of a newer schema (``user_version`` above :data:`SCHEMA_VERSION`) is refused: it was
  upgraded by a newer amlemu, whose own copy of this package knows its tables;
- a database older than :data:`OLDEST_SCHEMA_VERSION` (0: not an amlemu database) is refused too;
- anything in between is used as it is.

When a migration is added, raise :data:`SCHEMA_VERSION` to its number (and
:data:`OLDEST_SCHEMA_VERSION` when the package's statements need the new migration). The test
``tests/python/test_schema.py`` (run by CTest) builds a database from the same ``.sql`` files and
prepares every statement of :func:`statements` against each supported version; it also fails when
the package runs SQL that is not a constant of this module.

Statements take their arguments as ``?`` parameters; none is built from user input.
"""
from azureml.exceptions import SchemaVersionError

#: The highest migration number this package knows (``emulator/storage/sql/007_*.sql``).
SCHEMA_VERSION = 8
#: The oldest schema the statements below work with: the tables of ``001_initial.sql``.
OLDEST_SCHEMA_VERSION = 1

#: How long a statement waits for another connection's write lock, as every amlemu connection.
BUSY_TIMEOUT_SECONDS = 30

# ------------------------------------------------------- connection set-up (once per connection)

READ_SCHEMA_VERSION = "PRAGMA user_version"
SET_BUSY_TIMEOUT = "PRAGMA busy_timeout = %d" % (BUSY_TIMEOUT_SECONDS * 1000)
SET_SYNCHRONOUS = "PRAGMA synchronous = NORMAL"  # the database is in WAL mode (set by C++)
SET_FOREIGN_KEYS = "PRAGMA foreign_keys = ON"

#: Run in this order by every new connection, after :func:`check_version`.
CONNECTION_SETUP = (SET_BUSY_TIMEOUT, SET_SYNCHRONOUS, SET_FOREIGN_KEYS)

# ----------------------------------------------------------------------------- transactions

BEGIN = "BEGIN IMMEDIATE"  # take the write lock up front, so writers queue on the busy timeout
COMMIT = "COMMIT"
ROLLBACK = "ROLLBACK"

# ---------------------------------------------------------------------------------- metrics

#: One logged value (``_writer``, with ``executemany``): run_id, name, kind, step, value, time.
INSERT_METRIC = ("INSERT INTO metrics (run_id, name, kind, step, value, time) "
                 "VALUES (?, ?, ?, ?, ?, ?)")
#: ``get_metrics()``: run_id.
SELECT_METRICS = "SELECT name, kind, value FROM metrics WHERE run_id = ? ORDER BY id"
#: ``get_metrics(name)``: run_id, name.
SELECT_METRICS_NAMED = ("SELECT name, kind, value FROM metrics WHERE run_id = ? AND name = ? "
                        "ORDER BY id")


def select_metrics(name):
    """The statement for ``get_metrics(name)`` (every metric when ``name`` is None)."""
    return SELECT_METRICS if name is None else SELECT_METRICS_NAMED


# ------------------------------------------------------------------------------------- runs

#: ``get_status()``: run_id.
SELECT_RUN_STATUS = "SELECT status FROM runs WHERE run_id = ?"

#: The JSON columns of ``runs`` that the package reads and rewrites (tags, properties).
RUN_JSON_COLUMNS = ("tags", "properties")
#: Column -> its read statement: run_id.
SELECT_RUN_JSON = {c: "SELECT %s FROM runs WHERE run_id = ?" % c for c in RUN_JSON_COLUMNS}
#: Column -> its write statement: the new JSON text, run_id.
UPDATE_RUN_JSON = {c: "UPDATE runs SET %s = ? WHERE run_id = ?" % c for c in RUN_JSON_COLUMNS}

# ------------------------------------------------------------------------------- run files

#: ``get_file_names()``: run_id.
SELECT_RUN_FILE_NAMES = "SELECT name FROM run_files WHERE run_id = ? ORDER BY name"
#: A file stored by ``upload_file`` or ``log_image``: run_id, name, size.
INSERT_RUN_FILE = "INSERT OR REPLACE INTO run_files (run_id, name, size) VALUES (?, ?, ?)"


# ------------------------------------------------------------------ MLflow (amlemu_mlflow)
# The tracking store of ``amlemu_mlflow`` reads and writes run history with these. Tables of
# migration 006 (run_params, logged_models) exist from schema version 6: the store checks
# MLFLOW_SCHEMA_VERSION before it uses them.

#: The first schema with the MLflow tables.
MLFLOW_SCHEMA_VERSION = 6

#: ``get_experiment_by_name``: name.
SELECT_EXPERIMENT_BY_NAME = "SELECT name, id, created_time FROM experiments WHERE name = ?"
#: ``get_experiment``: id.
SELECT_EXPERIMENT_BY_ID = "SELECT name, id, created_time FROM experiments WHERE id = ?"
#: ``search_experiments``.
SELECT_EXPERIMENTS = "SELECT name, id, created_time FROM experiments ORDER BY created_time"
#: ``create_experiment``: name, id, created_time.
INSERT_EXPERIMENT = "INSERT INTO experiments (name, id, created_time) VALUES (?, ?, ?)"

#: One run as MLflow sees it: run_id.
SELECT_RUN = ("SELECT run_id, experiment_name, status, created_time, start_time, end_time, tags, "
              "parent_run_id FROM runs WHERE run_id = ?")
#: The runs of one experiment, newest first: experiment_name.
SELECT_EXPERIMENT_RUN_IDS = ("SELECT run_id FROM runs WHERE experiment_name = ? "
                             "ORDER BY created_time DESC")
#: A nested MLflow run becomes a child of ``parent``, numbered after its other children, on the
#: parent's target and supervisor: run_id, created_time, start_time, tags, parent, parent.
INSERT_CHILD_RUN = (
    "INSERT INTO runs (run_id, experiment_name, status, target, created_time, start_time, "
    "definition, properties, tags, supervisor_pid, supervisor_start, parent_run_id, child_number) "
    "SELECT ?, experiment_name, 'Running', target, ?, ?, '{}', "
    "'{\"azureml.runsource\": \"mlflow\"}', ?, supervisor_pid, supervisor_start, run_id, "
    "(SELECT COALESCE(MAX(child_number) + 1, 0) FROM runs WHERE parent_run_id = ?) "
    "FROM runs WHERE run_id = ?")
#: The next status of a run: run_id, status, time, run_id.
INSERT_RUN_STATUS = ("INSERT INTO run_status (run_id, seq, status, time) "
                     "SELECT ?, COALESCE(MAX(seq), -1) + 1, ?, ? FROM run_status WHERE run_id = ?")
#: A nested run's status: status, end_time (NULL while it runs), run_id.
UPDATE_RUN_STATUS = "UPDATE runs SET status = ?, end_time = ? WHERE run_id = ?"

#: Every scalar of a run, in logging order (the latest value of each is MLflow's ``metrics``).
SELECT_RUN_SCALARS = ("SELECT name, step, value, time FROM metrics WHERE run_id = ? "
                      "AND kind = 'scalar' ORDER BY id")
#: ``get_metric_history``: run_id, name.
SELECT_METRIC_HISTORY = ("SELECT step, value, time FROM metrics WHERE run_id = ? AND name = ? "
                         "AND kind = 'scalar' ORDER BY id")

#: A run's params: run_id.
SELECT_PARAMS = "SELECT key, value FROM run_params WHERE run_id = ? ORDER BY key"
#: A param set once: run_id, key, value (same value again: no change).
INSERT_PARAM = "INSERT OR IGNORE INTO run_params (run_id, key, value) VALUES (?, ?, ?)"

#: MLflow 3's logged models: model_id, run_id, name, artifact_path, model_type, status, tags,
#: params, created_ms, updated_ms.
INSERT_LOGGED_MODEL = (
    "INSERT INTO logged_models (model_id, run_id, name, artifact_path, model_type, status, tags, "
    "params, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
LOGGED_MODEL_COLUMNS = ("model_id, logged_models.run_id, name, artifact_path, model_type, "
                        "logged_models.status, logged_models.tags, params, created_ms, "
                        "updated_ms, experiment_name")
#: One logged model: model_id.
SELECT_LOGGED_MODEL = ("SELECT %s FROM logged_models JOIN runs USING (run_id) WHERE model_id = ?"
                       % LOGGED_MODEL_COLUMNS)
#: Every logged model, oldest first.
SELECT_LOGGED_MODELS = ("SELECT %s FROM logged_models JOIN runs USING (run_id) "
                        "ORDER BY created_ms" % LOGGED_MODEL_COLUMNS)
#: The folders already taken in a run's artifacts by its logged models: run_id.
SELECT_LOGGED_MODEL_PATHS = "SELECT artifact_path FROM logged_models WHERE run_id = ?"
#: status, updated_ms, model_id.
UPDATE_LOGGED_MODEL_STATUS = ("UPDATE logged_models SET status = ?, updated_ms = ? "
                              "WHERE model_id = ?")
#: tags JSON, updated_ms, model_id.
UPDATE_LOGGED_MODEL_TAGS = "UPDATE logged_models SET tags = ?, updated_ms = ? WHERE model_id = ?"
#: params JSON, updated_ms, model_id.
UPDATE_LOGGED_MODEL_PARAMS = ("UPDATE logged_models SET params = ?, updated_ms = ? "
                              "WHERE model_id = ?")


#: The statements above that need MLFLOW_SCHEMA_VERSION.
MLFLOW_STATEMENTS = frozenset((
    "SELECT_EXPERIMENT_BY_NAME", "SELECT_EXPERIMENT_BY_ID", "SELECT_EXPERIMENTS",
    "INSERT_EXPERIMENT", "SELECT_RUN", "SELECT_EXPERIMENT_RUN_IDS", "INSERT_CHILD_RUN",
    "INSERT_RUN_STATUS", "UPDATE_RUN_STATUS", "SELECT_RUN_SCALARS", "SELECT_METRIC_HISTORY",
    "SELECT_PARAMS", "INSERT_PARAM", "INSERT_LOGGED_MODEL", "SELECT_LOGGED_MODEL",
    "SELECT_LOGGED_MODELS", "SELECT_LOGGED_MODEL_PATHS", "UPDATE_LOGGED_MODEL_STATUS",
    "UPDATE_LOGGED_MODEL_TAGS", "UPDATE_LOGGED_MODEL_PARAMS"))


def statements(version=None):
    """Every statement above as ``(name, sql)``, those built per column included; with a schema
    ``version``, only those that work with it (the MLflow ones need MLFLOW_SCHEMA_VERSION)."""
    out = []
    for name, value in sorted(globals().items()):
        if not name.isupper() or name.startswith("_") or name == "LOGGED_MODEL_COLUMNS":
            continue
        if (version is not None and version < MLFLOW_SCHEMA_VERSION
                and name in MLFLOW_STATEMENTS):
            continue
        if isinstance(value, str):
            out.append((name, value))
        elif isinstance(value, dict):
            out.extend(("%s[%r]" % (name, key), sql) for key, sql in sorted(value.items()))
    return out


def check_version(conn, database):
    """Raises :class:`SchemaVersionError` unless ``conn``'s schema is one the package knows.

    ``database`` is the file's name for the message. Returns the version.
    """
    version = conn.execute(READ_SCHEMA_VERSION).fetchone()[0]
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            "%s has schema version %d but this azureml package knows up to %d: use the amlemu "
            "build that created it (its own azureml package matches)"
            % (database, version, SCHEMA_VERSION))
    if version < OLDEST_SCHEMA_VERSION:
        raise SchemaVersionError(
            "%s has schema version %d but this azureml package needs %d to %d: it is not an "
            "amlemu workspace database (amlemu creates it with `amlemu workspace create`)"
            % (database, version, OLDEST_SCHEMA_VERSION, SCHEMA_VERSION))
    return version
