"""Starts processes that try to outlive the run: a child in the script's own process group and a
grandchild in a session of its own (as a daemon would), then waits."""
import subprocess
import time

same_group = subprocess.Popen(["sleep", "600"])
own_session = subprocess.Popen(["sleep", "600"], start_new_session=True)
print("tree ready", same_group.pid, own_session.pid, flush=True)
time.sleep(600)
