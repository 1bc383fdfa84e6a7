"""Prints what the node gives the script (as JSON on one line) and can wait for a go file."""
import argparse
import json
import os
import time

parser = argparse.ArgumentParser()
parser.add_argument("--go-file")
args = parser.parse_args()
info = {k: v for k, v in os.environ.items()
        if k.startswith(("AZ_BATCH", "AMLEMU_NODE", "AMLEMU_VIRTUAL")) or k == "CUDA_VISIBLE_DEVICES"}
info["affinity"] = sorted(os.sched_getaffinity(0))
info["cwd"] = os.getcwd()
print("NODE " + json.dumps(info, sort_keys=True), flush=True)
if args.go_file:
    with open(args.go_file + ".started", "w") as f:
        f.write(str(os.getpid()))
    deadline = time.time() + 60
    while not os.path.exists(args.go_file) and time.time() < deadline:
        time.sleep(0.05)
