"""Batched writes of metric values into the workspace's SQLite database.

Logging a value only appends it to an in-memory queue. The queue is written to the ``metrics``
table in one ``BEGIN IMMEDIATE`` transaction (``executemany``):

- when ``batch_size`` values are pending (1000, or ``$AZUREML_METRICS_BATCH_SIZE``), by the
  thread that logs;
- when the oldest pending value is ``FLUSH_SECONDS`` (1 s) old, by a daemon thread, so that a script
  that logs once and then computes for minutes still shows its value;
- on ``flush()`` (and ``get_metrics()``, ``complete()``);
- at interpreter exit (``atexit``), which also covers a script that dies of an uncaught exception
  or calls ``sys.exit``;
- on SIGTERM (how ``amlemu job cancel`` and the run time limit stop a script), when the script has
  no SIGTERM handler of its own: the handler writes the queue, restores the default action and
  re-raises the signal, so the process still ends by SIGTERM;
- in a child made by ``multiprocessing`` with the fork start method, when the child ends.

Values are lost only when the process is killed with SIGKILL or leaves with ``os._exit``.

The connection is set up like every amlemu connection: a 30 s busy timeout,
``PRAGMA synchronous=NORMAL`` (the database is in WAL mode) and ``PRAGMA foreign_keys=ON``. It
opens an existing database only (never creates one) and, once per connection, checks its
``PRAGMA user_version``: a database of a schema the package does not know is refused with
``SchemaVersionError`` (see ``_schema``). Every statement is a constant of ``_schema``. A forked
child never touches its parent's connection or pending values: it starts with an empty queue and
opens its own connection.
"""
import atexit
import collections
import contextlib
import os
import pathlib
import signal
import sqlite3
import sys
import threading
import time

from azureml.core import _schema

DEFAULT_BATCH_SIZE = 1000
FLUSH_SECONDS = 1.0
BUSY_TIMEOUT_SECONDS = _schema.BUSY_TIMEOUT_SECONDS


def batch_size_from_environment():
    """``$AZUREML_METRICS_BATCH_SIZE`` when it is a positive integer, else 1000."""
    try:
        size = int(os.environ.get("AZUREML_METRICS_BATCH_SIZE", ""))
    except ValueError:
        return DEFAULT_BATCH_SIZE
    return size if size > 0 else DEFAULT_BATCH_SIZE


def _stamp(ms):
    """ISO-8601 UTC with milliseconds, as amlemu's C++ clock writes it."""
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".%03dZ" % millis


class MetricWriter:
    """The pending values of one run and the one connection that writes them."""

    def __init__(self, run_id, database, batch_size=None):
        self.run_id = run_id
        self.database = database
        self.batch_size = batch_size or batch_size_from_environment()
        self._reset()
        self._stamp_ms = -1
        self._stamp_text = ""
        self._term_requested = None
        self._warned = False
        atexit.register(self._at_exit)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)
        self._install_sigterm_handler()

    def _reset(self):
        """Fresh per-process state (also what a forked child starts from)."""
        self._pid = os.getpid()
        self._pending = collections.deque()  # appends and poplefts are atomic: no lock needed
        self._oldest = 0.0  # time.monotonic() of the value that made the queue non-empty
        self._wake = threading.Event()
        self._thread = None
        self._conn = None
        # Serialises every use of the connection. Re-entrant so that the SIGTERM handler can
        # flush when it interrupts the main thread just before or after such a use; while the
        # connection is in use (_owner set) the handler defers to the end of that use instead.
        self._lock = threading.RLock()
        self._owner = None

    # ----------------------------------------------------------------------------- queueing

    def add(self, name, kind, step, text, ms=None, run_id=None):
        """Queues one value (``text`` is its JSON); writes the queue when the batch is full.

        ``ms`` is the value's time (epoch milliseconds; default now) and ``run_id`` the run it
        belongs to (default the writer's), for MLflow calls that name both.
        """
        pending = self._pending
        first = not pending
        if first:
            self._oldest = time.monotonic()
        if ms is None:
            ms = int(time.time() * 1000)
        if ms != self._stamp_ms:
            self._stamp_ms = ms
            self._stamp_text = _stamp(ms)
        pending.append((run_id or self.run_id, name, kind, step, text, self._stamp_text))
        if first:  # wake the daemon thread: this value must be written within FLUSH_SECONDS
            if self._thread is None:
                self._start_thread()
            self._wake.set()
        if len(pending) >= self.batch_size:
            self.flush()

    def add_many(self, values, run_id=None):
        """Queues ``(name, kind, step, text, ms)`` values at once (MLflow's ``log_batch``); the
        same rules as :meth:`add`."""
        pending = self._pending
        if not values:
            return
        first = not pending
        if first:
            self._oldest = time.monotonic()
        run_id = run_id or self.run_id
        rows = []
        append = rows.append
        for name, kind, step, text, ms in values:
            if ms != self._stamp_ms:
                self._stamp_ms = ms
                self._stamp_text = _stamp(ms)
            append((run_id, name, kind, step, text, self._stamp_text))
        pending.extend(rows)
        if first:
            if self._thread is None:
                self._start_thread()
            self._wake.set()
        if len(pending) >= self.batch_size:
            self.flush()

    def _start_thread(self):
        self._thread = threading.Thread(target=self._flush_old_values, daemon=True,
                                        name="amlemu-metrics-flush")
        self._thread.start()

    def _flush_old_values(self):
        """The daemon thread: writes the queue once its oldest value is FLUSH_SECONDS old."""
        while True:
            # Set when a value lands in an empty queue; the timeout catches a wake-up that
            # raced with a flush.
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            if not self._pending:
                continue
            delay = self._oldest + FLUSH_SECONDS - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                self.flush()
            except Exception as e:  # keep the values queued and try again later
                self._warn("could not write metrics yet (%s); will retry" % e, once=True)
                time.sleep(FLUSH_SECONDS)

    # ------------------------------------------------------------------------------ writing

    @contextlib.contextmanager
    def connection(self):
        """The connection, for exclusive use by the calling thread."""
        if self._pid != os.getpid():
            self._after_fork()
        self._lock.acquire()
        # Only this thread can hold the lock, so _owner is None or this thread (a nested use).
        outer, self._owner = self._owner, threading.get_ident()
        try:
            if self._conn is None:
                self._conn = self._open()
            yield self._conn
        finally:
            self._owner = outer
            self._lock.release()
            if (outer is None and self._term_requested is not None
                    and threading.current_thread() is threading.main_thread()):
                self._terminate(self._term_requested)  # a SIGTERM arrived during this use

    @contextlib.contextmanager
    def transaction(self):
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` on the connection, rolled back on any error."""
        with self.connection() as conn:
            conn.execute(_schema.BEGIN)
            try:
                yield conn
                conn.execute(_schema.COMMIT)
            except BaseException:
                if conn.in_transaction:
                    conn.execute(_schema.ROLLBACK)
                raise

    def _open(self):
        """A new connection to the existing database, its schema version checked."""
        uri = pathlib.Path(os.path.abspath(self.database)).as_uri() + "?mode=rw"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_SECONDS,
                                   isolation_level=None, check_same_thread=False)
        except sqlite3.Error as e:
            raise sqlite3.OperationalError("cannot open %s: %s" % (self.database, e)) from None
        try:
            _schema.check_version(conn, self.database)
            for pragma in _schema.CONNECTION_SETUP:
                conn.execute(pragma)
        except BaseException:
            conn.close()
            raise
        return conn

    def flush(self):
        """Writes every pending value in one transaction. On failure they stay queued."""
        if not self._pending and self._pid == os.getpid():
            return  # nothing to write: no need for the connection
        with self.connection():
            count = len(self._pending)
            if not count:
                return
            popleft = self._pending.popleft
            rows = [popleft() for _ in range(count)]
            try:
                with self.transaction() as conn:
                    conn.executemany(_schema.INSERT_METRIC, rows)
            except BaseException:
                self._pending.extendleft(reversed(rows))
                raise

    # ------------------------------------------------------------------------- process end

    def _at_exit(self):
        if self._pid != os.getpid():
            return
        try:
            self.flush()
        except Exception as e:
            self._warn("could not write %d metric values: %s" % (len(self._pending), e))

    def _after_fork(self):
        """In a forked child: drop the parent's queue and connection, flush when the child ends."""
        if self._conn is not None:
            # Closing the parent's connection here could disturb the parent; keep it unused.
            _inherited_connections.append(self._conn)
        self._reset()
        # A multiprocessing child leaves with os._exit, skipping atexit, but runs its finalizers.
        # It clears them just after the fork, then calls the after-fork hooks: register there.
        mp_util = sys.modules.get("multiprocessing.util")
        if mp_util is not None:
            mp_util.register_after_fork(self, MetricWriter._flush_when_child_ends)

    def _flush_when_child_ends(self):
        sys.modules["multiprocessing.util"].Finalize(self, self._at_exit, exitpriority=100)

    def _install_sigterm_handler(self):
        try:
            if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
                signal.signal(signal.SIGTERM, self._on_signal)
        except ValueError:  # not the main thread: leave signals alone
            pass

    def _on_signal(self, signum, frame):
        if self._owner == threading.get_ident():
            # We interrupted this thread while it used the connection: finish that first
            # (see connection()), then flush and die.
            self._term_requested = signum
            return
        self._terminate(signum)

    def _terminate(self, signum):
        self._term_requested = None
        try:
            self.flush()
        except Exception as e:
            self._warn("could not write %d metric values: %s" % (len(self._pending), e))
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    def _warn(self, message, once=False):
        if once and self._warned:
            return
        self._warned = self._warned or once
        print("amlemu: " + message, file=sys.stderr, flush=True)


# Connections a forked child inherited from its parent: referenced so they are never closed there.
_inherited_connections = []
