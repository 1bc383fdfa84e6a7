"""Entry script of the CUDA burn-in sample: compiles burnin.cu with nvcc, then runs it on the
node's GPU. On a node without a GPU (amlemu's virtual GPU mode, or no driver) it still compiles,
then says clearly that the run is skipped, and succeeds."""
import os
import shutil
import subprocess
import sys

try:
    from azureml.core.run import Run
    run = Run.get_context()
except ImportError:  # outside amlemu and without the SDK
    run = None

nvcc = shutil.which("nvcc") or ("/usr/local/cuda/bin/nvcc" if os.path.exists("/usr/local/cuda/bin/nvcc") else None)
if nvcc is None:
    print("SKIPPED: nvcc (the CUDA toolkit) is not installed on this node", flush=True)
    sys.exit(0)
print("compiling burnin.cu with", nvcc, flush=True)
subprocess.run([nvcc, "-O2", "-o", "burnin", "burnin.cu"], check=True)
print("compiled", flush=True)

virtual = os.environ.get("AMLEMU_VIRTUAL_GPUS")
if virtual or os.environ.get("CUDA_VISIBLE_DEVICES") == "":
    print("SKIPPED: no GPU on this node (amlemu virtual GPU mode, %s virtual GPU(s)); "
          "the burn-in needs a real GPU" % (virtual or 0), flush=True)
    sys.exit(0)
result = subprocess.run(["./burnin"] + sys.argv[1:], capture_output=True, text=True)
print(result.stdout, end="", flush=True)
if result.returncode == 3:
    print("SKIPPED: no CUDA device visible to this node", flush=True)
    sys.exit(0)
if result.returncode != 0:
    print(result.stderr, file=sys.stderr)
    sys.exit(result.returncode)
for line in result.stdout.splitlines():
    if line.startswith("matmul") and run is not None:
        run.log("gflops", float(line.split(",")[1].split()[0]))
    if line.startswith("host to device") and run is not None:
        run.log("h2d_gb_per_s", float(line.split(":")[1].split()[0]))
