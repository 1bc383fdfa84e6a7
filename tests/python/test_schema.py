"""The package's SQL against the C++ side's schema: the migrations in emulator/storage/sql/ (the
files C++ compiles in) build the database, and every statement of azureml.core._schema must
prepare against it, at every schema version the package claims to support."""
import ast
import os
import sqlite3
import subprocess

import pytest

from azureml.core import _schema
from conftest import PACKAGE_DIR, make_database, migrations


def prepare(conn, sql):
    """Compiles ``sql`` (``EXPLAIN`` prepares it and runs nothing), its parameters NULL."""
    conn.execute("EXPLAIN " + sql, (None,) * sql.count("?")).fetchall()


def schema_of(path):
    conn = sqlite3.connect(str(path))
    try:
        rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                            "ORDER BY type, name").fetchall()
        return rows, conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def test_migrations_are_numbered_from_1_without_gaps():
    # C++ takes the version from a migration's place in the sorted list: numbers must match it.
    numbers = [number for number, _ in migrations()]
    assert numbers == list(range(1, len(numbers) + 1))


def test_the_package_knows_the_highest_migration():
    assert _schema.SCHEMA_VERSION == migrations()[-1][0], (
        "a migration was added: set azureml.core._schema.SCHEMA_VERSION to its number once the "
        "package's statements are checked against it")
    assert 1 <= _schema.OLDEST_SCHEMA_VERSION <= _schema.SCHEMA_VERSION


def test_a_database_from_the_migrations_has_the_highest_version(tmp_path):
    make_database(tmp_path / "workspace.db")
    assert schema_of(tmp_path / "workspace.db")[1] == _schema.SCHEMA_VERSION


def test_statements_lists_every_statement_those_built_per_column_included():
    names = dict(_schema.statements())
    assert "INSERT_METRIC" in names and "SELECT_METRICS_NAMED" in names
    for column in _schema.RUN_JSON_COLUMNS:
        assert names["SELECT_RUN_JSON[%r]" % column] == _schema.SELECT_RUN_JSON[column]
        assert names["UPDATE_RUN_JSON[%r]" % column] == _schema.UPDATE_RUN_JSON[column]
    for pragma in _schema.CONNECTION_SETUP:
        assert pragma in names.values()
    assert _schema.select_metrics(None) == _schema.SELECT_METRICS
    assert _schema.select_metrics("loss") == _schema.SELECT_METRICS_NAMED


@pytest.mark.parametrize("version", range(_schema.OLDEST_SCHEMA_VERSION,
                                          _schema.SCHEMA_VERSION + 1))
def test_every_statement_prepares_against_each_supported_version(tmp_path, version):
    path = make_database(tmp_path / "workspace.db", version=version)
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        assert _schema.check_version(conn, str(path)) == version
        failed = []
        for name, sql in _schema.statements(version):
            try:
                prepare(conn, sql)
            except sqlite3.Error as e:
                failed.append("%s (%s): %s" % (name, sql, e))
        assert not failed, "\n".join(failed)
    finally:
        conn.close()


def test_every_statement_runs_in_a_rolled_back_transaction(tmp_path):
    path = make_database(tmp_path / "workspace.db", run_id="exp_1_aaaaaaaa")
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute(_schema.SET_FOREIGN_KEYS)
    values = {"INSERT_METRIC": ("exp_1_aaaaaaaa", "loss", "scalar", 1, "0.5",
                                "2026-11-26T06:00:00.123Z"),
              "INSERT_RUN_FILE": ("exp_1_aaaaaaaa", "outputs/a.txt", 3),
              "SELECT_METRICS_NAMED": ("exp_1_aaaaaaaa", "loss"),
              "INSERT_EXPERIMENT": ("other", "e-2", "2026-11-26T06:00:00.000Z"),
              "SELECT_EXPERIMENTS": (),
              "INSERT_CHILD_RUN": ("child_1", "2026-11-26T06:00:00.000Z",
                                   "2026-11-26T06:00:00.000Z", "{}", "exp_1_aaaaaaaa",
                                   "exp_1_aaaaaaaa"),
              "INSERT_RUN_STATUS": ("exp_1_aaaaaaaa", "Running", "2026-11-26T06:00:00.000Z",
                                    "exp_1_aaaaaaaa"),
              "UPDATE_RUN_STATUS": ("Completed", "2026-11-26T06:00:00.000Z", "exp_1_aaaaaaaa"),
              "SELECT_METRIC_HISTORY": ("exp_1_aaaaaaaa", "loss"),
              "INSERT_PARAM": ("exp_1_aaaaaaaa", "lr", "0.1"),
              "INSERT_LOGGED_MODEL": ("m-1", "exp_1_aaaaaaaa", "model", "model", None, "PENDING",
                                      "{}", "{}", 1, 1),
              "SELECT_LOGGED_MODELS": (),
              "UPDATE_LOGGED_MODEL_STATUS": ("READY", 2, "m-1"),
              "UPDATE_LOGGED_MODEL_TAGS": ("{}", 2, "m-1"),
              "UPDATE_LOGGED_MODEL_PARAMS": ("{}", 2, "m-1")}
    try:
        for name, sql in _schema.statements():
            if sql in (_schema.BEGIN, _schema.COMMIT, _schema.ROLLBACK) or sql.startswith("PRAGMA"):
                continue
            args = values.get(name)
            if args is None:
                args = (("{}",) if sql.startswith("UPDATE") else ()) + ("exp_1_aaaaaaaa",)
            assert len(args) == sql.count("?"), name
            conn.execute(_schema.BEGIN)
            try:
                conn.execute(sql, args).fetchall()
            finally:
                conn.execute(_schema.ROLLBACK)
    finally:
        conn.close()


def _sql_calls(tree):
    """``(line, first argument)`` of every ``.execute``/``.executemany``/``.executescript`` call,
    and of every ``.query`` call (amlemu_mlflow's helper, which executes its argument)."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("execute", "executemany", "executescript", "query")
                and node.args):
            yield node.lineno, node.args[0]


def _from_schema(node, loop_names):
    """Whether an expression is a statement of _schema: ``_schema.X``, ``_schema.X[...]``,
    ``_schema.f(...)`` or a loop variable over ``_schema.X``."""
    if isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id in loop_names
    return (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == "_schema")


def test_the_package_runs_no_sql_but_the_statements_of_schema():
    offenders = []
    for folder, _, files in [w for top in ("azureml", "amlemu_mlflow")
                             for w in os.walk(PACKAGE_DIR / top)]:
        for file in files:
            if not file.endswith(".py") or file == "_schema.py":
                continue
            path = os.path.join(folder, file)
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read(), path)
            # The helper's own parameter (WorkspaceFiles.query(sql, args)): its callers are
            # checked instead.
            helper_params = {a.arg for n in ast.walk(tree)
                             if isinstance(n, ast.FunctionDef) and n.name == "query"
                             for a in n.args.args if a.arg == "sql"}
            loop_names = helper_params | {n.target.id for n in ast.walk(tree)
                          if isinstance(n, ast.For) and isinstance(n.target, ast.Name)
                          and _from_schema(n.iter, set())}
            for line, arg in _sql_calls(tree):
                if not _from_schema(arg, loop_names):
                    offenders.append("%s:%d: %s" % (path, line, ast.unparse(arg)))
    assert not offenders, "SQL outside azureml.core._schema:\n" + "\n".join(offenders)


def test_the_database_amlemu_creates_is_the_one_the_migrations_build(tmp_path):
    cli = os.environ.get("AMLEMU_CLI")
    if not cli:
        pytest.skip("AMLEMU_CLI (the amlemu binary) is not set; CTest sets it")
    env = dict(os.environ, AMLEMU_HOME=str(tmp_path / "home"))
    subprocess.run([cli, "workspace", "create", "--name", "ws", "--subscription-id", "s",
                    "--resource-group", "r"], env=env, cwd=str(tmp_path), check=True,
                   stdout=subprocess.DEVNULL)
    made = tmp_path / "home" / "workspaces" / "s" / "r" / "ws" / "workspace.db"
    built = make_database(tmp_path / "built.db")
    assert schema_of(made) == schema_of(built)
    conn = sqlite3.connect(str(made))
    try:
        for _, sql in _schema.statements():
            prepare(conn, sql)
    finally:
        conn.close()
