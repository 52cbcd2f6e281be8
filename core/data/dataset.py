"""What every data source gives the trainer: arrays of samples and labels, and what they mean.

A :class:`Dataset` holds one array per model input (samples first; images as ``(N, channels,
height, width)`` float32, the studio's layout) and one array of targets: class ids (int64,
``(N,)``) for classification, float32 ``(N, k)`` for regression. Sources that are too big for
memory give an :class:`ArraySource` that reads samples on demand instead of an ``ndarray``.

:func:`split` makes seeded, stratified train / validation / test splits; :func:`describe`
says what a dataset holds in words for the interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol, runtime_checkable

import numpy as np

Task = Literal["classification", "regression"]


class DataError(ValueError):
    """Data that cannot be used; ``str(err)`` says why in plain words and what to do."""


@runtime_checkable
class ArraySource(Protocol):
    """Samples read on demand (a folder of images bigger than the memory budget).

    ``shape`` is the shape of the whole array as if it were loaded; ``take(indices)`` returns
    those samples as one ``ndarray``.
    """

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def dtype(self) -> np.dtype: ...

    def __len__(self) -> int: ...

    def take(self, indices: np.ndarray) -> np.ndarray: ...


Array = np.ndarray | ArraySource


def take(array: Array, indices: np.ndarray) -> Array:
    """Those samples of ``array`` (an ``ndarray`` stays one; a source stays lazy)."""
    if isinstance(array, np.ndarray):
        chosen: np.ndarray = array[indices]
        return chosen
    return _Subset(array, np.asarray(indices, dtype=np.int64))


class _Subset:
    """Some samples of a lazy source, still lazy."""

    def __init__(self, source: ArraySource, indices: np.ndarray) -> None:
        self.source, self.indices = source, indices

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.indices), *self.source.shape[1:])

    @property
    def dtype(self) -> np.dtype:
        return self.source.dtype

    def __len__(self) -> int:
        return len(self.indices)

    def take(self, indices: np.ndarray) -> np.ndarray:
        return self.source.take(self.indices[np.asarray(indices, dtype=np.int64)])


@dataclass
class Dataset:
    """Samples and their targets, with the names that make them readable.

    Attributes:
        name: What the data is called (``digits``, ``data.csv``).
        x: One array per model input, samples first.
        y: Class ids (int64, ``(N,)``) or regression targets (float32, ``(N, k)``).
        task: ``classification`` or ``regression``.
        class_names: A name per class id (classification).
        feature_names: A name per column of a table's ``x`` (tables only).
        notes: What was done to the data on the way in, in words (columns encoded, rows
            dropped, ...), for the interface.
        source: Where it came from (a path or a built-in's name), for export and reloading.
    """

    name: str
    x: list[Array]
    y: np.ndarray
    task: Task
    class_names: list[str] | None = None
    feature_names: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    source: str = ""

    def __post_init__(self) -> None:
        n = len(self.y)
        for i, array in enumerate(self.x):
            if len(array) != n:
                raise DataError(
                    f"Input {i + 1} has {len(array)} samples but there are {n} targets."
                )
        if self.task == "classification" and n:
            low, top = int(self.y.min()), int(self.y.max())
            if low < 0:
                raise DataError(f"A class id ({low}) is negative; class ids count from 0.")
            if self.class_names is not None and top >= len(self.class_names):
                raise DataError(f"A class id ({top}) has no name among {len(self.class_names)}.")

    def __len__(self) -> int:
        return len(self.y)

    @property
    def num_classes(self) -> int:
        """How many classes (0 for regression)."""
        if self.task != "classification":
            return 0
        if self.class_names is not None:
            return len(self.class_names)
        return int(self.y.max()) + 1 if len(self.y) else 0

    @property
    def input_shapes(self) -> list[tuple[int, ...]]:
        """The shape of one sample of each input (no batch size)."""
        return [tuple(int(d) for d in a.shape[1:]) for a in self.x]

    def subset(self, indices: np.ndarray | Sequence[int]) -> Dataset:
        """The samples at ``indices``, with everything else kept."""
        chosen = np.asarray(indices, dtype=np.int64)
        return replace(self, x=[take(a, chosen) for a in self.x], y=self.y[chosen])


@dataclass(frozen=True)
class Splits:
    """Train, validation and test parts of a dataset (validation and test may be empty)."""

    train: Dataset
    validation: Dataset | None
    test: Dataset | None


def split(
    data: Dataset,
    validation: float = 0.2,
    test: float = 0.0,
    seed: int = 0,
    stratify: bool = True,
) -> Splits:
    """Seeded splits; classification is stratified (each class in the same proportion).

    Fractions are of the whole dataset; a part that would be empty is None.
    """
    if not (0 <= validation < 1 and 0 <= test < 1 and validation + test < 1):
        raise DataError(
            "The validation and test fractions must each be between 0 and 1, and leave "
            f"some data to train on (validation={validation}, test={test})."
        )
    n = len(data)
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[], [], []]
    if stratify and data.task == "classification":
        groups = [np.flatnonzero(data.y == c) for c in np.unique(data.y)]
    else:
        groups = [np.arange(n)]
    groups = [rng.permutation(members) for members in groups]
    sizes = np.array([len(members) for members in groups], dtype=np.int64)
    ends_test, ends_val = _cuts(sizes, test, validation)
    for members, end_test, end_val in zip(groups, ends_test, ends_val, strict=True):
        parts[2] += members[:end_test].tolist()
        parts[1] += members[end_test:end_val].tolist()
        parts[0] += members[end_val:].tolist()
    if not parts[0]:
        raise DataError(f"{data.name} has too few samples ({n}) to keep any for training.")
    train, val, tst = (data.subset(rng.permutation(np.array(p, dtype=np.int64))) for p in parts)
    return Splits(train, val if len(val) else None, tst if len(tst) else None)


def _cuts(sizes: np.ndarray, test: float, validation: float) -> tuple[np.ndarray, np.ndarray]:
    """Where each group's test part ends, and its validation part.

    Each part of each group is within one sample of its share, and the parts add up to the
    shares of the whole: ``round(n * test)`` test samples, ``round(n * (test + validation))``
    test and validation samples together. (Rounding each group on its own drifts: ten classes
    of two samples with ``validation=0.2`` gave no validation samples at all.)
    """
    test_at, val_at = sizes * test, sizes * (test + validation)
    low_test, low_val = np.floor(test_at).astype(np.int64), np.floor(val_at).astype(np.int64)
    n = float(sizes.sum())
    more_test = round(n * test) - int(low_test.sum())  # groups whose test part rounds up
    more_val = round(n * (test + validation)) - int(low_val.sum())
    # A group may round only its test+validation end up if that end's fraction is the larger
    # (its validation part stays within one), and only its test end up if it is the smaller.
    gain = (val_at - low_val) - (test_at - low_test)
    by_gain = np.argsort(-gain, kind="stable")
    up_test, up_val = np.zeros(len(sizes), bool), np.zeros(len(sizes), bool)
    if more_val >= more_test:
        up_val[by_gain[: more_val - more_test]] = True
        rest = by_gain[more_val - more_test :]
    else:
        up_test[by_gain[::-1][: more_test - more_val]] = True
        rest = by_gain[::-1][more_test - more_val :]
    both = rest[: min(more_test, more_val)]
    up_test[both] = up_val[both] = True
    return low_test + up_test, low_val + up_val


@dataclass(frozen=True)
class Description:
    """What a dataset holds, for the interface (:func:`describe`)."""

    name: str
    samples: int
    input_shapes: list[tuple[int, ...]]
    task: Task
    classes: list[str]
    counts: list[int]  # samples per class (classification)
    target_shape: tuple[int, ...]
    notes: list[str]

    @property
    def balanced(self) -> bool:
        """Whether the largest class has at most 1.5 times the samples of the smallest."""
        smallest = min(self.counts, default=0)
        return not self.counts or (smallest > 0 and max(self.counts) <= 1.5 * smallest)

    def lines(self) -> list[str]:
        """The description as short sentences."""
        shapes = ", ".join("×".join(str(d) for d in s) or "1" for s in self.input_shapes)
        out = [f"{self.name}: {_count(self.samples, 'sample')} of shape {shapes}."]
        if self.task == "classification":
            out.append(
                _count(len(self.classes), "class")
                + (
                    ""
                    if self.balanced
                    else " (unbalanced: "
                    + ", ".join(
                        f"{c} {k:,}" for c, k in zip(self.classes, self.counts, strict=True)
                    )
                    + ")"
                )
                + "."
            )
        else:
            width = self.target_shape[0] if self.target_shape else 1
            out.append(f"Regression: {width} number{'s' if width != 1 else ''} to predict.")
        return out + self.notes


def _count(n: int, word: str) -> str:
    """``1 sample``, ``1,797 samples``, ``3 classes``."""
    return f"{n:,} {word}" + ("" if n == 1 else "es" if word.endswith("s") else "s")


def describe(data: Dataset) -> Description:
    """Samples, shapes, classes and their balance."""
    classes: list[str] = []
    counts: list[int] = []
    if data.task == "classification":
        k = data.num_classes
        classes = data.class_names or [str(i) for i in range(k)]
        counts = np.bincount(data.y.astype(np.int64), minlength=k).tolist() if len(data) else []
    return Description(
        data.name,
        len(data),
        data.input_shapes,
        data.task,
        classes,
        counts,
        tuple(int(d) for d in data.y.shape[1:]),
        list(data.notes),
    )
