"""Leaves a process behind: a child in a session of its own (as a daemon would), not waited for.
The script then ends normally, and the child, orphaned, carries on."""
import subprocess

child = subprocess.Popen(["sleep", "600"], start_new_session=True)
print("left behind", child.pid, flush=True)
