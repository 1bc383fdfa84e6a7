"""Reads TF_CONFIG back and records it; a parameter server then serves forever, as TF's does."""
import json
import os
import time

config = json.loads(os.environ["TF_CONFIG"])
task = config["task"]
os.makedirs("outputs", exist_ok=True)
with open("outputs/tf_%s_%d.json" % (task["type"], task["index"]), "w") as f:
    json.dump({"TF_CONFIG": config, "address": os.environ["AMLEMU_NODE_ADDRESS"]}, f)
print("task", task["type"], task["index"], "of", json.dumps(config["cluster"]), flush=True)
if task["type"] == "ps":
    while True:
        time.sleep(1)
