"""The trivial entry script of the run-overhead benchmark: its first line carries a timestamp."""
import time

print("first line %.6f" % time.time(), flush=True)
