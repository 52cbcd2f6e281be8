"""MNIST-style IDX files (also gzipped), a folder of them, and Keras's ``mnist.npz``.

Every header, type byte and the exact file size are checked before the data is read; a
damaged file is a :class:`DataError` that names it.
"""

from __future__ import annotations

import gzip
import io
import math
import re
import struct
import zlib
from pathlib import Path

import numpy as np

from core.data.arrays import NumpyData, check_memory, datasets_from, read_npz, sizes
from core.data.dataset import DataError

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_MNIST_NAME = re.compile(r"^(train|t10k)-(images|labels)[-.]idx([13])-ubyte(\.gz)?$", re.I)


def read_idx(path: str | Path, *, max_bytes: int | None = None) -> np.ndarray:
    """The array in an IDX file (MNIST's format), gzip-compressed or not.

    Checks the magic number (two zero bytes, a type byte, the number of dimensions), the
    dimensions and the exact length of the data. Values come out in this machine's byte order.
    """
    p = Path(path)
    try:
        with p.open("rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
        with gzip.open(p, "rb") if gz else p.open("rb") as f:
            head = _exact(f, 4, p)
            if head[:2] != b"\0\0" or head[2] not in _IDX_TYPES or not 1 <= head[3] <= 8:
                raise DataError(
                    f"{p.name} is not an IDX (MNIST) file: it starts with bytes "
                    f"{head.hex(' ')} instead of 00 00, a type and a number of dimensions."
                )
            dims = struct.unpack(f">{head[3]}I", _exact(f, 4 * head[3], p))
            dtype = np.dtype(_IDX_TYPES[head[2]])
            size = math.prod(dims) * dtype.itemsize
            check_memory(size * 2, p.name, max_bytes)
            if not gz:
                have = p.stat().st_size - 4 - 4 * len(dims)
                if have != size:
                    raise DataError(
                        f"{p.name} has {have:,} bytes of data but its header says "
                        f"{sizes(dims)} values ({size:,} bytes): it is "
                        f"{'cut short' if have < size else 'too long'}. Download it again."
                    )
            buffer = bytearray(_exact(f, size, p))
            if f.read(1):
                raise DataError(
                    f"{p.name} has more data than its header says ({sizes(dims)} values). "
                    "Download it again."
                )
    except DataError:
        raise
    except FileNotFoundError as err:
        raise DataError(f"There is no file {p}.") from err
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(
            f"{p.name} could not be read: it is damaged ({err}). Download it again."
        ) from err
    array = np.frombuffer(buffer, dtype=dtype).reshape(dims)
    return array if dtype.itemsize == 1 else array.astype(dtype.newbyteorder("="))


def _exact(f: io.BufferedIOBase, n: int, path: Path) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise DataError(
            f"{path.name} is cut short: it ends after {len(data):,} of {n:,} expected bytes. "
            "Download it again."
        )
    return data


def read_mnist_folder(folder: str | Path, *, max_bytes: int | None = None) -> NumpyData:
    """MNIST (or Fashion-MNIST) from a folder: the four IDX files, or Keras's ``mnist.npz``.

    The IDX files have their standard names (``train-images-idx3-ubyte``, ...), gzip-compressed
    (``.gz``) or not, in the folder or one level below it.
    """
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"There is no folder {root}.")
    files: dict[tuple[str, str], Path] = {}
    for path in sorted([*root.glob("*"), *root.glob("*/*")]):
        match = _MNIST_NAME.match(path.name)
        if match and path.is_file():
            files.setdefault((match[1].lower(), match[2].lower()), path)
    if ("train", "images") in files and ("train", "labels") in files:
        parts = [
            (
                read_idx(files[(part, "images")], max_bytes=max_bytes),
                read_idx(files[(part, "labels")], max_bytes=max_bytes),
            )
            for part in ("train", "t10k")
            if (part, "images") in files and (part, "labels") in files
        ]
        for (images, labels), part in zip(parts, ("train", "t10k"), strict=False):
            if images.ndim != 3 or labels.ndim != 1:
                raise DataError(
                    f"{files[(part, 'images')].name} should hold images (3 dimensions) and "
                    f"{files[(part, 'labels')].name} labels (1 dimension); they hold "
                    f"{images.ndim} and {labels.ndim}."
                )
        xs, ys = [a for a, _ in parts], [b for _, b in parts]
        sets = datasets_from(xs, ys, root.name, str(root), "auto", "classification")
        return NumpyData(sets[0], sets[1] if len(sets) > 1 else None)
    candidates = sorted(root.glob("*.npz"), key=lambda p: p.name.lower() != "mnist.npz")
    if candidates:
        return read_keras_mnist(candidates[0], max_bytes=max_bytes)
    raise DataError(
        f"{root.name} has no MNIST files. Expected train-images-idx3-ubyte and "
        "train-labels-idx1-ubyte (and the t10k test files), gzip-compressed or not, "
        "or Keras's mnist.npz."
    )


def read_keras_mnist(path: str | Path, *, max_bytes: int | None = None) -> NumpyData:
    """Keras's ``mnist.npz`` (or any ``.npz`` with ``x_train``, ``y_train``, ``x_test``,
    ``y_test``): training and test sets."""
    data = read_npz(path, max_bytes=max_bytes, task="classification")
    if data.test is None:
        raise DataError(
            f"{Path(path).name} is not a Keras dataset file: it needs the arrays x_train, "
            "y_train, x_test and y_test."
        )
    return data
