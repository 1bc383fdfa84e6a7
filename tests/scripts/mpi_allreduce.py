"""An MPI job: every rank reports where it runs; an allreduce sums rank+1 over all ranks."""
import json
import os

from mpi4py import MPI

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
total = comm.allreduce(rank + 1, op=MPI.SUM)
shared = comm.Split_type(MPI.COMM_TYPE_SHARED)
info = {
    "rank": rank, "size": size, "sum": total,
    "local_rank": int(os.environ["OMPI_COMM_WORLD_LOCAL_RANK"]),
    "local_size": int(os.environ["OMPI_COMM_WORLD_LOCAL_SIZE"]),
    "shared_size": shared.Get_size(),
    "node": os.environ["AZ_BATCH_NODE_ID"], "address": os.environ["AMLEMU_NODE_ADDRESS"],
    "cwd": os.getcwd(), "affinity": sorted(os.sched_getaffinity(0)),
    "master": os.environ.get("AZ_BATCH_MASTER_NODE"), "run": os.environ["AZUREML_RUN_ID"],
}
print("RANK " + json.dumps(info, sort_keys=True), flush=True)
os.makedirs("outputs", exist_ok=True)
with open("outputs/rank_%d.json" % rank, "w") as f:
    json.dump(info, f)
