"""Shared set-up of the service-plane tests: a real `amlemu serve` on a free loopback port, over a
fresh $AMLEMU_HOME with one workspace, and user scripts that drive it with the real Azure SDKs
(azure-ai-ml, azure-identity) pointed at it by nothing but the variables `amlemu env` prints.

Run by CTest through tests/python/run_pytest.sh from the virtual environment that
scripts/install-test-venv.sh makes; by hand:

    AMLEMU_CLI=build/bin/amlemu build/test-venv/bin/python -m pytest tests/service
"""
import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CLIENTS = HERE / "clients"
JOBS = HERE / "jobs"
CLI = os.environ.get("AMLEMU_CLI") or str(REPO / "build" / "bin" / "amlemu")
WORKSPACE = {"subscription_id": "00000000-0000-0000-0000-000000000001",
             "resource_group": "rg-service", "workspace_name": "ws-service"}

# Variables of the calling shell that would send the clients elsewhere; `amlemu env` sets its own.
_SCRUBBED = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
             "NO_PROXY", "no_proxy", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE",
             "AZUREML_CURRENT_CLOUD", "ARM_CLOUD_METADATA_URL", "MSI_ENDPOINT", "MSI_SECRET",
             "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_CLIENT_ID", "AZURE_TENANT_ID",
             "AZURE_CLIENT_SECRET", "AMLEMU_CRASH_AT", "VIRTUAL_ENV", "PYTHONPATH")


def base_env(home, **extra):
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    # Jobs run on the machine's python3 (with TensorFlow), not on this venv's interpreter.
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env["AMLEMU_HOME"] = str(home)
    if not _has_python("3.10"):
        # The scripts' curated AzureML-sklearn-1.5 is Python 3.10; without one, the default.
        env["AMLEMU_PYTHON_FALLBACK"] = "1"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _has_python(minor):
    """Whether Preparing finds a Python `minor` here: python<minor> on PATH (pyenv's shims
    aside) or one of pyenv's versions."""
    import glob
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if d and os.path.basename(d) != "shims" and os.access(os.path.join(d, "python" + minor), os.X_OK):
            return True
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    return bool(glob.glob(os.path.join(root, "versions", minor + ".*", "bin", "python" + minor)))


def cli(home, *args, cwd=None, check=True):
    """Runs the amlemu CLI; returns the CompletedProcess (text)."""
    r = subprocess.run([CLI, *args], cwd=cwd, env=base_env(home), capture_output=True, text=True,
                       timeout=600)
    if check and r.returncode != 0:
        raise AssertionError("amlemu %s exited %d: %s" % (" ".join(args), r.returncode, r.stderr))
    return r


class Server:
    """`amlemu serve --port 0` in the background; its access log is kept in `log`."""

    def __init__(self, home, **env):
        self.home = Path(home)
        self.extra = env
        self.proc = None
        self.port = None
        self.log = []

    def start(self, timeout=30):
        self.log = []
        self.proc = subprocess.Popen([CLI, "serve", "--port", "0"], env=base_env(self.home, **self.extra),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ready = threading.Event()

        def pump():
            for line in self.proc.stdout:
                self.log.append(line.rstrip("\n"))
                if "listening on https://127.0.0.1:" in line:
                    self.port = int(line.split("127.0.0.1:")[1].split()[0])
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(timeout) or self.port is None:
            self.proc.kill()
            raise AssertionError("amlemu serve did not start: %s" % "\n".join(self.log))
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("amlemu serve did not stop on SIGTERM")

    def wait_dead(self, timeout=60):
        """Waits for the server to end by itself (a crash point); returns its exit status."""
        return self.proc.wait(timeout)

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def client_env(self, **extra):
        """The environment of a user script: the machine's, plus `amlemu env`'s export lines."""
        out = cli(self.home, "env", "--port", str(self.port)).stdout
        env = base_env(self.home, AZUREML_RUN_POLLING_INTERVAL_MIN=1)
        for line in out.splitlines():
            assert line.startswith("export "), line
            name, _, value = line[len("export "):].partition("=")
            env[name] = shlex.split(value)[0]
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def env_values(self):
        env = self.client_env()
        return {k: env[k] for k in ("MSI_SECRET", "REQUESTS_CA_BUNDLE", "MSI_ENDPOINT")}

    def token(self):
        """A bearer token from the managed-identity endpoint, as DefaultAzureCredential gets one."""
        import requests
        v = self.env_values()
        r = requests.get(v["MSI_ENDPOINT"], params={"resource": self.url + "/", "api-version": "2017-09-01"},
                         headers={"secret": v["MSI_SECRET"]}, verify=v["REQUESTS_CA_BUNDLE"], timeout=30)
        r.raise_for_status()
        return r.json()["access_token"]

    def request(self, method, path, token=None, **kwargs):
        """One request to the server's REST API (no proxy), with `token` as the bearer token."""
        import requests
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = "Bearer " + token
        return requests.request(method, self.url + path, headers=headers,
                                verify=self.env_values()["REQUESTS_CA_BUNDLE"], timeout=60,
                                proxies={"https": None, "http": None}, **kwargs)


def workspace_path():
    return "/subscriptions/%(subscription_id)s/resourceGroups/%(resource_group)s/providers/" \
           "Microsoft.MachineLearningServices/workspaces/%(workspace_name)s" % WORKSPACE


def run_client(server, script, cwd, *args, timeout=600, env=None, check=True):
    """Runs a user script (tests/service/clients) with this venv's Python and `amlemu env`'s
    variables, in `cwd` (which holds config.json). Returns the CompletedProcess (text)."""
    r = subprocess.run([sys.executable, str(CLIENTS / script), *map(str, args)], cwd=cwd,
                       env=env or server.client_env(), capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("%s exited %d\n--- stdout\n%s\n--- stderr\n%s\n--- server\n%s" % (
            script, r.returncode, r.stdout, r.stderr[-6000:], "\n".join(server.log[-40:])))
    return r


def database(home):
    return Path(home) / "workspaces" / WORKSPACE["subscription_id"] / WORKSPACE["resource_group"] / \
        WORKSPACE["workspace_name"]


def fingerprint(home):
    """Every table's rows and every file's path and size under $AMLEMU_HOME except the server's own
    folder and logs, and the database files (their rows are compared; a run's watchdog may fold
    the log into the database at any time): what a refused request must leave as it was."""
    home = Path(home)
    rows = {}
    for db in sorted(home.rglob("*.db")):
        conn = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        try:
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"):
                rows["%s:%s" % (db.relative_to(home), table)] = sorted(
                    map(repr, conn.execute('SELECT * FROM "%s"' % table).fetchall()))
        finally:
            conn.close()
    files = sorted((str(p.relative_to(home)), p.stat().st_size) for p in home.rglob("*")
                   if p.is_file() and not p.name.endswith((".db", "-wal", "-shm"))
                   and p.relative_to(home).parts[0] != "server")
    return rows, files


@pytest.fixture
def work(tmp_path):
    """A fresh $AMLEMU_HOME with the workspace of config.json created, and the user's folder."""
    home = tmp_path / "home"
    folder = tmp_path / "work"
    home.mkdir()
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(WORKSPACE))
    cli(home, "workspace", "create", cwd=folder)
    return home, folder


@pytest.fixture
def server(work):
    home, _ = work
    s = Server(home).start()
    yield s
    s.stop()


def wait_for(predicate, timeout=60, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def require(condition, reason, provider):
    """Skips the test when a prerequisite is missing; with CI=true, where `provider` installs it,
    fails instead (the convention of tests/support/skip.hpp)."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail("%s (CI=true: %s must have installed it)" % (reason, provider))
    pytest.skip(reason)


def pytest_terminal_summary(terminalreporter):
    # CTest runs one file as one test and reports it skipped when this line is printed.
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        terminalreporter.write_line("AMLEMU-TEST-SKIPPED: " + reason.replace("Skipped: ", ""))
