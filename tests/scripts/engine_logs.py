"""Writes ./logs/progress.txt, prints a line, then waits for a go file before finishing."""
import argparse
import os
import time

parser = argparse.ArgumentParser()
parser.add_argument("--go-file", required=True)
args = parser.parse_args()
os.makedirs("logs", exist_ok=True)
with open("logs/progress.txt", "w") as f:
    f.write("epoch 1 of 2\n")
print("progress written")
deadline = time.time() + 60
while not os.path.exists(args.go_file) and time.time() < deadline:
    time.sleep(0.05)
print("go file seen, finishing")
