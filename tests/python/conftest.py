"""Shared set-up of the azureml package's tests: the package from the source tree, and workspace
databases built from the C++ side's migrations (emulator/storage/sql/NNN_*.sql), as C++ does.

Run by CTest through run_pytest.sh; by hand: build/test-venv/bin/python -m pytest tests/python.
"""
import json
import math
import os
import re
import sqlite3
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE_DIR = REPO / "emulator" / "python"
SQL_DIR = REPO / "emulator" / "storage" / "sql"
GOLDEN_DIR = REPO / "tests" / "golden"

sys.path.insert(0, str(PACKAGE_DIR))

from azureml.core import _metrics  # noqa: E402
from azureml.core.run import Run  # noqa: E402

MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def migrations():
    """``[(number, path)]`` of every migration, in the order C++ applies them (sorted names)."""
    out = []
    for path in sorted(SQL_DIR.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        assert match, "migration %s is not named NNN_name.sql" % path.name
        out.append((int(match.group(1)), path))
    return out


def make_database(path, version=None, run_id=None, experiment="exp"):
    """A workspace database at ``path`` with the migrations up to ``version`` (default: all)
    applied as ``storage::Database::migrate`` does, and optionally one run ``run_id``."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        for number, sql in migrations():
            if version is not None and number > version:
                break
            conn.executescript("BEGIN IMMEDIATE;\n%s\nPRAGMA user_version=%d;\nCOMMIT;"
                               % (sql.read_text(), number))
        if run_id is not None:
            add_run(conn, run_id, experiment)
    finally:
        conn.close()
    return path


def add_run(conn, run_id, experiment="exp"):
    conn.execute("INSERT OR IGNORE INTO experiments (name, id, created_time) VALUES (?, ?, ?)",
                 (experiment, "00000000-0000-0000-0000-000000000000",
                  "2026-11-26T06:00:00.000Z"))
    conn.execute("INSERT INTO runs (run_id, experiment_name, status, target, created_time, "
                 "definition) VALUES (?, ?, 'Running', 'local', ?, '{}')",
                 (run_id, experiment, "2026-11-26T06:00:00.000Z"))


def set_version(path, version):
    conn = sqlite3.connect(str(path))
    try:
        conn.execute("PRAGMA user_version=%d" % version)
    finally:
        conn.close()


def stored_rows(path, run_id=None):
    """The metrics rows as another connection sees them: ``[(name, kind, step, value, time)]``."""
    conn = sqlite3.connect(str(path))
    try:
        sql = "SELECT name, kind, step, value, time FROM metrics"
        args = ()
        if run_id is not None:
            sql += " WHERE run_id = ?"
            args = (run_id,)
        return conn.execute(sql + " ORDER BY id", args).fetchall()
    finally:
        conn.close()


def canonical(value):
    """``value`` with every non-finite float replaced by the golden file's ``$float`` marker."""
    if type(value) is float and not math.isfinite(value):
        return _metrics.encode(value)
    if type(value) is list:
        return [canonical(v) for v in value]
    if type(value) is dict:
        return {k: canonical(v) for k, v in value.items()}
    return value


def from_golden(value):
    """The inverse of :func:`canonical`: markers become floats (for the golden calls)."""
    if type(value) is dict:
        if set(value) == {_metrics.FLOAT_MARKER}:
            return _metrics.decode(value)
        return {k: from_golden(v) for k, v in value.items()}
    if type(value) is list:
        return [from_golden(v) for v in value]
    return value


def load_golden(name):
    with open(GOLDEN_DIR / name, encoding="utf-8") as f:
        return json.load(f)


def package_env(**extra):
    """The environment for a child Python that imports the package from the source tree."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PACKAGE_DIR)] + (
        [env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.update(extra)
    return env


@pytest.fixture
def database(tmp_path):
    """A fresh workspace database of the current schema with the run ``exp_1_aaaaaaaa``."""
    return make_database(tmp_path / "workspace.db", run_id="exp_1_aaaaaaaa")


@pytest.fixture
def submitted(tmp_path, monkeypatch):
    """A factory of submitted runs: ``submitted(run_id, database=None)`` sets the variables amlemu
    sets for a run, works in a fresh folder, and returns ``Run.get_context()``."""

    def make(run_id="exp_1_aaaaaaaa", database=None, experiment="exp"):
        if database is None:
            database = make_database(tmp_path / "workspace.db", run_id=run_id,
                                     experiment=experiment)
        artifacts = tmp_path / "artifacts"
        work = tmp_path / "work"
        artifacts.mkdir(exist_ok=True)
        work.mkdir(exist_ok=True)
        monkeypatch.chdir(work)
        monkeypatch.setenv("AZUREML_RUN_ID", run_id)
        monkeypatch.setenv("AMLEMU_DATABASE", str(database))
        monkeypatch.setenv("AMLEMU_RUN_ARTIFACTS", str(artifacts))
        monkeypatch.setattr(Run, "_context", None)
        return Run.get_context()

    return make
