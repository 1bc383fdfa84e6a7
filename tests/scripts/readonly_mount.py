"""Checks that a mounted datastore can be read but not written."""
import argparse
import errno
import os

parser = argparse.ArgumentParser()
parser.add_argument("--data-folder", required=True)
args = parser.parse_args()
with open(os.path.join(args.data_folder, "numbers.txt")) as f:
    print("read", len(f.read().split()), "numbers")
try:
    with open(os.path.join(args.data_folder, "written-by-run.txt"), "w") as f:
        f.write("x")
    print("WRITABLE")
except OSError as e:
    print("read-only ok" if e.errno in (errno.EROFS, errno.EACCES) else "other error %s" % e)
