"""MetricWriter: values wait in memory and are written in batches, on flush, after FLUSH_SECONDS,
at exit and on SIGTERM; a failed write keeps them queued."""
import calendar
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from azureml.core import _writer
from azureml.core._writer import MetricWriter, batch_size_from_environment
from conftest import add_run, make_database, package_env, stored_rows

RUN = "exp_1_aaaaaaaa"


@pytest.mark.parametrize("text, size", [("", 1000), ("7", 7), ("0", 1000), ("-3", 1000),
                                        ("many", 1000), ("2.5", 1000)])
def test_the_batch_size_comes_from_the_environment(monkeypatch, text, size):
    monkeypatch.setenv("AZUREML_METRICS_BATCH_SIZE", text)
    assert batch_size_from_environment() == size


def test_values_wait_until_the_batch_is_full(database, monkeypatch):
    monkeypatch.setattr(_writer, "FLUSH_SECONDS", 3600.0)
    writer = MetricWriter(RUN, str(database), batch_size=5)
    for i in range(4):
        writer.add("loss", "scalar", i, str(i))
    assert stored_rows(database) == []
    writer.add("loss", "scalar", 4, "4")  # the fifth fills the batch
    assert [(r[2], r[3]) for r in stored_rows(database)] == [(i, str(i)) for i in range(5)]
    writer.add("loss", "scalar", 5, "5")
    assert len(stored_rows(database)) == 5


def test_flush_writes_every_pending_value_in_logging_order(database, monkeypatch):
    monkeypatch.setattr(_writer, "FLUSH_SECONDS", 3600.0)
    writer = MetricWriter(RUN, str(database), batch_size=1000)
    for i in range(10):
        writer.add("m%d" % (i % 3), "scalar", None, str(i))
    writer.flush()
    assert [(r[0], r[3]) for r in stored_rows(database)] == [("m%d" % (i % 3), str(i))
                                                             for i in range(10)]
    writer.flush()  # nothing pending: no second write
    assert len(stored_rows(database)) == 10


def test_the_oldest_value_is_written_after_flush_seconds(database, monkeypatch):
    monkeypatch.setattr(_writer, "FLUSH_SECONDS", 0.2)
    writer = MetricWriter(RUN, str(database), batch_size=1000)
    writer.add("early", "scalar", None, "1")
    deadline = time.monotonic() + 10
    while not stored_rows(database) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [r[0] for r in stored_rows(database)] == ["early"]


def test_a_failed_write_keeps_the_values_queued(tmp_path, monkeypatch):
    monkeypatch.setattr(_writer, "FLUSH_SECONDS", 3600.0)
    database = make_database(tmp_path / "workspace.db")  # no run yet: the foreign key fails
    writer = MetricWriter(RUN, str(database), batch_size=1000)
    writer.add("loss", "scalar", 0, "1.0")
    writer.add("loss", "scalar", 1, "0.5")
    with pytest.raises(sqlite3.IntegrityError):
        writer.flush()
    assert stored_rows(database) == []
    conn = sqlite3.connect(str(database))
    with conn:
        add_run(conn, RUN)
    conn.close()
    writer.flush()
    assert [(r[2], r[3]) for r in stored_rows(database)] == [(0, "1.0"), (1, "0.5")]


def test_values_are_stamped_like_cpp_iso_utc(database, monkeypatch):
    monkeypatch.setattr(_writer, "FLUSH_SECONDS", 3600.0)
    writer = MetricWriter(RUN, str(database), batch_size=1000)
    before = time.time()
    writer.add("loss", "scalar", None, "1")
    writer.flush()
    stamp = stored_rows(database)[0][4]
    assert len(stamp) == len("2026-11-26T06:00:00.123Z") and stamp.endswith("Z")
    parsed = time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")
    seconds = calendar.timegm(parsed) + int(stamp[20:23]) / 1000
    assert before - 1 <= seconds <= time.time() + 1


def test_stamp_formats_epoch_milliseconds():
    # 2026-11-26T06:00:00Z is 1795672800 s after the epoch.
    assert _writer._stamp(1795672800123) == "2026-11-26T06:00:00.123Z"
    assert _writer._stamp(1795672800000) == "2026-11-26T06:00:00.000Z"
    assert _writer._stamp(5) == "1970-01-01T00:00:00.005Z"


def _run_script(tmp_path, database, body):
    """Runs ``body`` as a script of the run RUN (timed flush off); returns the process."""
    script = tmp_path / "script.py"
    script.write_text("import azureml.core._writer as writer\nwriter.FLUSH_SECONDS = 3600\n"
                      "from azureml.core import Run\nrun = Run.get_context()\n"
                      + textwrap.dedent(body))
    return subprocess.run([sys.executable, str(script)], cwd=str(tmp_path), capture_output=True,
                          text=True, timeout=60,
                          env=package_env(AZUREML_RUN_ID=RUN, AMLEMU_DATABASE=str(database),
                                          AMLEMU_RUN_ARTIFACTS=str(tmp_path)))


def test_pending_values_are_written_at_exit(tmp_path, database):
    done = _run_script(tmp_path, database, """
        run.log("a", 1)
        run.log("b", 2)
    """)
    assert done.returncode == 0, done.stderr
    assert [r[0] for r in stored_rows(database)] == ["a", "b"]


def test_pending_values_are_written_when_the_script_dies_of_an_exception(tmp_path, database):
    done = _run_script(tmp_path, database, """
        run.log("a", 1)
        raise RuntimeError("diverged")
    """)
    assert done.returncode == 1 and "diverged" in done.stderr
    assert [r[0] for r in stored_rows(database)] == ["a"]


def test_pending_values_are_written_on_sigterm_and_the_script_still_dies_of_it(tmp_path,
                                                                                database):
    done = _run_script(tmp_path, database, """
        import os, signal
        run.log("a", 1)
        os.kill(os.getpid(), signal.SIGTERM)
        run.log("not_reached", 1)
    """)
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert [r[0] for r in stored_rows(database)] == ["a"]


def test_a_forked_child_writes_its_own_values_and_not_its_parents(tmp_path, database):
    done = _run_script(tmp_path, database, """
        import multiprocessing
        run.log("parent", 1)
        def child():
            run.log("child", 2)
        p = multiprocessing.get_context("fork").Process(target=child)
        p.start()
        p.join()
        assert p.exitcode == 0
    """)
    assert done.returncode == 0, done.stderr
    assert sorted(r[0] for r in stored_rows(database)) == ["child", "parent"]
