"""A user's MLflow script outside any run, with the azureml-mlflow plugin: it points the MLflow
client at the workspace's tracking URI (the mlflowTrackingUri of `amlemu workspace show`) and
reads run history and registers a model, as against Azure ML. Writes what it saw as JSON.

    mlflow_client.py RESULT.json TRACKING_URI EXPERIMENT MODEL_NAME
"""
import json
import sys

import mlflow
from mlflow.tracking import MlflowClient

result_file, uri, experiment, model_name = sys.argv[1:5]
mlflow.set_tracking_uri(uri)
found = mlflow.get_experiment_by_name(experiment)
runs = mlflow.search_runs(experiment_names=[experiment], output_format="list")
client = MlflowClient()
run = runs[0]
history = client.get_metric_history(run.info.run_id, "accuracy")
version = mlflow.register_model("runs:/%s/model" % run.info.run_id, model_name)
again = client.get_model_version(model_name, version.version)
missing = None
try:
    client.get_run("no-such-run")
except mlflow.exceptions.MlflowException as e:
    missing = e.error_code
with open(result_file, "w") as f:
    json.dump({"experiment_id": found.experiment_id,
               "runs": [r.info.run_id for r in runs],
               "status": run.info.status,
               "params": run.data.params,
               "metrics": run.data.metrics,
               "history": [[m.step, m.value, m.timestamp] for m in history],
               "version": version.version,
               "version_run": again.run_id,
               "missing_run": missing}, f)
