# The azureml-examples hello-mlflow job: nothing here names amlemu or a tracking URI; the job's
# environment does (MLFLOW_TRACKING_URI, MLFLOW_RUN_ID), as Azure ML sets it.
import os
import tempfile

import mlflow

with mlflow.start_run():
    mlflow.log_param("hello_param", "world")
    for step in range(3):
        mlflow.log_metric("hello_metric", 0.5 + step, step=step)
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "helloworld.txt")
    with open(path, "w") as f:
        f.write("hello world!")
    mlflow.log_artifact(path)
    print("logged to run", mlflow.active_run().info.run_id)
