"""Metric values: the SDK's type rules, how amlemu stores them, and the shape of ``get_metrics()``.

Every logged value is one row of the workspace database's ``metrics`` table; ``kind`` says which
call logged it and ``value`` is JSON:

=========  ===================  ==================================================
kind       logged by            value
=========  ===================  ==================================================
scalar     ``log``              the scalar
list       ``log_list``         an array of scalars
row        ``log_row``          an object ``{column: scalar}``
table      ``log_table``        an object ``{column: [scalars]}``, equal lengths
image      ``log_image``        the string ``aml://artifactId/ExperimentRun/dcid.<run id>/<path>``
=========  ===================  ==================================================

A scalar is an int, float, str, bool or None. JSON has no NaN or infinity, so a non-finite float
is stored as ``{"$float": "NaN"}`` (or ``"Infinity"``, ``"-Infinity"``); ``get_metrics()`` gives
the float back, ``amlemu job metrics`` shows the string.

:func:`shape` is the Python twin of ``history::shape_metrics`` in ``emulator/history/run_store.cpp``;
the two must give the same shapes for every kind.
"""
import json
import sys

from azureml.exceptions import AzureMLException

SCALAR = "scalar"
LIST = "list"
ROW = "row"
TABLE = "table"
IMAGE = "image"

#: The SDK's metric type for each kind (``azureml.v1.table`` covers rows and tables).
SDK_METRIC_TYPES = {
    SCALAR: "azureml.v1.scalar",
    LIST: "azureml.v1.list",
    ROW: "azureml.v1.table",
    TABLE: "azureml.v1.table",
    IMAGE: "azureml.v2.image",
}

#: Integers must fit in 64 bits: signed (int64) or unsigned (uint64).
INT_MIN = -(2 ** 63)
INT_MAX = 2 ** 64 - 1

FLOAT_MARKER = "$float"

# Returned by to_scalar for a value that is not a scalar.
INVALID = object()

_encode_str = json.encoder.encode_basestring_ascii  # what json.dumps uses for a str
_float_repr = float.__repr__  # what json.dumps uses for a finite float
_int_repr = int.__repr__
_NONFINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def family(kind):
    """The group of kinds that merge under one name: rows and tables form one table."""
    return TABLE if kind == ROW else kind


def check_int(value):
    """Raises AzureMLException for an integer that does not fit in 64 bits."""
    if not INT_MIN <= value <= INT_MAX:
        raise AzureMLException(
            "Number size of %s is larger than the max size of 64 bits: %d" % (int, value))


def to_scalar(value):
    """The value as a plain scalar (numpy scalars converted), or INVALID.

    Raises AzureMLException for an integer over 64 bits.
    """
    t = type(value)
    if t is float or t is str or t is bool or value is None:
        return value
    if t is int:
        check_int(value)
        return value
    numpy = sys.modules.get("numpy")  # a numpy scalar implies numpy is imported
    if numpy is not None and isinstance(value, numpy.generic):
        item = value.item()
        if type(item) in (int, float, str, bool):
            return to_scalar(item)
    return INVALID


def scalar_json(value):
    """JSON text of a plain scalar, with the float marker for NaN and infinities."""
    t = type(value)
    if t is float:
        if value - value == 0.0:  # finite
            return _float_repr(value)
        return '{"%s": "%s"}' % (FLOAT_MARKER, _NONFINITE[_float_repr(value)])
    if t is int:
        return _int_repr(value)
    if t is str:
        return _encode_str(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "null"


def encode(value):
    """A plain scalar ready for json.dumps: a non-finite float becomes the marker object."""
    if type(value) is float and value - value != 0.0:
        return {FLOAT_MARKER: _NONFINITE[_float_repr(value)]}
    return value


def decode(value):
    """The inverse of :func:`encode` for one stored cell."""
    if type(value) is dict and len(value) == 1 and FLOAT_MARKER in value:
        return float(value[FLOAT_MARKER])
    return value


def _merge_table(entries):
    """Merges the rows and tables logged under one name into one table.

    Columns keep their first-seen order; a column missing from a row or table is filled with None
    for it (as the SDK does), so every column has one value per row. One row in all gives
    ``{column: value}``, otherwise ``{column: [values]}``.
    """
    columns = {}
    rows = 0
    for kind, value in entries:
        if type(value) is not dict:
            continue
        if kind == ROW:
            block = {col: [cell] for col, cell in value.items()}
            added = 1
        else:
            block = {col: (cells if type(cells) is list else [cells])
                     for col, cells in value.items()}
            added = max((len(cells) for cells in block.values()), default=0)
        for col in block:
            if col not in columns:
                columns[col] = [None] * rows
        for col, cells in columns.items():
            new = [decode(c) for c in block.get(col, [])]
            cells.extend(new + [None] * (added - len(new)))
        rows += added
    if rows == 1:
        return {col: cells[0] for col, cells in columns.items()}
    return columns


def shape(rows):
    """``get_metrics()`` from stored rows ``(name, kind, value)`` in logging order.

    - The kind first logged under a name decides its family; values of another family logged
      under the same name are ignored (the SDK keeps the first metric type and warns).
    - scalar (and image, and any unknown kind): logged once gives the value, N times a list in
      logging order.
    - list: always a list, the values of every ``log_list`` call in order.
    - row and table: one table; one row in all gives ``{column: value}``, more give
      ``{column: [values]}``.
    """
    grouped = {}
    for name, kind, value in rows:
        grouped.setdefault(name, []).append((kind, value))
    out = {}
    for name, entries in grouped.items():
        fam = family(entries[0][0])
        entries = [(k, v) for k, v in entries if family(k) == fam]
        if fam == LIST:
            flat = []
            for _, value in entries:
                flat.extend(decode(v) for v in (value if type(value) is list else [value]))
            out[name] = flat
        elif fam == TABLE:
            out[name] = _merge_table(entries)
        else:
            values = [decode(v) for _, v in entries]
            out[name] = values[0] if len(values) == 1 else values
    return out
