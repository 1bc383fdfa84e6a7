"""Prints the PyTorch launch variables each process gets."""
import json
import os

keys = ["MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "NODE_RANK", "RANK", "LOCAL_RANK"]
values = {k: os.environ.get(k) for k in keys}
values["address"] = os.environ["AMLEMU_NODE_ADDRESS"]
os.makedirs("outputs", exist_ok=True)
with open("outputs/torch_%s.json" % values["RANK"], "w") as f:
    json.dump(values, f)
print("TORCH " + json.dumps(values, sort_keys=True), flush=True)
