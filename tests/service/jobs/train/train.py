"""A small training script as a user writes it: reads its input folder, logs metrics with
azureml.core, and saves a "model" to ./outputs/model. With --fail it raises instead."""
import argparse
import os
import time

from azureml.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--fail", action="store_true")
args = parser.parse_args()

run = Run.get_context()
files = sorted(os.listdir(args.data))
print("input files:", ", ".join(files), flush=True)
total = sum(len(open(os.path.join(args.data, f), "rb").read()) for f in files)
for epoch in range(args.epochs):
    loss = 1.0 / (epoch + 1)
    run.log("loss", loss)
    print("epoch %d loss %.4f" % (epoch, loss), flush=True)
    time.sleep(1)
if args.fail:
    raise ValueError("the training data is not what this script expects")
run.log("input_bytes", total)
run.log("accuracy", 0.875)
os.makedirs("outputs/model", exist_ok=True)
with open("outputs/model/model.txt", "w") as f:
    f.write("weights for %d input bytes\n" % total)
print("training done", flush=True)
