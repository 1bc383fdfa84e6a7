"""Records its pid under --pid-dir (by MPI rank) and sleeps, to test that cancel ends every rank."""
import argparse
import os
import time

parser = argparse.ArgumentParser()
parser.add_argument("--pid-dir", required=True)
args = parser.parse_args()
rank = os.environ.get("OMPI_COMM_WORLD_RANK", os.environ.get("RANK", "0"))
with open(os.path.join(args.pid_dir, rank + ".tmp"), "w") as f:
    f.write(str(os.getpid()))
os.rename(os.path.join(args.pid_dir, rank + ".tmp"), os.path.join(args.pid_dir, rank))
time.sleep(120)
