"""``Run.get_context()`` for scripts run by amlemu.

Inside a run, amlemu sets ``AZUREML_RUN_ID`` (as Azure ML does), ``AMLEMU_DATABASE`` (the
workspace's SQLite file) and ``AMLEMU_RUN_ARTIFACTS`` (the run's files folder). ``get_context()``
then returns the submitted run: metrics go into the database's ``metrics`` table in batches (see
``_writer``), tags and properties into the run's row, files into the run's files. It opens the
database at once and raises ``SchemaVersionError`` when its schema is newer than the package knows
(see ``_schema``). Outside a run it returns an offline run that prints what it would have logged,
as the SDK does.

The metric calls follow the SDK's type rules (see ``_metrics`` for the storage and the shapes):

- a scalar is an int, float, str, bool or None; numpy scalars are converted to them; an integer
  must fit in 64 bits (int64 or uint64), else ``AzureMLException``;
- ``log`` records any other value as its ``repr`` with a warning; ``log_list``, ``log_row`` and
  ``log_table`` raise ``AzureMLException`` for a value that is not a scalar;
- ``log_table`` columns must have equal lengths, else ``InvalidColumnLength``.

Images logged with ``log_image`` become run files:

- ``path=``: the file keeps its path relative to the working directory (``outputs/roc.png``), as the
  SDK uploads it; an absolute path or one outside the working directory keeps only its file name;
- ``plot=``: the figure is saved with ``savefig(stream, format="png")`` as ``<name>_<epoch s>.png``
  at the top of the run's files (characters other than letters, digits, ``.``, ``_`` and ``-`` in
  the name become ``_``);
- when that name is already a file of the run, ``_2``, ``_3``... is added before the extension.

The metric's value is ``aml://artifactId/ExperimentRun/dcid.<run id>/<that path>``.
"""
import io
import json
import logging
import os
import posixpath
import re
import time
import uuid

from azureml.core import _metrics, _schema
from azureml.core._metrics import IMAGE, LIST, ROW, SCALAR, TABLE
from azureml.core._writer import MetricWriter
from azureml.exceptions import (AzureMLException, InvalidColumnLength, RunEnvironmentException,
                                UserErrorException)

__all__ = ["Run", "RunEnvironmentException"]

module_logger = logging.getLogger(__name__)

_RUN_ORIGIN = "ExperimentRun"
_float_repr = float.__repr__
_IMAGE_SIGNATURES = [(b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"),
                     (b"GIF87a", "gif"), (b"GIF89a", "gif"), (b"BM", "bmp"),
                     (b"II*\x00", "tiff"), (b"MM\x00*", "tiff")]


def _image_type(path):
    """The image format of a file from its first bytes (what the SDK's imghdr check accepts)."""
    with open(path, "rb") as f:
        head = f.read(16)
    for signature, kind in _IMAGE_SIGNATURES:
        if head.startswith(signature):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def _check_name(name):
    if type(name) is not str or not name:
        raise UserErrorException("Metric name must be a non-empty string, got %r" % (name,))


def _strict_scalar(name, value):
    """A scalar for log_list/log_row/log_table: anything else raises, as in the SDK."""
    scalar = _metrics.to_scalar(value)
    if scalar is _metrics.INVALID:
        raise AzureMLException(
            "Metric %s: value of type %s is not supported, supported types are int, float, str, "
            "bool, None and numpy scalars" % (name, type(value)))
    return scalar


class _Experiment:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "Experiment(Name: %s)" % self.name


class Run:
    """A run of an experiment. Use ``Run.get_context()`` to get the current one."""

    _context = None

    @classmethod
    def get_context(cls, allow_offline=True, used_for_context_manager=False, **kwargs):
        """The run this script executes in, or an offline run when there is none."""
        if Run._context is not None:
            return Run._context
        run_id = os.environ.get("AZUREML_RUN_ID")
        database = os.environ.get("AMLEMU_DATABASE")
        if run_id and database:
            Run._context = _SubmittedRun(run_id, database)
        elif allow_offline:
            Run._context = _OfflineRun()
        else:
            raise RunEnvironmentException(
                "Could not load a submitted run, if outside of an execution context, use "
                "experiment.start_logging to initialize an azureml.core.Run.")
        return Run._context


class _OfflineRun(Run):
    """What ``get_context()`` gives outside a run: logging prints instead of recording.

    Tags and properties are kept in memory, so ``get_tags()`` and ``get_properties()`` work.
    There is no ``get_metrics``, as in the SDK.
    """

    def __init__(self):
        self.id = "OfflineRun_" + str(uuid.uuid4())
        self.experiment = None
        self._tags = {}
        self._properties = {}

    def __repr__(self):
        return "Run(Experiment: None,\nId: %s,\nType: None,\nStatus: Running)" % self.id

    @staticmethod
    def _emit(kind, name, value):
        print("Attempted to log %s metric %s:\n%s" % (kind, name, value))

    def log(self, name, value, description="", step=None):
        self._emit("scalar", name, value)

    def log_list(self, name, value, description=""):
        self._emit("list", name, value)

    def log_row(self, name, description=None, **kwargs):
        self._emit("row", name, kwargs)

    def log_table(self, name, value, description=""):
        self._emit("table", name, value)

    def log_image(self, name, path=None, plot=None, description=""):
        self._emit("image", name, path if path is not None else plot)

    def upload_file(self, name, path_or_stream):
        print("Attempted to track file %s at %s" % (name, path_or_stream))

    def tag(self, key, value=None):
        print("Attempted to set tag %s:\n%s" % (key, value))
        self._tags[key] = "" if value is None else str(value)

    def set_tags(self, tags):
        print("Attempted to set tags:\n%s" % (tags,))
        self._tags.update({k: "" if v is None else str(v) for k, v in tags.items()})

    def get_tags(self):
        return dict(self._tags)

    def remove_tags(self, tags):
        print("Attempted to remove tags:\n%s" % (tags,))
        for key in tags:
            self._tags.pop(key, None)

    def add_properties(self, properties):
        print("Attempted to add properties:\n%s" % (properties,))
        self._properties.update(_SubmittedRun._merge_properties(self._properties, properties))

    def get_properties(self):
        return dict(self._properties)

    def flush(self, timeout_seconds=300):
        pass

    def complete(self, _set_status=True):
        pass


class _SubmittedRun(Run):
    """The run amlemu started this process for."""

    def __init__(self, run_id, database):
        self.id = run_id
        self.experiment = _Experiment(os.environ.get("AZUREML_ARM_PROJECT_NAME", ""))
        self._artifacts = os.environ.get("AMLEMU_RUN_ARTIFACTS", "")
        self._writer = MetricWriter(run_id, database)
        self._families = {}  # metric name -> family of its first kind, to warn about a mix
        # Open the connection now: a database this package cannot use (SchemaVersionError) stops
        # the script here, not at its first flush after minutes of training.
        with self._writer.connection():
            pass

    def __repr__(self):
        try:
            status = self.get_status()
        except Exception:  # a repr must not fail
            status = "Unknown"
        return "Run(Experiment: %s,\nId: %s,\nType: azureml.scriptrun,\nStatus: %s)" % (
            self.experiment.name, self.id, status)

    # ------------------------------------------------------------------------------ metrics

    def _check_family(self, name, kind):
        first = self._families.setdefault(name, _metrics.family(kind))
        if first != _metrics.family(kind):
            module_logger.warning(
                "Conflicting metric types, logged metric of type: %s to name: %s, expected metric "
                "type is %s; get_metrics() ignores it", _metrics.SDK_METRIC_TYPES.get(kind, kind),
                name, _metrics.SDK_METRIC_TYPES.get(first, first))

    def log(self, name, value, description="", step=None):
        """Logs a scalar; logged N times, ``get_metrics()`` gives a list of the N values.

        int, float, str, bool and None are stored as they are and numpy scalars converted; any
        other value is stored as its ``repr``, with a warning. An integer over 64 bits raises.
        """
        if type(name) is not str or not name:
            _check_name(name)
        t = type(value)
        if t is float and value - value == 0.0:  # the common case, inlined: a finite float
            text = _float_repr(value)
        elif t is float or t is str or t is bool or value is None:
            text = _metrics.scalar_json(value)
        elif t is int:
            _metrics.check_int(value)
            text = _metrics.scalar_json(value)
        else:
            scalar = _metrics.to_scalar(value)
            if scalar is _metrics.INVALID:
                scalar = repr(value)
                module_logger.warning("Converted key %s of value %s to %s.", name, value, scalar)
            text = _metrics.scalar_json(scalar)
        if step is not None:
            step = int(step)
        if self._families.get(name) is not SCALAR:
            self._check_family(name, SCALAR)
        self._writer.add(name, SCALAR, step, text)

    def log_list(self, name, value, description=""):
        """Logs a list of scalars; ``get_metrics()`` gives the values of every call, in order."""
        _check_name(name)
        values = [_metrics.encode(_strict_scalar(name, v)) for v in value]
        self._check_family(name, LIST)
        self._writer.add(name, LIST, None, json.dumps(values))

    def log_row(self, name, description=None, **kwargs):
        """Logs one row of the table ``name``: ``log_row("roc", fpr=0.1, tpr=0.8)``."""
        _check_name(name)
        row = {}
        for column, value in kwargs.items():
            if isinstance(value, (list, tuple)):
                raise AzureMLException("Rows cannot contain list values, column %s contains a list."
                                       % column)
            row[column] = _metrics.encode(_strict_scalar(name, value))
        self._check_family(name, ROW)
        self._writer.add(name, ROW, None, json.dumps(row))

    def log_table(self, name, value, description=""):
        """Logs a table given as ``{column: [values]}``; every column must have the same length.

        A column given as a single scalar counts as one value. Unequal lengths raise
        ``InvalidColumnLength``.
        """
        _check_name(name)
        if not isinstance(value, dict):
            raise AzureMLException("Table to log is not a dictionary, currently supported inputs "
                                   "are dict[string]: column where columns are scalars or a list "
                                   "of scalars")
        table = {}
        for column, cells in value.items():
            if hasattr(cells, "tolist"):  # a numpy array
                cells = cells.tolist()
            cells = list(cells) if isinstance(cells, (list, tuple)) else [cells]
            table[column] = [_metrics.encode(_strict_scalar(name, c)) for c in cells]
        if table:
            reference = next(iter(table))
            for column, cells in table.items():
                if len(cells) != len(table[reference]):
                    raise InvalidColumnLength(
                        "Columns must have the same length, column %s had length %d, however, "
                        "column %s had length %d." % (reference, len(table[reference]), column,
                                                       len(cells)))
        self._check_family(name, TABLE)
        self._writer.add(name, TABLE, None, json.dumps(table))

    def log_image(self, name, path=None, plot=None, description=""):
        """Logs an image file (``path``) or a matplotlib figure (``plot``) as a run file.

        Exactly one of ``path`` and ``plot`` must be given. The metric's value is the image's
        ``aml://artifactId/...`` address; the module docstring says where the image goes.
        """
        _check_name(name)
        if (path is None) == (plot is None):
            raise UserErrorException("log_image: give exactly one of path and plot, got %s"
                                     % ("both" if path is not None else "neither"))
        if path is not None:
            path = os.fspath(path)
            if not os.path.isfile(path):
                raise UserErrorException("log_image: image file not found: %s" % path)
            if _image_type(path) is None:
                raise AzureMLException("Argument [%s] is malformed: not a png, jpeg, gif, bmp, "
                                       "tiff or webp image" % path)
            relative = posixpath.normpath(path.replace(os.sep, "/"))
            wanted = (os.path.basename(path) if os.path.isabs(path) or relative.startswith("../")
                      else relative)
            with open(path, "rb") as f:
                artifact = self._store_file(wanted, f, unique=True)
        else:
            stream = io.BytesIO()
            try:
                plot.savefig(stream, format="png")
            except AttributeError:
                raise AzureMLException("Argument [plot] is invalid: expected a matplotlib.pyplot "
                                       "figure (an object with savefig), got %s" % type(plot))
            stream.seek(0)
            base = re.sub(r"[^A-Za-z0-9._-]", "_", name)
            artifact = self._store_file("%s_%d.png" % (base, int(time.time())), stream,
                                        unique=True)
        uri = "aml://artifactId/%s/dcid.%s/%s" % (_RUN_ORIGIN, self.id, artifact)
        self._check_family(name, IMAGE)
        self._writer.add(name, IMAGE, None, _metrics.scalar_json(uri))

    def get_metrics(self, name=None, recursive=False, run_type=None, populate=False):
        """The run's metrics, shaped as the SDK does (see ``_metrics.shape``).

        Pending values are written first. ``recursive`` and ``run_type`` have no effect (amlemu
        runs have no children); with ``populate`` an image is still its ``aml://`` address.
        """
        self.flush()
        args = (self.id,) if name is None else (self.id, name)
        with self._writer.connection() as conn:
            rows = conn.execute(_schema.select_metrics(name), args).fetchall()
        return _metrics.shape((n, k, json.loads(v)) for n, k, v in rows)

    def flush(self, timeout_seconds=300):
        """Writes pending metric values to run history in one transaction."""
        self._writer.flush()

    def complete(self, _set_status=True):
        """Writes pending metrics; amlemu records the run's status when the script exits."""
        self.flush()

    def get_status(self):
        """The run's status as recorded in run history (``Running`` while the script runs)."""
        with self._writer.connection() as conn:
            row = conn.execute(_schema.SELECT_RUN_STATUS, (self.id,)).fetchone()
        return row[0] if row else None

    # -------------------------------------------------------------------- tags, properties

    def _update_json_column(self, column, change):
        """Reads the run's JSON ``column``, applies ``change`` and writes it back atomically."""
        with self._writer.transaction() as conn:
            row = conn.execute(_schema.SELECT_RUN_JSON[column], (self.id,)).fetchone()
            if row is None:
                raise RunEnvironmentException("Run %s is not in the workspace database" % self.id)
            value = change(json.loads(row[0] or "{}"))
            conn.execute(_schema.UPDATE_RUN_JSON[column], (json.dumps(value), self.id))
        return value

    def _read_json_column(self, column):
        with self._writer.connection() as conn:
            row = conn.execute(_schema.SELECT_RUN_JSON[column], (self.id,)).fetchone()
        return json.loads(row[0] or "{}") if row else {}

    @staticmethod
    def _tag_values(tags):
        for key in tags:
            if type(key) is not str or not key:
                raise UserErrorException("Tag keys must be non-empty strings, got %r" % (key,))
        return {k: "" if v is None else str(v) for k, v in tags.items()}

    def tag(self, key, value=None):
        """Sets one tag; ``value`` defaults to the empty string. Tag values are strings."""
        self.set_tags({key: value})

    def set_tags(self, tags):
        """Sets several tags at once (existing ones are overwritten)."""
        values = self._tag_values(tags)
        self._update_json_column("tags", lambda current: {**current, **values})

    def get_tags(self):
        """The run's tags, ``{key: value}``."""
        return self._read_json_column("tags")

    def remove_tags(self, tags):
        """Removes the tags named in the list ``tags``; names that are not tags are ignored."""
        names = [tags] if isinstance(tags, str) else list(tags)
        self._update_json_column(
            "tags", lambda current: {k: v for k, v in current.items() if k not in names})

    @staticmethod
    def _merge_properties(current, properties):
        """``current`` plus ``properties``; changing an existing property's value raises."""
        merged = dict(current)
        for key, value in properties.items():
            if type(key) is not str or not key:
                raise UserErrorException("Property keys must be non-empty strings, got %r"
                                         % (key,))
            value = "" if value is None else str(value)
            if key in merged and merged[key] != value:
                raise UserErrorException(
                    "Property %s is already set to %r and cannot be changed to %r: properties "
                    "are immutable" % (key, merged[key], value))
            merged[key] = value
        return merged

    def add_properties(self, properties):
        """Adds properties. They are immutable: setting an existing key to another value raises
        ``UserErrorException``; setting it to the same value is allowed. Values are strings."""
        self._update_json_column("properties",
                                 lambda current: self._merge_properties(current, properties))

    def get_properties(self):
        """The run's properties, amlemu's own (``ContentSnapshotId``...) included."""
        return self._read_json_column("properties")

    # ------------------------------------------------------------------------------- files

    def _artifacts_folder(self):
        if not self._artifacts:
            raise RunEnvironmentException("AMLEMU_RUN_ARTIFACTS is not set: this run has no files "
                                          "folder")
        return os.path.normpath(self._artifacts)

    def _store_file(self, name, source, unique=False):
        """Copies the binary stream ``source`` into the run's files as ``name``; returns the name.

        The file is written beside its target and renamed into place, then recorded in
        ``run_files``. A name already taken raises (the SDK's artifact conflict) unless
        ``unique``, which picks ``<stem>_2<ext>``, ``<stem>_3<ext>``... instead.
        """
        root = self._artifacts_folder()
        clean = posixpath.normpath(str(name).replace("\\", "/"))
        if not name or clean.startswith("/") or clean == ".." or clean.startswith("../") \
                or clean == ".":
            raise UserErrorException("File name %r must be a relative path inside the run's files"
                                     % (name,))
        stem, ext = posixpath.splitext(clean)
        candidate, n = clean, 1
        taken = set(self.get_file_names())
        while candidate in taken or os.path.lexists(os.path.join(root, candidate)):
            if not unique:
                raise AzureMLException("Resource Conflict: ArtifactId %s/dcid.%s/%s already "
                                       "exists." % (_RUN_ORIGIN, self.id, clean))
            n += 1
            candidate = "%s_%d%s" % (stem, n, ext)
        target = os.path.join(root, candidate)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        partial = "%s.amlemu-upload-%s" % (target, uuid.uuid4().hex[:8])
        try:
            with open(partial, "wb") as out:
                while True:
                    chunk = source.read(1 << 20)
                    if not chunk:
                        break
                    out.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
            os.replace(partial, target)
        except BaseException:
            if os.path.exists(partial):
                os.remove(partial)
            raise
        with self._writer.transaction() as conn:
            conn.execute(_schema.INSERT_RUN_FILE, (self.id, candidate, os.path.getsize(target)))
        return candidate

    def upload_file(self, name, path_or_stream):
        """Adds a file to the run's files under ``name`` (a relative path such as
        ``outputs/model.pkl``) from a path or a readable stream. A name that is already a file of
        the run raises ``AzureMLException`` (Resource Conflict), as in the SDK."""
        if hasattr(path_or_stream, "read"):
            self._store_file(name, path_or_stream)
        else:
            with open(os.fspath(path_or_stream), "rb") as f:
                self._store_file(name, f)

    def get_file_names(self):
        """The run's files recorded so far, sorted: uploaded files and images while the script
        runs; ``outputs/`` and ``logs/`` are added when it ends."""
        with self._writer.connection() as conn:
            rows = conn.execute(_schema.SELECT_RUN_FILE_NAMES, (self.id,)).fetchall()
        return [r[0] for r in rows]
