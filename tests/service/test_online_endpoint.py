"""Deploying a model with unchanged azure-ai-ml code over the service plane: create an endpoint,
register a model, create a deployment (code and environment uploaded by the SDK), send it all
traffic, invoke it, read its logs and keys, delete the endpoint; the CLI sees the same."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import WORKSPACE, cli, run_client

IDS = [WORKSPACE[k] for k in ("subscription_id", "resource_group", "workspace_name")]
SAMPLE = Path(__file__).resolve().parents[2] / "sample_jobs" / "online-endpoint"


def test_the_sdk_deploys_invokes_and_deletes_an_online_endpoint(work, server):
    home, folder = work
    sample = folder / "sample"
    shutil.copytree(SAMPLE, sample)
    # The sample's model, trained by its job (the CLI here: the SDK's job path is tested elsewhere).
    run = cli(home, "job", "create", "--file", str(sample / "train" / "job.yml"), "--stream", cwd=folder)
    run_id = next(l.split(":", 1)[1].strip() for l in run.stdout.splitlines() if l.startswith("RunId:"))
    cli(home, "job", "download", "--name", run_id, "--download-path", "out", cwd=folder)
    model = next((folder / "out").rglob("model.pkl")).parent

    result = run_client(server, "online_endpoint.py", folder, sample, model, *IDS)
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["state"] == "Succeeded"
    assert seen["traffic"] == {"blue": 100}
    assert seen["scoring_uri"].startswith("http://127.0.0.1:")
    assert seen["answer"] == [1, 0]
    assert "Worker with pid" in seen["logs"] or "ready" in seen["logs"]
    assert seen["has_key"]
    assert seen["deployments"] == ["blue"]
    assert "sdk-endpoint" not in seen["left"]
    assert json.loads(cli(home, "online-endpoint", "list", cwd=folder).stdout) == []
    # Nothing of the endpoint outlives it: no host, no server, no worker.
    ps = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout
    assert not [l for l in ps.splitlines() if str(home) in l and ("amlemu_scoring" in l or "--endpoint-host" in l)]
