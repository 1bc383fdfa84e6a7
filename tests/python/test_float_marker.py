"""The ``$float`` marker: JSON has no NaN or infinity, so a non-finite float is stored as
``{"$float": "NaN"}`` (``"Infinity"``, ``"-Infinity"``) and get_metrics() gives the float back."""
import json
import math

import pytest

from azureml.core import _metrics
from conftest import stored_rows

NON_FINITE = [(float("nan"), "NaN"), (float("inf"), "Infinity"), (float("-inf"), "-Infinity")]


@pytest.mark.parametrize("value, text", NON_FINITE)
def test_a_non_finite_scalar_is_stored_as_the_marker(value, text):
    assert _metrics.scalar_json(value) == '{"$float": "%s"}' % text
    assert json.loads(_metrics.scalar_json(value)) == {"$float": text}
    assert _metrics.encode(value) == {"$float": text}


@pytest.mark.parametrize("value", [0.0, -0.0, 1.5, 1e300, 5e-324, 0.1])
def test_a_finite_float_is_stored_as_its_shortest_repr(value):
    assert _metrics.scalar_json(value) == repr(value)
    assert json.loads(_metrics.scalar_json(value)) == value
    assert _metrics.encode(value) is value


@pytest.mark.parametrize("value, text", NON_FINITE)
def test_decode_gives_the_float_back(value, text):
    back = _metrics.decode({"$float": text})
    assert type(back) is float
    assert (math.isnan(back) if math.isnan(value) else back == value)


@pytest.mark.parametrize("value", [{"$float": "NaN", "other": 1}, {"$floats": "NaN"}, "NaN",
                                   {"x": {"$float": "NaN"}}])
def test_only_the_exact_marker_is_decoded(value):
    assert _metrics.decode(value) == value


def test_markers_in_every_kind_come_back_as_floats(submitted):
    run = submitted()
    nan, inf = float("nan"), float("inf")
    run.log("s", nan)
    run.log_list("l", [1.0, -inf])
    run.log_row("r", a=inf)
    run.log_table("t", {"a": [nan, 2.0]})
    run.flush()
    values = {name: value for name, _, _, value, _ in stored_rows(run._writer.database)}
    assert values == {"s": '{"$float": "NaN"}', "l": '[1.0, {"$float": "-Infinity"}]',
                      "r": '{"a": {"$float": "Infinity"}}',
                      "t": '{"a": [{"$float": "NaN"}, 2.0]}'}
    m = run.get_metrics()
    assert math.isnan(m["s"])
    assert m["l"] == [1.0, -inf]
    assert m["r"] == {"a": inf}
    assert math.isnan(m["t"]["a"][0]) and m["t"]["a"][1] == 2.0


def test_a_string_that_looks_like_a_float_stays_a_string(submitted):
    run = submitted()
    run.log("s", "NaN")
    run.log("d", {"$float": "NaN"})  # not a scalar: logged as its repr
    assert run.get_metrics() == {"s": "NaN", "d": "{'$float': 'NaN'}"}
