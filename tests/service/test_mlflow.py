"""The real MLflow client (with the real azureml-mlflow plugin, from its own venv) outside any run,
against a real `amlemu serve`: it lists an experiment's runs, reads a metric history and registers
a model version from a run that logged an MLflow model, seeing what the MLflow calls inside that
job recorded. The client knows nothing but the tracking URI and `amlemu env`'s variables."""
import json
import os
import shutil
import subprocess
from pathlib import Path

from conftest import CLIENTS, REPO, WORKSPACE, cli, require

MLFLOW_PYTHON = Path(os.environ.get("AMLEMU_MLFLOW_VENV") or REPO / "build" / "mlflow-venv") / "bin" / "python"


def has_python311():
    from conftest import _has_python
    return _has_python("3.11") and shutil.which("uv") is not None


def test_mlflow_client_reads_run_history_and_registers_a_model(work, server):
    require(MLFLOW_PYTHON.exists(), "the MLflow client venv build/mlflow-venv",
            "scripts/install-test-venv.sh")
    require(has_python311(), "uv and a Python 3.11 interpreter for the job's environment",
            "scripts/install-deps.sh --tests")
    home, folder = work
    cli(home, "job", "create", "--stream", "--file",
        str(REPO / "tests" / "mlflow" / "sklearn" / "job.yml"), cwd=folder)
    runs = json.loads(cli(home, "job", "list", "-o", "json", cwd=folder).stdout)
    run_id = runs[0]["name"]
    assert runs[0]["status"] == "Completed", runs[0]
    metrics = json.loads(cli(home, "job", "metrics", "--name", run_id, cwd=folder).stdout)

    show = json.loads(cli(home, "workspace", "show", cwd=folder).stdout)
    uri = show["mlflowTrackingUri"]
    assert uri == ("azureml://127.0.0.1:%d/mlflow/v1.0/subscriptions/%s/resourceGroups/%s/providers/"
                   "Microsoft.MachineLearningServices/workspaces/%s"
                   % (server.port, WORKSPACE["subscription_id"], WORKSPACE["resource_group"],
                      WORKSPACE["workspace_name"]))
    result_file = folder / "mlflow.json"
    r = subprocess.run([str(MLFLOW_PYTHON), str(CLIENTS / "mlflow_client.py"), str(result_file), uri,
                        "mlflow-sklearn", "iris-outside"],
                       cwd=folder, env=server.client_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-4000:] + "\n".join(server.log[-30:])
    result = json.loads(result_file.read_text())

    assert result["runs"] == [run_id]
    assert result["status"] == "FINISHED"
    assert result["params"] == {"C": "1.0"}
    assert result["metrics"] == {"accuracy": metrics["accuracy"]}
    assert [[step, value] for step, value, _ in result["history"]] == [[0, metrics["accuracy"]]]
    assert result["missing_run"] == "RESOURCE_DOES_NOT_EXIST"
    # The registration: a new mlflow_model version from the run's logged model, in amlemu's
    # registry, with its MLmodel file.
    assert result["version"] == "1" and result["version_run"] == run_id
    models = {(m["name"], m["version"]): m
              for m in json.loads(cli(home, "model", "list", "-o", "json", cwd=folder).stdout)}
    assert set(models) == {("iris-classifier", 1), ("iris-outside", 1)}
    assert models[("iris-outside", 1)]["type"] == "mlflow_model"
    assert models[("iris-outside", 1)]["runId"] == run_id
    cli(home, "model", "download", "--name", "iris-outside", "--download-path", str(folder / "dl"), cwd=folder)
    assert (folder / "dl" / "model" / "MLmodel").exists()
    # Every call went to the server: nothing reached for the network.
    assert not [line for line in server.log if "CONNECT" in line], server.log


def test_mlflow_rest_refusals_are_mlflow_errors_and_change_nothing(work, server):
    from conftest import fingerprint, workspace_path
    home, _ = work
    token = server.token()
    base = "/mlflow/v2.0" + workspace_path() + "/api/2.0/mlflow"
    before = fingerprint(home)

    r = server.request("GET", base + "/experiments/get-by-name", token,
                       params={"experiment_name": "nope"})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", r.text
    r = server.request("GET", base + "/runs/get", token, params={"run_id": "nope"})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", r.text
    r = server.request("POST", base + "/runs/search", token,
                       json={"experiment_ids": ["x"], "filter": "metrics.acc > 0.5"})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", r.text
    assert "filter" in r.json()["message"]
    r = server.request("GET", base + "/metrics/get-history", token, params={"run_id": "x"})
    assert r.status_code == 400 and "metric_key" in r.json()["message"], r.text
    # A version from a source that is not a run's files, a run that does not exist, a bad name.
    r = server.request("POST", base + "/model-versions/create", token,
                       json={"name": "m", "source": "s3://bucket/model"})
    assert r.status_code == 400 and "source" in r.json()["message"], r.text
    r = server.request("POST", base + "/model-versions/create", token,
                       json={"name": "m", "source": "runs:/no-such-run/model"})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", r.text
    r = server.request("POST", base + "/registered-models/create", token, json={"name": "bad name!"})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", r.text
    r = server.request("POST", base + "/model-versions/create", token, data=b"{not json")
    assert r.status_code == 400, r.text
    # No credential: refused before anything is read.
    r = server.request("GET", base + "/experiments/search")
    assert r.status_code == 401, r.text
    assert fingerprint(home) == before
