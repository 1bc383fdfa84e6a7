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

#: The highest migration number this package knows (``emulator/storage/sql/003_*.sql``).
SCHEMA_VERSION = 5
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


def statements():
    """Every statement above as ``(name, sql)``, those built per column included."""
    out = []
    for name, value in sorted(globals().items()):
        if not name.isupper() or name.startswith("_"):
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
