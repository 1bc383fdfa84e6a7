"""Sweep jobs over the service plane with unchanged azure-ai-ml code: the hello-sweep file from
load_job, and a sweep built in code with a Bandit policy; the CLI reads the same parents and
trials. A bad sweep body gets Azure's error envelope naming the property, and no run."""
import json
import shutil

from conftest import REPO, WORKSPACE, cli, fingerprint, run_client, workspace_path


def test_sweeps_from_the_real_sdk(work, server):
    home, folder = work
    shutil.copytree(REPO / "sample_jobs", folder / "sample_jobs")
    shutil.copytree(REPO / "tests" / "sweep", folder / "trial")
    run_client(server, "sweep.py", folder, folder / "sample_jobs" / "hello-sweep" / "job.yml",
               folder / "trial", folder / "result.json",
               *(WORKSPACE[k] for k in ("subscription_id", "resource_group", "workspace_name")))
    result = json.loads((folder / "result.json").read_text())

    hello = result["hello"]
    assert hello["type"] == "sweep"
    assert hello["status"] == "Completed"
    assert (hello["primary_metric"], hello["goal"].lower(), hello["max_total_trials"]) == ("random_metric", "minimize", 4)
    assert [t["name"] for t in hello["trials"]] == [hello["name"] + "_%d" % i for i in range(4)]
    assert all(t["status"] == "Completed" for t in hello["trials"])
    values = {t["name"]: json.loads(t["tags"]["hyperparameters"]) for t in hello["trials"]}
    assert all(v["A"] in (0.01, 0.02, 0.025, 0.04, 0.05) and 0.1 <= v["C"] < 1.0 for v in values.values())
    # The best trial is the one with the lowest random_metric, as the CLI reads it.
    metric = {n: json.loads(cli(home, "job", "metrics", "--name", n, cwd=folder).stdout)["random_metric"]
              for n in values}
    assert hello["best_child_run_id"] == min(metric, key=metric.get)
    assert float(hello["score"]) == min(metric.values())

    bandit = result["bandit"]
    assert bandit["status"] == "Completed"
    assert [(json.loads(t["tags"]["hyperparameters"])["rate"], t["status"]) for t in bandit["trials"]] == \
        [(0.9, "Completed"), (0.1, "Canceled")]
    assert bandit["best_child_run_id"] == bandit["name"] + "_0"
    shown = json.loads(cli(home, "job", "show", "--name", bandit["name"], cwd=folder).stdout)
    assert shown["properties"]["azureml.runsource"] == "hyperdrive"
    assert [c["run_id"] for c in shown["children"]] == [bandit["name"] + "_0", bandit["name"] + "_1"]


def test_a_bad_sweep_body_is_refused_with_the_property_named(work, server):
    home, folder = work
    before = fingerprint(home)
    body = {"properties": {
        "jobType": "Sweep", "experimentName": "bad-sweep",
        "trial": {"command": "python trial.py --rate ${{search_space.rate}}",
                  "environmentId": "azureml:AzureML-sklearn-1.5@latest"},
        "searchSpace": {"rate": ["uniform", [0.9, 0.1]]},
        "samplingAlgorithm": {"samplingAlgorithmType": "Random"},
        "objective": {"goal": "Maximize", "primaryMetric": "acc"},
        "limits": {"jobLimitsType": "Sweep", "maxTotalTrials": 2}}}
    path = workspace_path() + "/jobs/bad-sweep-1?api-version=2024-04-01"
    r = server.request("PUT", path, server.token(), json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "UserError"
    assert "properties.searchSpace.rate" in r.json()["error"]["message"]
    body["properties"]["searchSpace"] = {"rate": ["uniform", [0.1, 0.9]]}
    body["properties"]["limits"]["maxTotalTrials"] = 0
    r = server.request("PUT", path, server.token(), json=body)
    assert r.status_code == 400, r.text
    assert "properties.limits.maxTotalTrials" in r.json()["error"]["message"]
    assert fingerprint(home) == before
