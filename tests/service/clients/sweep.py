"""Sweeps with unchanged azure-ai-ml code: the hello-sweep job file loaded with load_job, then a
sweep built in code (command(...) called with Choice values, .sweep(...), a Bandit policy); each
streamed to the end, read back, its trials listed. Prints what it saw as JSON into RESULT.

    sweep.py HELLO_SWEEP_YML TRIAL_FOLDER RESULT SUBSCRIPTION_ID RESOURCE_GROUP WORKSPACE_NAME
"""
import json
import sys

from azure.ai.ml import MLClient, command, load_job
from azure.ai.ml.entities import AmlCompute
from azure.ai.ml.sweep import BanditPolicy, Choice
from azure.identity import DefaultAzureCredential

hello_file, trial_folder, result_file = sys.argv[1:4]
ml_client = MLClient(DefaultAzureCredential(), *sys.argv[4:7])


def summary(name):
    job = ml_client.jobs.get(name)
    trials = sorted(ml_client.jobs.list(parent_job_name=name), key=lambda j: j.name)
    return {"name": name, "type": job.type, "status": job.status,
            "primary_metric": job.objective.primary_metric, "goal": job.objective.goal,
            "max_total_trials": job.limits.max_total_trials,
            "best_child_run_id": job.properties.get("best_child_run_id"),
            "score": job.properties.get("score"),
            "trials": [{"name": t.name, "status": t.status, "tags": dict(t.tags or {})} for t in trials]}


result = {}
ml_client.compute.begin_create_or_update(AmlCompute(name="cpu-cluster", max_instances=2)).result()
hello_job = load_job(source=hello_file)
hello_job.compute = "cpu-cluster"  # azure-ai-ml cannot submit a sweep to compute "local"
hello = ml_client.jobs.create_or_update(hello_job)
ml_client.jobs.stream(hello.name)
result["hello"] = summary(hello.name)

trial = command(
    code=trial_folder,
    command="python trial.py --rate ${{inputs.rate}} --steps 20 --pause 0.25",
    inputs={"rate": 0.5},
    environment="AzureML-sklearn-1.5@latest",
    compute="cpu-cluster",
    experiment_name="service-sweep",
)
sweep_job = trial(rate=Choice([0.9, 0.1])).sweep(
    sampling_algorithm="grid",
    primary_metric="acc",
    goal="Maximize",
    early_termination_policy=BanditPolicy(slack_factor=0.1, evaluation_interval=1),
)
sweep_job.set_limits(max_total_trials=2, max_concurrent_trials=2, timeout=600)
bandit = ml_client.jobs.create_or_update(sweep_job)
ml_client.jobs.stream(bandit.name)
result["bandit"] = summary(bandit.name)
with open(result_file, "w") as f:
    json.dump(result, f)
