"""Logs every kind of metric with the SDK's type rules, sets tags and properties and uploads files.

Run with AZUREML_METRICS_BATCH_SIZE=7. Writes outputs/checks.json (what the script saw) and
outputs/py_metrics.json (Run.get_metrics() as the script sees it, non-finite floats as strings) for
the test to compare with `amlemu job metrics`.
"""
import io
import json
import math
import os
import signal
import sqlite3

import numpy as np

from azureml.core.run import Run
from azureml.exceptions import AzureMLException, InvalidColumnLength, UserErrorException

run = Run.get_context()
checks = {}


def stored(name):
    """Rows of `name` already in the database, seen through a connection of our own."""
    with sqlite3.connect(os.environ["AMLEMU_DATABASE"]) as conn:
        return conn.execute("SELECT COUNT(*) FROM metrics WHERE run_id = ? AND name = ?",
                            (run.id, name)).fetchone()[0]


def error(call):
    """The class name and message of what `call` raises."""
    try:
        call()
    except Exception as e:
        return [type(e).__name__, str(e)]
    return None


# The batch size comes from AZUREML_METRICS_BATCH_SIZE (7): six values wait, the seventh writes.
for i in range(6):
    run.log("batch", i)
checks["batch_after_6"] = stored("batch")
run.log("batch", 6)
checks["batch_after_7"] = stored("batch")
checks["sigterm_handler_installed"] = signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None)

# Scalars: once, several times, every type.
run.log("accuracy", 0.5)
for loss in (3, 2, 1):
    run.log("loss", loss)
run.log("name", "resnet")
run.log("flag", True)
run.log("nothing", None)
run.log("not_a_number", float("nan"))
run.log("infinite", float("-inf"))
run.log("int64_min", -(2 ** 63))
run.log("uint64_max", 2 ** 64 - 1)
run.log("np_float", np.float32(0.5))
run.log("np_int", np.int64(7))
run.log("np_bool", np.bool_(False))
run.log("np_str", np.str_("text"))
run.log("object", {"k": 1})  # not a scalar: its repr, with a warning
run.log("stepped", 0.25, step=3)
checks["too_big"] = error(lambda: run.log("too_big", 2 ** 64))
checks["too_small"] = error(lambda: run.log("too_small", -(2 ** 63) - 1))
for i in range(2500):  # several batches, one order
    run.log("series", i)

# Lists.
run.log_list("losses", [3, 2, 1])
run.log_list("np_list", np.array([0.5, 0.25]))
run.log_list("two_calls", [1, 2])
run.log_list("two_calls", [3])
run.log_list("empty", [])
checks["list_of_dicts"] = error(lambda: run.log_list("bad_list", [{"a": 1}]))
checks["list_too_big"] = error(lambda: run.log_list("bad_list", [2 ** 64]))

# Rows and tables.
run.log_row("one_row", epoch=1, acc=0.5)
run.log_row("rows", epoch=1, acc=0.5)
run.log_row("rows", epoch=2, acc=0.75)
run.log_row("rows", epoch=3, note="late")  # acc missing here, note before: null
run.log_table("table", {"x": [1, 2, 3], "y": [0.5, 0.25, 0.125]})
run.log_table("one_row_table", {"x": [1], "y": ["a"]})
run.log_table("np_table", {"x": np.array([1, 2]), "y": 5.0 * np.ones(2)})
run.log_row("grown", x=0)
run.log_table("grown", {"x": [1, 2], "y": [10, 20]})
checks["uneven"] = error(lambda: run.log_table("uneven", {"a": [1, 2], "b": [3]}))
checks["uneven_is_azureml"] = issubclass(InvalidColumnLength, AzureMLException)
checks["row_with_list"] = error(lambda: run.log_row("bad_row", x=[1, 2]))
checks["table_not_dict"] = error(lambda: run.log_table("bad_table", [1, 2]))

# Images: a file, and a figure saved with savefig (a stand-in for matplotlib).
os.makedirs("outputs", exist_ok=True)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
with open("outputs/roc.png", "wb") as f:
    f.write(PNG)
run.log_image("roc", path="outputs/roc.png")


class Figure:
    def savefig(self, stream, format):
        stream.write(PNG)


run.log_image("plot", plot=Figure())
with open("notes.txt", "w") as f:
    f.write("not an image")
checks["image_not_image"] = error(lambda: run.log_image("bad_image", path="notes.txt"))
checks["image_both"] = error(lambda: run.log_image("bad_image", path="outputs/roc.png",
                                                   plot=Figure()))
checks["image_neither"] = error(lambda: run.log_image("bad_image"))

# A name logged with a second kind keeps the first: the list is ignored.
run.log("mixed", 1)
run.log_list("mixed", [2, 3])

# Tags and properties.
run.tag("quality")
run.tag("epochs", 10)
run.set_tags({"a": "1", "b": "2"})
run.remove_tags(["a"])
checks["tags"] = run.get_tags()
run.add_properties({"framework": "numpy", "seed": 42})
run.add_properties({"framework": "numpy"})  # the same value again is fine
checks["property_change"] = error(lambda: run.add_properties({"framework": "torch"}))
checks["properties"] = run.get_properties()
checks["property_change_is_user_error"] = issubclass(UserErrorException, AzureMLException)

# Files.
with open("model.bin", "wb") as f:
    f.write(b"weights")
run.upload_file("outputs/uploaded/model.bin", "model.bin")
run.upload_file("extra/readme.txt", io.BytesIO(b"uploaded from a stream"))
checks["upload_conflict"] = error(lambda: run.upload_file("extra/readme.txt", "model.bin"))
checks["upload_outside"] = error(lambda: run.upload_file("../escape.txt", "model.bin"))
checks["file_names"] = run.get_file_names()
checks["status"] = run.get_status()


def plain(value):
    """Non-finite floats as the strings amlemu job metrics shows."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


metrics = run.get_metrics()
checks["nan_is_float"] = isinstance(metrics["not_a_number"], float) and math.isnan(
    metrics["not_a_number"])
checks["one_metric"] = run.get_metrics("loss")
with open("outputs/py_metrics.json", "w") as f:
    json.dump(plain(metrics), f)
with open("outputs/checks.json", "w") as f:
    json.dump(checks, f)
run.complete()
print("metrics_kinds done")
