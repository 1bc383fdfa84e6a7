"""The quickstart, unchanged azure-ai-ml code against a real `amlemu serve`: compute, a command job
with code and a local data folder, streamed logs, the job's files, model versions, a missing job;
then the same state seen by the CLI, metrics over REST, a failing job, and refused credentials."""
import json
import shutil
import subprocess
import sys

from conftest import JOBS, WORKSPACE, cli, database, run_client, workspace_path


def user_folder(folder):
    shutil.copytree(JOBS / "train", folder / "src", dirs_exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "a.csv").write_text("x,y\n1,2\n")
    (folder / "data" / "b.csv").write_text("x,y\n3,4\n5,6\n")


def test_walkthrough_with_the_real_sdk(work, server):
    home, folder = work
    user_folder(folder)
    r = run_client(server, "walkthrough.py", folder, folder / "result.json",
                   *(WORKSPACE[k] for k in ("subscription_id", "resource_group", "workspace_name")))
    result = json.loads((folder / "result.json").read_text())

    assert result["compute"] == "Succeeded"
    assert result["status"] == "Completed"
    # jobs.stream printed the job's own output, read from the server's log files.
    assert "input files: a.csv, b.csv" in r.stdout
    assert "training done" in r.stdout
    assert "Execution Summary" in r.stdout and result["name"] in r.stdout
    # jobs.download fetched the outputs and logs through the blob service.
    downloaded = folder / "downloaded" / "artifacts"
    assert (downloaded / "outputs" / "model" / "model.txt").read_text() == "weights for 20 input bytes\n"
    logs = [p for p in downloaded.rglob("*.txt") if "logs" in p.parent.name]
    assert any("training done" in p.read_text() for p in logs), [str(p) for p in logs]
    # Two registrations of the same source: versions 1 and 2, both listed, the last downloaded.
    assert result["model_versions"] == ["1", "2"]
    assert result["listed_versions"] == ["1", "2"]
    assert (folder / "model-download" / "service-model" / "model" / "model.txt").exists()
    assert result["missing"] == "ResourceNotFoundError"

    # The CLI reads the same workspace: same status, same model registry.
    shown = json.loads(cli(home, "job", "show", "--name", result["name"], cwd=folder).stdout)
    assert shown["status"] == "Completed"
    models = json.loads(cli(home, "model", "list", "--name", "service-model", cwd=folder).stdout)
    assert sorted(str(m["version"]) for m in models) == ["1", "2"]

    # Metrics over the run-history REST API equal `amlemu job metrics`.
    from_cli = json.loads(cli(home, "job", "metrics", "--name", result["name"], cwd=folder).stdout)
    token = server.token()
    base = "/metric/v2.0" + workspace_path() + "/runs/" + result["name"]
    listed = server.request("POST", base + "/list", token, json={})
    assert listed.status_code == 200, listed.text
    names = sorted(m["metricKey"]["name"] for m in listed.json()["value"])
    assert names == sorted(from_cli) == ["accuracy", "input_bytes", "loss"]
    for name in names:
        full = server.request("POST", base + "/full", token, json={"metricName": name})
        assert full.status_code == 200, full.text
        values = [v["data"][name] for v in full.json()["value"]]
        expected = from_cli[name] if isinstance(from_cli[name], list) else [from_cli[name]]
        assert values == expected


def test_a_failing_job_ends_failed_with_its_error(work, server):
    home, folder = work
    user_folder(folder)
    (folder / "fail.py").write_text(FAILING_CLIENT)
    env = server.client_env()
    r = subprocess.run([sys.executable, str(folder / "fail.py")], cwd=folder, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["stream_error"] == "JobException"
    assert result["status"] == "Failed"
    why = "the training data is not what this script expects"
    assert why in result["stream_message"]
    # The error is in what jobs.get returns, among the job's properties.
    assert any(why in str(v) for v in result["properties"].values()), result["properties"]
    shown = json.loads(cli(home, "job", "show", "--name", result["name"], cwd=folder).stdout)
    assert shown["status"] == "Failed"


FAILING_CLIENT = '''
import json
from azure.ai.ml import Input, MLClient, command
from azure.ai.ml.entities import AmlCompute
from azure.identity import DefaultAzureCredential

ml_client = MLClient.from_config(credential=DefaultAzureCredential())
ml_client.compute.begin_create_or_update(AmlCompute(name="cpu-cluster", max_instances=1)).result()
job = ml_client.jobs.create_or_update(command(
    code="./src", command="python train.py --data ${{inputs.data}} --epochs 1 --fail",
    inputs={"data": Input(type="uri_folder", path="./data")},
    environment="AzureML-sklearn-1.5@latest", compute="cpu-cluster",
    experiment_name="service-fail"))
try:
    ml_client.jobs.stream(job.name)
    stream_error, message = None, ""
except Exception as e:
    stream_error, message = type(e).__name__, str(e)
done = ml_client.jobs.get(job.name)
print(json.dumps({"name": job.name, "status": done.status, "stream_error": stream_error,
                  "stream_message": message, "properties": dict(done.properties)}))
'''


def test_requests_without_a_valid_token_are_refused(work, server):
    path = workspace_path() + "/jobs?api-version=2024-04-01"
    # No token.
    r = server.request("GET", path)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "AuthenticationFailed"
    assert "Bearer" in r.headers.get("WWW-Authenticate", "")
    # A token signed with another key: the real one with its signature changed.
    good = server.token()
    head, payload, signature = good.split(".")
    forged = ".".join([head, payload, ("A" if signature[0] != "A" else "B") + signature[1:]])
    assert server.request("GET", path, forged).status_code == 401
    # Not a token at all.
    assert server.request("GET", path, "not-a-jwt").status_code == 401
    # The managed-identity endpoint wants the secret amlemu issued.
    msi = server.request("GET", "/msi/token?resource=x&api-version=2017-09-01",
                         headers={"secret": "wrong"})
    assert msi.status_code == 401
    # The real token works.
    assert server.request("GET", path, good).status_code == 200


def test_cancelling_a_running_job_stops_its_process_with_sigterm(work, server):
    home, folder = work
    (folder / "cancel.py").write_text(CANCELLING_CLIENT)
    r = subprocess.run([sys.executable, str(folder / "cancel.py")], cwd=folder, env=server.client_env(),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["status"] == "Canceled"
    # The run's process got the cancel's SIGTERM (exit 143), not the SIGKILL that follows when
    # SIGTERM is blocked: a supervisor started by the server starts from default signal state.
    status = json.loads((database(home) / "runs" / result["name"] / "artifacts" / "azureml-logs" /
                         "process_status.json").read_text())
    assert [p["exitCode"] for p in status["processes"]] == [143]


CANCELLING_CLIENT = '''
import json, time
from azure.ai.ml import MLClient, command
from azure.ai.ml.entities import AmlCompute
from azure.identity import DefaultAzureCredential

ml_client = MLClient.from_config(credential=DefaultAzureCredential())
ml_client.compute.begin_create_or_update(AmlCompute(name="cpu-cluster", max_instances=1)).result()
job = ml_client.jobs.create_or_update(command(
    command="python -c 'import time; time.sleep(300)'",
    environment="AzureML-sklearn-1.5@latest", compute="cpu-cluster", experiment_name="service-cancel"))
deadline = time.time() + 300
while ml_client.jobs.get(job.name).status != "Running" and time.time() < deadline:
    time.sleep(0.2)
ml_client.jobs.begin_cancel(job.name).result()
while ml_client.jobs.get(job.name).status not in ("Canceled", "Completed", "Failed") and time.time() < deadline:
    time.sleep(0.2)
print(json.dumps({"name": job.name, "status": ml_client.jobs.get(job.name).status}))
'''
