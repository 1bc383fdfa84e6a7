"""Reads a datastore folder copied in download mode and checks it is a private copy."""
import argparse
import os

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
args = parser.parse_args()
print("data at", os.path.relpath(args.data), "holds", sorted(os.listdir(args.data)))
with open(os.path.join(args.data, "numbers.txt"), "a") as f:  # a copy may be written
    f.write("4\n")
print("wrote to the downloaded copy")
