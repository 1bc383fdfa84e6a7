"""Each PyTorch process exits RANK half-seconds after starting, so their end times differ."""
import os
import time

time.sleep(0.5 * int(os.environ["RANK"]))
print("rank", os.environ["RANK"], "done", flush=True)
