"""Shared set-up of the online endpoint tests: a fresh $AMLEMU_HOME with one workspace, the CLI,
and the sample in sample_jobs/online-endpoint (a scikit-learn model trained by a job and
registered). Everything real: the endpoint's host, its router, the inference server's processes.

Run by CTest through tests/python/run_pytest.sh; by hand:

    AMLEMU_CLI=build/bin/amlemu build/test-venv/bin/python -m pytest tests/endpoints
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_jobs" / "online-endpoint"
CLI = os.environ.get("AMLEMU_CLI") or str(REPO / "build" / "bin" / "amlemu")
_SCRUBBED = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
             "NO_PROXY", "no_proxy", "VIRTUAL_ENV", "PYTHONPATH", "AMLEMU_CRASH_AT")


def env_for(home):
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env["AMLEMU_HOME"] = str(home)
    return env


class Workspace:
    def __init__(self, home, folder):
        self.home, self.folder = home, folder

    def cli(self, *args, check=True, timeout=900):
        r = subprocess.run([CLI, *args], cwd=self.folder, env=env_for(self.home), capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("amlemu %s exited %d: %s" % (" ".join(args), r.returncode, r.stderr))
        return r

    def json(self, *args):
        return json.loads(self.cli(*args).stdout)


@pytest.fixture
def ws(tmp_path):
    home, folder = tmp_path / "home", tmp_path / "work"
    shutil.copytree(SAMPLE, folder)
    (folder / "config.json").write_text(json.dumps(
        {"subscription_id": "sub", "resource_group": "rg", "workspace_name": "endpoints"}))
    w = Workspace(home, folder)
    w.cli("workspace", "create")
    yield w
    # No endpoint outlives its test: its host and instances stop with it.
    for e in json.loads(w.cli("online-endpoint", "list", check=False).stdout or "[]"):
        w.cli("online-endpoint", "delete", "--name", e["name"], check=False)


@pytest.fixture
def trained(ws):
    """The sample's model, trained by its job and registered as sklearn-model."""
    run = ws.cli("job", "create", "--file", "train/job.yml", "--stream")
    run_id = next(line.split(":", 1)[1].strip() for line in run.stdout.splitlines()
                  if line.startswith("RunId:"))
    ws.cli("model", "create", "--name", "sklearn-model", "--run", run_id, "--path", "outputs/model")
    return ws
