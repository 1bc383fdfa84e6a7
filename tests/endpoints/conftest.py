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


def make_workspace(home, folder):
    shutil.copytree(SAMPLE, folder)
    (folder / "config.json").write_text(json.dumps(
        {"subscription_id": "sub", "resource_group": "rg", "workspace_name": "endpoints"}))
    w = Workspace(home, folder)
    w.cli("workspace", "create")
    return w


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    """The sample's model, trained once per module by its job: the run's outputs/model folder."""
    root = tmp_path_factory.mktemp("training")
    w = make_workspace(root / "home", root / "work")
    run = w.cli("job", "create", "--file", "train/job.yml", "--stream")
    run_id = next(line.split(":", 1)[1].strip() for line in run.stdout.splitlines()
                  if line.startswith("RunId:"))
    w.cli("job", "download", "--name", run_id, "--download-path", str(root / "out"))
    found = list((root / "out").rglob("model.pkl"))
    assert found, "the training job left no outputs/model/model.pkl"
    return found[0].parent


@pytest.fixture
def ws(tmp_path):
    w = make_workspace(tmp_path / "home", tmp_path / "work")
    yield w
    # No endpoint outlives its test: its host and instances stop with it.
    for e in json.loads(w.cli("online-endpoint", "list", check=False).stdout or "[]"):
        w.cli("online-endpoint", "delete", "--name", e["name"], check=False)
    ps = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout
    left = [l for l in ps.splitlines() if str(w.home) in l and ("amlemu_scoring" in l or "--endpoint-host" in l)]
    assert not left, "processes outlived their endpoint: %s" % left


@pytest.fixture
def trained(ws, model_folder):
    """The sample's model registered as sklearn-model (the folder "model" with model.pkl)."""
    ws.cli("model", "create", "--name", "sklearn-model", "--path", str(model_folder))
    return ws
