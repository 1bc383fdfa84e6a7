"""A v2 job with inputs and an output: sums the numbers it is given into the output folder."""
import argparse
import os

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--local", required=True)
parser.add_argument("--factor", type=int, required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()
with open(os.path.join(args.data, "numbers.txt")) as f:
    total = sum(int(x) for x in f.read().split())
with open(os.path.join(args.local, "extra.txt")) as f:
    total += int(f.read())
with open(os.path.join(args.out, "sum.txt"), "w") as f:
    f.write(str(total * args.factor))
print("sum", total * args.factor, "written to", os.path.basename(args.out))
