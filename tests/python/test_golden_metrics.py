"""The golden metrics file (tests/golden/metrics.json): the package's calls write exactly its rows
and get_metrics() gives exactly its shape. tests/unit/metrics_golden_test.cpp checks that C++
reads the same rows into the same shape."""
import base64
import os

import pytest

from conftest import canonical, from_golden, load_golden, stored_rows

GOLDEN = load_golden("metrics.json")
# The smallest valid PNG (1x1 pixel), for log_image.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGA"
                       "WjR9awAAAABJRU5ErkJggg==")


def perform(run, calls):
    """Makes the golden calls on ``run``, in order."""
    for call in calls:
        name = call["name"]
        kind = call["call"]
        if kind == "log":
            kwargs = {"step": call["step"]} if "step" in call else {}
            run.log(name, from_golden(call["value"]), **kwargs)
        elif kind == "log_list":
            run.log_list(name, from_golden(call["value"]))
        elif kind == "log_row":
            run.log_row(name, **from_golden(call["row"]))
        elif kind == "log_table":
            run.log_table(name, from_golden(call["value"]))
        elif kind == "log_image":
            os.makedirs(os.path.dirname(call["path"]) or ".", exist_ok=True)
            with open(call["path"], "wb") as f:
                f.write(PNG)
            run.log_image(name, path=call["path"])
        else:
            raise AssertionError("unknown call in the golden file: %r" % kind)


@pytest.fixture
def golden_run(submitted):
    run = submitted(GOLDEN["run_id"], experiment=GOLDEN["experiment"])
    perform(run, GOLDEN["calls"])
    run.flush()
    return run


def test_the_golden_file_covers_every_kind_and_the_float_marker():
    kinds = {row["kind"] for row in GOLDEN["rows"]}
    assert kinds == {"scalar", "list", "row", "table", "image"}
    assert {call["call"] for call in GOLDEN["calls"]} == {
        "log", "log_list", "log_row", "log_table", "log_image"}
    markers = [row for row in GOLDEN["rows"] if '"$float"' in row["value"]]
    assert {row["kind"] for row in markers} >= {"scalar", "list", "table"}


def test_the_calls_write_the_golden_rows(golden_run):
    got = [{"name": n, "kind": k, "step": s, "value": v}
           for n, k, s, v, _ in stored_rows(os.environ["AMLEMU_DATABASE"], GOLDEN["run_id"])]
    assert got == GOLDEN["rows"]


def test_get_metrics_gives_the_golden_shape(golden_run):
    assert canonical(golden_run.get_metrics()) == GOLDEN["metrics"]


def test_get_metrics_of_one_name_gives_its_golden_shape(golden_run):
    for name, shaped in GOLDEN["metrics"].items():
        assert canonical(golden_run.get_metrics(name)) == {name: shaped}
    assert golden_run.get_metrics("never_logged") == {}


def test_non_finite_floats_come_back_as_floats(golden_run):
    metrics = golden_run.get_metrics()
    assert metrics["up"] == float("inf")
    assert metrics["down"] == float("-inf")
    assert metrics["loss"][2] != metrics["loss"][2]  # NaN
