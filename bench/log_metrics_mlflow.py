"""The metric-logging benchmark's MLflow side (run with build/bench-venv's python): logs N scalars
into a SQLite tracking store with mlflow.log_metric (one call per value) or MlflowClient.log_batch
(1000 values per call, MLflow's limit), then reads them back with get_metric_history, and prints
the two times as one JSON line.

    log_metrics_mlflow.py TRACKING_URI log_metric|log_batch|store_batch N

store_batch calls the tracking store's own log_batch with the same lists of 1000 (MLflow's client
code, which re-creates every Metric, left out): what the store itself costs.

TRACKING_URI "-" means the run's own (inside an amlemu job, whose environment names the store and
the run, as Azure ML sets it): the script then sets neither the URI nor the experiment.
"""
import json
import sys
import time

import mlflow
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

uri, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if uri != "-":
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("bench")
client = MlflowClient()
with mlflow.start_run() as active:
    run_id = active.info.run_id
    t0 = time.perf_counter()
    if mode == "log_metric":
        for i in range(n):
            mlflow.log_metric("loss", i * 0.001, step=i)
    else:
        stamp = int(time.time() * 1000)
        log_batch = (client.log_batch if mode == "log_batch" else
                     lambda run_id, metrics: client._tracking_client.store.log_batch(
                         run_id, metrics, [], []))
        for start in range(0, n, 1000):
            log_batch(run_id, metrics=[Metric("loss", i * 0.001, stamp, i)
                                       for i in range(start, min(n, start + 1000))])
    t1 = time.perf_counter()
values = client.get_metric_history(run_id, "loss")
t2 = time.perf_counter()
assert len(values) == n, len(values)
print("BENCH " + json.dumps({"log_s": t1 - t0, "read_s": t2 - t1}), flush=True)
