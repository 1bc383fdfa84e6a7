"""Writes --megabytes MiB into ./outputs, in 1 MiB files."""
import argparse
import os

parser = argparse.ArgumentParser()
parser.add_argument("--megabytes", type=int, default=16)
args = parser.parse_args()
os.makedirs("outputs", exist_ok=True)
block = os.urandom(1 << 20)
for i in range(args.megabytes):
    with open(os.path.join("outputs", "part-%03d.bin" % i), "wb") as f:
        f.write(block)
print("wrote", args.megabytes, "MiB of outputs", flush=True)
