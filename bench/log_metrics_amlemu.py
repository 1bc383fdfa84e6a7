"""The metric-logging benchmark's amlemu job: logs N scalars through Run.get_context().log, then
reads them back with get_metrics(), and prints the two times as one JSON line."""
import argparse
import json
import time

from azureml.core.run import Run

parser = argparse.ArgumentParser()
parser.add_argument("--count", type=int, required=True)
n = parser.parse_args().count
run = Run.get_context()
t0 = time.perf_counter()
for i in range(n):
    run.log("loss", i * 0.001)
run.flush()  # every value is in the database when the clock stops
t1 = time.perf_counter()
values = run.get_metrics()["loss"]
t2 = time.perf_counter()
assert len(values) == n, len(values)
print("BENCH " + json.dumps({"log_s": t1 - t0, "read_s": t2 - t1}), flush=True)
