"""Helpers for reading MNIST-format (IDX) gzip files with numpy."""

import gzip
import os
import struct

import numpy as np

IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049


def load_data(path, label=False):
    """Read a gzip IDX file.

    Returns images as a float32 array of shape (N, rows*cols) scaled to
    [0, 1], or, when ``label`` is true, labels as an int64 array of shape (N,).
    """
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    if label:
        magic, count = struct.unpack(">II", data[:8])
        _check_magic(path, magic, LABEL_MAGIC)
        labels = np.frombuffer(data, dtype=np.uint8, count=count, offset=8)
        return labels.astype(np.int64)
    magic, count, rows, cols = struct.unpack(">IIII", data[:16])
    _check_magic(path, magic, IMAGE_MAGIC)
    pixels = np.frombuffer(data, dtype=np.uint8, count=count * rows * cols, offset=16)
    return pixels.reshape(count, rows * cols).astype(np.float32) / np.float32(255.0)


def _check_magic(path, found, expected):
    """Raise ValueError when an IDX file's magic number is not the expected one."""
    if found != expected:
        raise ValueError(
            f"{path}: bad magic number {found}, expected {expected}")


def one_hot_encode(array, num_of_classes):
    """Turn an int label vector into a float32 one-hot matrix."""
    return np.eye(num_of_classes, dtype=np.float32)[np.asarray(array).reshape(-1)]


def find_data_file(data_folder, filename):
    """Locate ``filename`` in ``data_folder`` or one of its immediate sub-folders.

    Raises FileNotFoundError with a one-line message naming the folder.
    """
    direct = os.path.join(data_folder, filename)
    if os.path.isfile(direct):
        return direct
    if os.path.isdir(data_folder):
        for entry in sorted(os.listdir(data_folder)):
            candidate = os.path.join(data_folder, entry, filename)
            if os.path.isfile(candidate):
                return candidate
    raise FileNotFoundError(
        f"{filename} not found in {data_folder} or its immediate sub-folders")
