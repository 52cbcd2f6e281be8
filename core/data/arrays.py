"""NumPy files (``.npz``, ``.npy``) as datasets (MNIST's IDX files: :mod:`core.data.idx`).

Arrays are read with ``allow_pickle=False`` always: a file that holds Python objects is refused,
because unpickling can run code. Images come out in the studio's layout, ``(N, C, H, W)``
float32 (``uint8`` pixels scaled to [0, 1]); labels become class ids or regression targets
(:func:`from_arrays` says how). Every problem is a :class:`DataError` in plain words.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import numpy as np
import numpy.lib.format as npformat

from core.data.dataset import DataError, Dataset, Task

Layout = Literal["auto", "channels_first", "channels_last"]
TaskChoice = Literal["auto", "classification", "regression"]

MAX_CLASSES = 100_000
_CHANNELS = (1, 3, 4)
_KERAS_KEYS = ("x_train", "y_train", "x_test", "y_test")


@dataclass(frozen=True)
class NumpyData:
    """What a NumPy or MNIST file holds: training data and, when the file has one, a test set."""

    train: Dataset
    test: Dataset | None = None


def memory_limit() -> int:
    """How many bytes a file may need once loaded: half of this machine's memory."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (AttributeError, ValueError, OSError):  # not POSIX
        return 8 * 1024**3


def _gb(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale / 10:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def check_memory(need: int, what: str, max_bytes: int | None) -> None:
    limit = memory_limit() if max_bytes is None else max_bytes
    if need > limit:
        raise DataError(
            f"{what} would need about {_gb(need)} of memory to load, more than the "
            f"{_gb(limit)} available. Use a smaller part of the data, or save the images as "
            "a folder of image files, which the studio reads as it needs them."
        )


# --- NumPy files -------------------------------------------------------------------------


def read_npz(
    path: str | Path,
    *,
    layout: Layout = "auto",
    task: TaskChoice = "auto",
    max_bytes: int | None = None,
) -> NumpyData:
    """The arrays ``x`` and ``y`` of an ``.npz`` file, or Keras's ``x_train``, ``y_train``,
    ``x_test``, ``y_test`` (then :attr:`NumpyData.test` holds the test set).

    Args:
        path: The ``.npz`` file.
        layout: Where images keep their colour channels; ``auto`` guesses from the shape.
        task: ``auto`` decides from the labels (see :func:`from_arrays`).
        max_bytes: The most memory the loaded arrays may take (default: half the machine's).
    """
    p = Path(path)
    _check_kind(p, b"PK")
    try:
        # our own handle: np.load leaves its file open when the zip inside is broken
        with p.open("rb") as handle, np.load(handle, allow_pickle=False) as npz:
            keys = {k.lower(): k for k in npz.files}
            if all(k in keys for k in _KERAS_KEYS[:2]):
                wanted = [k for k in _KERAS_KEYS if k in keys]
                if ("x_test" in keys) != ("y_test" in keys):
                    missing = "y_test" if "x_test" in keys else "x_test"
                    raise DataError(
                        f"{p.name} has no array {missing}, so its test set is incomplete."
                    )
            elif "x" in keys and "y" in keys:
                wanted = ["x", "y"]
            else:
                found = ", ".join(npz.files) or "no arrays at all"
                raise DataError(
                    f"{p.name} holds {found}. The studio needs arrays named x and y (samples and "
                    "labels), or x_train, y_train, x_test and y_test as Keras saves them."
                )
            need = 0
            for key in wanted:
                with npz.zip.open(keys[key] + ".npy") as member:
                    need += _estimate(member, key, p.name)
            check_memory(need, p.name, max_bytes)
            arrays = {key: np.asarray(npz[keys[key]]) for key in wanted}
    except DataError:
        raise
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, KeyError) as err:
        raise _damaged(p, err) from err
    if "x" in arrays:
        x, y = arrays["x"], arrays["y"]
        return NumpyData(from_arrays(x, y, name=p.name, source=str(p), layout=layout, task=task))
    xs = [arrays["x_train"]] + ([arrays["x_test"]] if "x_test" in arrays else [])
    ys = [arrays["y_train"]] + ([arrays["y_test"]] if "y_test" in arrays else [])
    parts = datasets_from(xs, ys, p.name, str(p), layout, task)
    return NumpyData(parts[0], parts[1] if len(parts) > 1 else None)


def read_npy(
    x_path: str | Path,
    y_path: str | Path,
    *,
    layout: Layout = "auto",
    task: TaskChoice = "auto",
    max_bytes: int | None = None,
) -> Dataset:
    """Samples from one ``.npy`` file and their labels from another (see :func:`read_npz`)."""
    arrays: list[np.ndarray] = []
    need = 0
    for path in (Path(x_path), Path(y_path)):
        _check_kind(path, b"\x93NUMPY")
        try:
            with path.open("rb") as f:
                need += _estimate(f, path.stem, path.name)
            check_memory(need, f"{Path(x_path).name} and {Path(y_path).name}", max_bytes)
            arrays.append(np.asarray(np.load(path, allow_pickle=False)))
        except DataError:
            raise
        except (ValueError, OSError, EOFError) as err:
            raise _damaged(path, err) from err
    return from_arrays(
        arrays[0], arrays[1], name=Path(x_path).name, source=str(x_path), layout=layout, task=task
    )


def _check_kind(path: Path, magic: bytes) -> None:
    """Refuses a file that is not what its reader expects, before NumPy guesses (pickle)."""
    try:
        with path.open("rb") as f:
            start = f.read(8)
    except FileNotFoundError as err:
        raise DataError(f"There is no file {path}.") from err
    except OSError as err:
        raise DataError(f"{path.name} could not be opened ({err}).") from err
    if start.startswith(magic):
        return
    if start.startswith(b"\x80"):
        raise DataError(
            f"{path.name} holds pickled Python objects, which the studio does not load "
            "because reading them can run code. Save plain numeric arrays with NumPy instead."
        )
    if start.startswith(b"PK"):
        raise DataError(f"{path.name} holds several named arrays (.npz): open it as an .npz file.")
    if start.startswith(b"\x93NUMPY"):
        raise DataError(f"{path.name} holds a single array (.npy): open it as an .npy file.")
    kind = "an .npz file (a zip of arrays)" if magic == b"PK" else "an .npy file"
    raise DataError(f"{path.name} is not {kind}: it is damaged or in another format.")


def _estimate(f: IO[bytes], key: str, file: str) -> int:
    """Bytes an array needs loaded plus as float32, from its ``.npy`` header; refuses objects."""
    version = npformat.read_magic(f)
    if version == (1, 0):
        shape, _, dtype = npformat.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, _, dtype = npformat.read_array_header_2_0(f)
    else:  # version 3 (unicode field names): no public reader; the load itself checks
        return 0
    if dtype.hasobject:
        raise DataError(
            f"{key} in {file} holds Python objects, which the studio does not load because "
            "reading them can run code. Save plain numeric arrays (numpy.savez with numbers)."
        )
    return math.prod(shape) * (dtype.itemsize + 4)


def _damaged(path: Path, err: BaseException) -> DataError:
    text = str(err) or type(err).__name__
    if "pickle" in text.lower() or "object arrays" in text.lower():
        return DataError(
            f"{path.name} holds Python objects (pickled data), which the studio does not load "
            "because reading them can run code. Save plain numeric arrays instead."
        )
    return DataError(
        f"{path.name} could not be read: it is damaged ({text}). Save or download it again."
    )


# --- arrays to a dataset -----------------------------------------------------------------


def from_arrays(
    x: np.ndarray,
    y: np.ndarray,
    *,
    name: str,
    source: str = "",
    layout: Layout = "auto",
    task: TaskChoice = "auto",
) -> Dataset:
    """A dataset from a samples array and a labels array.

    Samples: ``uint8`` ``(N, H, W)`` are grey images, ``(N, 1, H, W)`` scaled to [0, 1];
    ``(N, H, W, C)`` with C in 1, 3, 4 become channels first (``layout='auto'`` guesses, the
    other layouts say); ``uint8`` is scaled to [0, 1], other numbers are kept, all as float32.
    Labels: whole numbers ``(N,)`` are class ids ``0..k-1``; one-hot rows ``(N, k)`` become
    ids; text labels become classes named by the text; other numbers are regression targets
    ``(N, k)``. Whole numbers stored as floats count as class ids unless ``task`` says otherwise.
    """
    return datasets_from([x], [y], name, source, layout, task)[0]


def datasets_from(
    xs: list[np.ndarray],
    ys: list[np.ndarray],
    name: str,
    source: str,
    layout: Layout,
    task: TaskChoice,
) -> list[Dataset]:
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if x.ndim and y.ndim and len(x) != len(y):
            part = " test" if i else ""
            raise DataError(
                f"There are {len(x):,}{part} samples but {len(y):,}{part} labels; "
                "each sample needs exactly one label."
            )
    what = ["x", "x_test"] if len(xs) > 1 else ["x"]
    notes: list[str] = []
    samples = [
        _samples(x, w, layout, notes if i == 0 else [])
        for i, (x, w) in enumerate(zip(xs, what, strict=True))
    ]
    if len(samples) > 1 and samples[0].shape[1:] != samples[1].shape[1:]:
        raise DataError(
            f"The test samples have shape {sizes(samples[1].shape[1:])} but the training samples "
            f"{sizes(samples[0].shape[1:])}; both must be the same."
        )
    targets, kind, names, label_notes = _targets(ys, task)
    return [
        Dataset(
            name if i == 0 else f"{name} (test)",
            [x],
            y,
            kind,
            class_names=names,
            notes=notes + label_notes,
            source=source,
        )
        for i, (x, y) in enumerate(zip(samples, targets, strict=True))
    ]


def sizes(shape: Sequence[int]) -> str:
    return "×".join(str(d) for d in shape) or "a single number"


def _samples(x: np.ndarray, what: str, layout: Layout, notes: list[str]) -> np.ndarray:
    """The samples as contiguous float32 in the studio's layout."""
    if x.dtype.kind not in "biuf":
        raise DataError(f"{what} holds {x.dtype} values; the samples must be numbers.")
    if x.ndim == 0 or len(x) == 0 or x.size == 0:
        raise DataError(f"{what} is empty: there are no samples in it.")
    if x.dtype.kind == "f":
        bad = x.size - int(np.count_nonzero(np.isfinite(x)))
        if bad:
            raise DataError(
                f"{what} holds {bad:,} values that are not numbers (NaN) or are infinite. "
                "Remove or replace them before training."
            )
    image = x.dtype == np.uint8
    if x.ndim == 1:
        x = x[:, None]
    elif x.ndim == 3 and image:
        x = x[:, None]
        notes.append(f"Grey images of {sizes(x.shape[2:])} pixels (one colour channel).")
    elif x.ndim == 4 and _channels_last(x.shape, layout):
        x = x.transpose(0, 3, 1, 2)
        notes.append(
            f"Images moved to channels first: {sizes(x.shape[1:])} (channels × height × width)."
        )
    elif x.ndim == 3 and layout == "channels_last":
        x = x.transpose(0, 2, 1)
    # a contiguous copy: torch's CPU convolution misreads permuted strides
    out = np.ascontiguousarray(x, dtype=np.float32)
    if image:
        out *= np.float32(1 / 255)
        notes.append("Pixel values 0–255 scaled to 0–1.")
    elif x.dtype.kind in "iu":
        notes.append(f"Samples stored as {x.dtype} were kept as they are (not scaled).")
    return out


def _channels_last(shape: tuple[int, ...], layout: Layout) -> bool:
    if layout != "auto":
        return layout == "channels_last"
    last, first = shape[3] in _CHANNELS, shape[1] in _CHANNELS
    return last and not (first and shape[3] > shape[1])


def _targets(
    ys: list[np.ndarray], task: TaskChoice
) -> tuple[list[np.ndarray], Task, list[str] | None, list[str]]:
    """Class ids or regression targets for each labels array, decided on all of them together."""
    notes: list[str] = []
    for y in ys:
        if y.ndim == 0 or len(y) == 0:
            raise DataError("The labels (y) are empty: there is no label in them.")
        if y.ndim > 2:
            raise DataError(
                f"The labels (y) have shape {sizes(y.shape)}; they need one value per sample (N) "
                "or one row of values per sample (N × k)."
            )
    ys = [y.reshape(len(y)) if y.ndim == 2 and y.shape[1] == 1 else y for y in ys]
    if all(y.dtype.kind in "USO" for y in ys) and all(y.ndim == 1 for y in ys):
        names = sorted({str(v) for y in ys for v in y.tolist()})
        lookup = {n: i for i, n in enumerate(names)}
        ids = [np.array([lookup[str(v)] for v in y.tolist()], dtype=np.int64) for y in ys]
        return ids, "classification", names, notes
    for y in ys:
        if y.dtype.kind not in "biuf":
            raise DataError(f"The labels (y) hold {y.dtype} values; they must be numbers or text.")
    if task != "regression" and all(_one_hot(y) for y in ys):
        ys = [np.argmax(y, axis=1) for y in ys]
        notes.append("Labels were one-hot rows; turned into class ids.")
    whole = all(y.ndim == 1 and _whole(y) for y in ys)
    ids_like = whole and all(y.dtype.kind != "f" or _few_classes(y) for y in ys)
    if task == "classification" or (task == "auto" and ids_like):
        if not whole:
            several = any(y.ndim == 2 for y in ys)
            raise DataError(
                "The labels (y) have several values per sample that are not one-hot rows, so "
                "they cannot be class ids. Choose regression to predict them as numbers."
                if several
                else "The labels (y) are not whole numbers, so they cannot be class ids. "
                "Choose regression to predict them as numbers."
            )
        if any(y.dtype.kind == "f" for y in ys) and task == "auto":
            notes.append(
                "The labels are whole numbers stored as decimals: used as class ids. If they "
                "are amounts to predict rather than classes, choose regression."
            )
        ids = [y.astype(np.int64) for y in ys]
        low = min(int(y.min()) for y in ids)
        if low < 0:
            count = sum(int(np.count_nonzero(y < 0)) for y in ids)
            raise DataError(
                f"{count:,} labels are negative class ids (the smallest is {low}). "
                "Class ids count from 0: 0, 1, 2, …"
            )
        k = max(int(y.max()) for y in ids) + 1
        if k > MAX_CLASSES:
            raise DataError(
                f"The largest class id is {k - 1:,}; the studio takes up to {MAX_CLASSES:,} "
                "classes. Class ids should count from 0: 0, 1, 2, …"
            )
        unused = np.flatnonzero(np.bincount(np.concatenate(ids), minlength=k) == 0)
        if len(unused):
            shown = ", ".join(str(c) for c in unused[:5]) + (", …" if len(unused) > 5 else "")
            some = "1 class id has" if len(unused) == 1 else f"{len(unused)} class ids have"
            notes.append(f"{some} no samples: {shown}.")
        return ids, "classification", [str(i) for i in range(k)], notes
    out = [np.ascontiguousarray(y.reshape(len(y), -1), dtype=np.float32) for y in ys]
    bad = sum(y.size - int(np.count_nonzero(np.isfinite(y))) for y in out)
    if bad:
        raise DataError(
            f"{bad:,} labels are not numbers (NaN) or are infinite; remove or fix them."
        )
    if ys[0].dtype.kind != "f":
        notes.append("Each sample has several whole-number labels: treated as numbers to predict.")
    return out, "regression", None, notes


def _whole(y: np.ndarray) -> bool:
    """Whether every label is a whole number."""
    if y.dtype.kind in "biu":
        return True
    return bool(np.all(np.isfinite(y)) and np.all(y == np.round(y)))


def _few_classes(y: np.ndarray) -> bool:
    """Whether whole numbers stored as decimals look like class ids (0 to 999)."""
    return float(np.min(y)) >= 0 and float(np.max(y)) < 1000


def _one_hot(y: np.ndarray) -> bool:
    if y.ndim != 2 or y.shape[1] < 2:
        return False
    return bool(np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1))
