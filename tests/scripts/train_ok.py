"""A tiny training script: reads the mounted data folder, logs metrics, writes outputs and logs."""
import argparse
import json
import os

from azureml.core.run import Run

parser = argparse.ArgumentParser()
parser.add_argument("--data-folder", required=True)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--learning-rate", type=float, default=0.1)
args = parser.parse_args()

run = Run.get_context()
print("data files:", sorted(os.listdir(args.data_folder)))
with open(os.path.join(args.data_folder, "numbers.txt")) as f:
    total = sum(int(line) for line in f if line.strip())
print("sum of numbers:", total)
for epoch in range(args.epochs):
    run.log("accuracy", 0.5 + 0.1 * epoch)
run.log("final_acc", 0.9)
run.log("data_sum", total)
run.log_list("losses", [3, 2, 1])
os.makedirs("outputs/model", exist_ok=True)
with open("outputs/model/weights.txt", "w") as f:
    f.write("lr=%s\n" % args.learning_rate)
os.makedirs("logs", exist_ok=True)
with open("logs/extra.txt", "w") as f:
    f.write("user log\n")
with open("outputs/env.json", "w") as f:
    json.dump({k: v for k, v in os.environ.items() if k.startswith("AZUREML_") or k == "EXAMPLE"}, f)
print("done with run", run.id)
