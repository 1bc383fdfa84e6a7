"""Rank 1 fails; every other rank would run for a minute if nobody stopped it."""
import os
import time

from mpi4py import MPI

rank = MPI.COMM_WORLD.Get_rank()
print("rank", rank, "started", flush=True)
if rank == 1:
    time.sleep(0.3)
    raise ValueError("rank one is broken")
time.sleep(60)
