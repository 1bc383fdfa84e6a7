"""The MPI start-up benchmark's job: every rank says hello and they meet in a barrier."""
from mpi4py import MPI

comm = MPI.COMM_WORLD
comm.Barrier()
if comm.Get_rank() == 0:
    print("hello from", comm.Get_size(), "ranks", flush=True)
