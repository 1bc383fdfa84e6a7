"""Prints --megabytes MiB of text to stdout as fast as it can, then a last line."""
import argparse
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--megabytes", type=int, default=1024)
args = parser.parse_args()
line = ("x" * 1023 + "\n").encode()
block = line * 1024  # 1 MiB
out = sys.stdout.buffer
for _ in range(args.megabytes):
    out.write(block)
out.write(b"printed everything\n")
out.flush()
