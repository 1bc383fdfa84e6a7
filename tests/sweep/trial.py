# A sweep trial for the tests: logs `--name` = rate, once per step, with a pause between steps,
# through the azureml compatibility package (Run.log), so the parent sees the values as they come.
import argparse
import time

from azureml.core.run import Run

parser = argparse.ArgumentParser()
parser.add_argument("--rate", type=float, required=True)
parser.add_argument("--steps", type=int, default=3)
parser.add_argument("--pause", type=float, default=0.0)
parser.add_argument("--name", default="acc")
args = parser.parse_args()
run = Run.get_context()
for step in range(args.steps):
    run.log(args.name, args.rate)
    run.flush()
    time.sleep(args.pause)
print("done", args.rate)
