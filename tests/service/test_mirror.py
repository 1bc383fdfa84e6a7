"""A job whose input is a web URL, over the service plane with unchanged azure-ai-ml code: refused
with the fix while the URL is not in the offline mirror (and nothing recorded), then run from the
mirror's copy once `amlemu mirror add` has it."""
import json

from conftest import WORKSPACE, cli, fingerprint, run_client

URL = "https://azuremlexamples.blob.core.windows.net/datasets/iris.csv"
IDS = [WORKSPACE[k] for k in ("subscription_id", "resource_group", "workspace_name")]


def last_json(result):
    """The client's last line: what it prints after the SDK's own output (the stream)."""
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr[-3000:]
    return json.loads(lines[-1])


def test_a_web_input_runs_from_the_offline_mirror(work, server):
    home, folder = work
    cli(home, "compute", "create", "--name", "cpu-cluster", "--max-instances", "1", cwd=folder)
    before = fingerprint(home)
    refused = last_json(run_client(server, "web_input.py", folder, URL, *IDS, "--expect-refusal"))
    assert refused["status"] == 400
    assert "is not in the offline mirror" in refused["message"]
    assert "amlemu mirror add '%s' --file" % URL in refused["message"]
    assert fingerprint(home) == before

    (folder / "iris.csv").write_text("sepal_length,species\n5.1,setosa\n")
    cli(home, "mirror", "add", URL, "--file", "iris.csv", cwd=folder)
    ran = last_json(run_client(server, "web_input.py", folder, URL, *IDS))
    assert ran["status"] == "Completed"
    cli(home, "job", "download", "--name", ran["name"], "--download-path", "out", cwd=folder)
    drivers = list((folder / "out").rglob("70_driver_log.txt"))
    assert drivers and "5.1,setosa" in drivers[0].read_text()
