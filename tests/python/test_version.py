"""The schema-version rule: the package refuses a database newer than it knows (or one that is not
an amlemu database) with a one-line message, checks once per connection, never creates a
database, and sets its connections up like C++ does."""
import os
import sqlite3
import subprocess
import sys

import pytest

from azureml.core import _schema
from azureml.core._writer import MetricWriter
from azureml.exceptions import AzureMLException, SchemaVersionError
from conftest import make_database, package_env, set_version, stored_rows


def test_a_newer_database_is_refused_with_one_line_naming_both_versions(submitted, database):
    set_version(database, _schema.SCHEMA_VERSION + 1)
    with pytest.raises(SchemaVersionError) as caught:
        submitted(database=database)
    message = str(caught.value)
    assert message == (
        "%s has schema version %d but this azureml package knows up to %d: use the amlemu build "
        "that created it (its own azureml package matches)"
        % (database, _schema.SCHEMA_VERSION + 1, _schema.SCHEMA_VERSION))
    assert "\n" not in message
    assert isinstance(caught.value, AzureMLException)


def test_a_database_without_schema_is_refused(submitted, tmp_path):
    path = tmp_path / "empty.db"
    sqlite3.connect(str(path)).close()
    with pytest.raises(SchemaVersionError, match="schema version 0 but this azureml package "
                                                 "needs 1 to %d" % _schema.SCHEMA_VERSION):
        submitted(database=path)


def test_a_refused_database_is_left_unchanged(submitted, database):
    set_version(database, 99)
    with pytest.raises(SchemaVersionError):
        submitted(database=database)
    conn = sqlite3.connect(str(database))
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 99
        assert conn.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] == 0
    finally:
        conn.close()


@pytest.mark.parametrize("version", range(_schema.OLDEST_SCHEMA_VERSION, _schema.SCHEMA_VERSION))
def test_an_older_supported_database_is_used(tmp_path, submitted, version):
    path = make_database(tmp_path / "old.db", version=version, run_id="exp_1_aaaaaaaa")
    run = submitted(database=path)
    run.log("loss", 0.5)
    run.tag("k", "v")
    assert run.get_metrics() == {"loss": 0.5}
    assert run.get_tags() == {"k": "v"}


def test_a_missing_database_is_not_created(tmp_path, submitted):
    missing = tmp_path / "nowhere.db"
    with pytest.raises(sqlite3.OperationalError, match="cannot open %s" % missing):
        submitted(database=missing)
    assert not missing.exists()


def test_the_version_is_checked_once_per_connection(database, monkeypatch):
    calls = []
    real = _schema.check_version
    monkeypatch.setattr(_schema, "check_version", lambda *a: calls.append(a) or real(*a))
    writer = MetricWriter("exp_1_aaaaaaaa", str(database), batch_size=100)
    for i in range(1000):  # ten batches, one connection
        writer.add("loss", "scalar", i, "0.5")
    writer.flush()
    assert len(stored_rows(database)) == 1000
    assert len(calls) == 1


def test_connections_are_set_up_like_cpp(database):
    writer = MetricWriter("exp_1_aaaaaaaa", str(database))
    with writer.connection() as conn:
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # set by the creator


def test_foreign_keys_are_enforced(database):
    writer = MetricWriter("exp_9_not_a_run", str(database))
    writer.add("loss", "scalar", None, "0.5")
    with pytest.raises(sqlite3.IntegrityError):
        writer.flush()
    writer._pending.clear()  # not to be written at exit


def test_a_script_on_a_newer_database_stops_at_get_context_with_the_message(tmp_path, database):
    set_version(database, _schema.SCHEMA_VERSION + 1)
    script = ("from azureml.core import Run\n"
              "run = Run.get_context()\n"
              "print('not reached')\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=str(tmp_path), capture_output=True,
                          text=True, timeout=60,
                          env=package_env(AZUREML_RUN_ID="exp_1_aaaaaaaa",
                                          AMLEMU_DATABASE=str(database),
                                          AMLEMU_RUN_ARTIFACTS=str(tmp_path)))
    assert done.returncode == 1
    assert "not reached" not in done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last == ("azureml.exceptions.SchemaVersionError: %s has schema version %d but this "
                    "azureml package knows up to %d: use the amlemu build that created it (its "
                    "own azureml package matches)"
                    % (database, _schema.SCHEMA_VERSION + 1, _schema.SCHEMA_VERSION))
    assert "could not write" not in done.stderr  # nothing else complains at exit
