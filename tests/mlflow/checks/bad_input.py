# MLflow's own errors for bad input inside an amlemu run, and nothing stored for the refused calls.
# Prints one "refused <case>: <message>" line per case; the test checks the lines and that run
# history holds only the good values.
import os
import tempfile

import mlflow
from mlflow.exceptions import MlflowException

mlflow.start_run()
mlflow.log_param("lr", "0.1")
mlflow.log_metric("good", 1.0)


def refused(case, call):
    try:
        call()
    except MlflowException as e:
        print("refused %s: %s" % (case, e.message.splitlines()[0]))
    else:
        print("accepted %s" % case)


refused("param changed", lambda: mlflow.log_param("lr", "0.2"))
refused("metric not a number", lambda: mlflow.log_metric("bad", "abc"))
refused("key too long", lambda: mlflow.log_metric("k" * 251, 1.0))
# A batch with one bad value stores none of it.
refused("batch", lambda: mlflow.log_metrics({"half": 1.0, "bad2": "x"}))
folder = tempfile.mkdtemp()
with open(os.path.join(folder, "f.txt"), "w") as f:
    f.write("x")
refused("artifact path with ..", lambda: mlflow.log_artifact(os.path.join(folder, "f.txt"),
                                                            artifact_path="../escape"))
mlflow.end_run()
