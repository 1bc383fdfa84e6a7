"""Logs metrics, then dies of an uncaught exception: the values must still be recorded.

The timed flush is switched off, so only the interpreter-exit flush can write them. The script has
its own SIGTERM handler, which amlemu must leave in place.
"""
import signal

import azureml.core._writer as writer
from azureml.core.run import Run


def own_handler(signum, frame):
    raise SystemExit(3)


signal.signal(signal.SIGTERM, own_handler)
writer.FLUSH_SECONDS = 3600
run = Run.get_context()
run.log("own_handler_kept", signal.getsignal(signal.SIGTERM) is own_handler)
for epoch in range(3):
    run.log("loss", 1.0 / (epoch + 1))
run.log_row("progress", epoch=2, done=False)
print("about to fail", flush=True)
raise RuntimeError("diverged after epoch 2")
