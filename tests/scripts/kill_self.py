"""Dies by SIGKILL after printing a few lines."""
import os
import signal

for i in range(3):
    print("line", i)
print("about to die", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
