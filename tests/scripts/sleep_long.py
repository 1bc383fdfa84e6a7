"""Sleeps for a long time after writing its pid, to test cancellation and time limits."""
import argparse
import os
import time

parser = argparse.ArgumentParser()
parser.add_argument("--pid-file", required=True)
args = parser.parse_args()
with open(args.pid_file + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(args.pid_file + ".tmp", args.pid_file)
print("sleeping", flush=True)
time.sleep(120)
