"""Data assets with unchanged azure-ai-ml code over the service plane: created from a local
folder (uploaded by the SDK through the storage API), listed, read back by label, used by a
command job as azureml:<name>@latest, and archived; the CLI sees the same versions."""
import json

from conftest import WORKSPACE, cli, run_client

IDS = [WORKSPACE[k] for k in ("subscription_id", "resource_group", "workspace_name")]


def test_a_data_asset_from_the_sdk_feeds_a_job(work, server):
    home, folder = work
    cli(home, "compute", "create", "--name", "cpu-cluster", "--max-instances", "1", cwd=folder)
    data = folder / "numbers"
    data.mkdir()
    (data / "numbers.txt").write_text("7 8 9\n")
    out = run_client(server, "data_assets.py", folder, data, *IDS)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["version"] == "1"
    assert result["listed"] == [["numbers", "1"]]
    assert result["latest"] == "1"
    assert result["status"] == "Completed"
    assert result["after_archive"] == []
    # The job's output became a data asset, where the job wrote it.
    assert result["result"].endswith("/paths/azureml/" + result["job"] + "/result/")
    shown = json.loads(cli(home, "data", "show", "--name", "numbers", "--version", "1",
                           cwd=folder).stdout)
    assert shown["archived"] is True
    assert shown["path"].startswith("azureml://")
    cli(home, "job", "download", "--name", result["job"], "--download-path", "out", cwd=folder)
    drivers = list((folder / "out").rglob("70_driver_log.txt"))
    driver = drivers[0].read_text() if drivers else ""
    assert "7 8 9" in driver
    # Direct mode: the script got the URI, in its long form, not a mounted path.
    assert "direct=azureml://subscriptions/" in driver
    assert "/datastores/workspaceblobstore/paths/" in driver
