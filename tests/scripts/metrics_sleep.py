"""Logs one value, writes a marker file, then sleeps: the value must show up while it sleeps.

--timer off switches off the timed flush, so that only the SIGTERM handler can write the value (for
the cancel test).
"""
import argparse
import os
import time

import azureml.core._writer as writer
from azureml.core.run import Run

parser = argparse.ArgumentParser()
parser.add_argument("--marker", required=True)
parser.add_argument("--seconds", type=float, default=2.5)
parser.add_argument("--timer", choices=["on", "off"], default="on")
args = parser.parse_args()
if args.timer == "off":
    writer.FLUSH_SECONDS = 3600
run = Run.get_context()
run.log("early", 1)
run.log_list("early_list", [1, 2])
with open(args.marker + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(args.marker + ".tmp", args.marker)
print("logged, sleeping", flush=True)
time.sleep(args.seconds)
print("woke up")
