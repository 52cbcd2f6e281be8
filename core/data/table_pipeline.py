"""How the columns of a table become numbers.

:class:`ColumnSpec` and :class:`TablePipeline` say how each column is encoded, the encoders
(:func:`encode_column`, :func:`encode_target`) do it for both the pipeline and the CSV reader,
and :class:`ColumnStats` is what the reader learns about a column before it plans one.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from core.data.csv_format import BOOLEANS, first_bad_number, missing_mask, parse_numbers, short_list
from core.data.dataset import DataError, Task

Kind = Literal["numeric", "categorical", "boolean"]
Missing = Literal["drop", "fill"]


class BadValue(Exception):
    """A cell that cannot be encoded: its row (``index``), its text and why."""

    def __init__(self, index: int, value: str, why: str) -> None:
        super().__init__(why)
        self.index, self.value, self.why = index, value, why


@dataclass
class ColumnSpec:
    """How one input column becomes numbers.

    Attributes:
        name: The column's name in the file.
        kind: ``numeric`` (standardised), ``categorical`` (one-hot, one feature per level) or
            ``boolean`` (true/yes → 1, false/no → 0).
        mean: Subtracted from numbers (numeric).
        std: Numbers are divided by it (numeric; 1 for a constant column).
        levels: The categories in feature order (categorical).
        fill: What a missing cell becomes: the mean (numeric), the most frequent level
            (categorical) or 0/1 (boolean).
    """

    name: str
    kind: Kind
    mean: float = 0.0
    std: float = 1.0
    levels: list[str] = field(default_factory=list)
    fill: float | str = 0.0

    @property
    def feature_names(self) -> list[str]:
        """One name per feature this column gives (``city=Paris`` for categories)."""
        if self.kind == "categorical":
            return [f"{self.name}={level}" for level in self.levels]
        return [self.name]


def fill_text(spec: ColumnSpec) -> str:
    """What a column's missing cells become, for a note."""
    if spec.kind == "numeric":
        return f"{float(spec.fill):.6g} (the mean)"
    return (
        f"'{spec.fill}' (the most frequent)"
        if spec.kind == "categorical"
        else (f"{int(float(spec.fill))} (the most frequent)")
    )


@dataclass
class TablePipeline:
    """Everything needed to encode new rows exactly like the training rows.

    Attributes:
        columns: The input columns, in feature order.
        target: The name of the column to predict.
        task: ``classification`` or ``regression``.
        class_names: The classes, in class-id order (classification).
        numeric_target: Whether the classes are numbers (matched by value: ``1`` is ``1.0``).
        missing: ``drop`` (a row needs every value) or ``fill`` (missing cells are filled).
        decimal_comma: Whether ``1,5`` reads as 1.5 (files not separated by commas).
    """

    columns: list[ColumnSpec]
    target: str
    task: Task
    class_names: list[str] | None = None
    numeric_target: bool = False
    missing: Missing = "drop"
    decimal_comma: bool = False

    @property
    def feature_names(self) -> list[str]:
        """The name of each column of the encoded array."""
        return [name for spec in self.columns for name in spec.feature_names]

    def transform(
        self,
        rows: Sequence[Mapping[str, object] | Sequence[object]],
        *,
        unknown: Literal["error", "ignore"] = "error",
    ) -> np.ndarray:
        """New rows as the float32 array the model takes.

        Args:
            rows: Each a mapping from column name to value, or the values in the order of
                ``columns``. Values may be text, numbers, booleans or None (missing).
            unknown: What a category not seen in training does: ``error``, or ``ignore``
                (all its one-hot features stay 0).

        Raises:
            DataError: A value that is not a number where one is needed, a missing value when
                the pipeline drops rows with missing values, or an unknown category.
        """
        table: list[list[str]] = [[] for _ in self.columns]
        for r, row in enumerate(rows):
            if isinstance(row, Mapping):
                folded = {str(k).strip().casefold(): v for k, v in row.items()}
                values = [
                    row[s.name] if s.name in row else folded.get(s.name.casefold())
                    for s in self.columns
                ]
            elif isinstance(row, str) or len(row) != len(self.columns):
                raise DataError(
                    f"Row {r + 1} should have {len(self.columns)} values, one for each of "
                    f"{short_list([s.name for s in self.columns])}."
                )
            else:
                values = list(row)
            for column, value in zip(table, values, strict=True):
                column.append(_as_text(value))
        out = np.zeros((len(rows), len(self.feature_names)), np.float32)
        offset = 0
        for spec, column in zip(self.columns, table, strict=True):
            width = len(spec.feature_names)
            try:
                encode_column(
                    spec, column, out[:, offset : offset + width], self, unknown == "ignore"
                )
            except BadValue as bad:
                raise DataError(f"Row {bad.index + 1}, column '{spec.name}': {bad.why}") from None
            offset += width
        return out

    def to_dict(self) -> dict[str, Any]:
        """The pipeline as plain JSON values."""
        return {"version": 1, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TablePipeline:
        """A pipeline from :meth:`to_dict`'s output, checked (files are untrusted)."""
        try:
            if data.get("version") != 1:
                raise ValueError("unknown version")
            columns = [ColumnSpec(**dict(c)) for c in data["columns"]]
            pipeline = cls(
                columns,
                str(data["target"]),
                data["task"],
                None if data.get("class_names") is None else [str(c) for c in data["class_names"]],
                bool(data.get("numeric_target", False)),
                data.get("missing", "drop"),
                bool(data.get("decimal_comma", False)),
            )
            ok = pipeline.task in ("classification", "regression")
            ok = ok and pipeline.missing in ("drop", "fill")
            for c in columns:
                ok = ok and c.kind in ("numeric", "categorical", "boolean")
                ok = ok and all(isinstance(v, float | int) for v in (c.mean, c.std))
                ok = ok and math.isfinite(c.mean) and math.isfinite(c.std) and c.std > 0
                ok = ok and isinstance(c.levels, list) and all(isinstance(v, str) for v in c.levels)
                ok = ok and isinstance(c.name, str) and isinstance(c.fill, float | int | str)
            if not ok:
                raise ValueError("a value out of range")
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise DataError(f"The saved table settings are damaged ({err}).") from None
        return pipeline


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()  # str, not repr: numpy scalars print as plain numbers


def encode_column(
    spec: ColumnSpec,
    values: list[str],
    out: np.ndarray,
    pipeline: TablePipeline,
    ignore_unknown: bool,
) -> int:
    """Write one column's ``values`` (stripped text) into ``out`` (rows × its features, zeros).

    Returns how many unknown categories were ignored; raises :class:`BadValue`.
    """
    missing = missing_mask(values)
    gaps = bool(missing.any())
    if gaps and pipeline.missing == "drop":
        i = int(np.flatnonzero(missing)[0])
        raise BadValue(i, values[i], "a value is needed (this model was trained without gaps).")
    if spec.kind == "numeric":
        where = np.flatnonzero(~missing)
        present = [values[i] for i in where.tolist()] if gaps else values
        parsed = parse_numbers(present, pipeline.decimal_comma)
        if parsed is None or not np.isfinite(parsed[0]).all():
            i = first_bad_number(present, pipeline.decimal_comma)
            raise BadValue(int(where[i]), present[i], f"'{present[i]}' is not a number.")
        full = parsed[0]
        if gaps:
            full = np.full(len(values), spec.mean)
            full[where] = parsed[0]
        out[:, 0] = (full - spec.mean) / spec.std
        return 0
    if spec.kind == "boolean":
        codes = np.array([BOOLEANS.get(v.lower(), -1.0) for v in values], dtype=np.float64)
        codes[missing] = float(spec.fill)
        if (codes < 0).any():
            i = int(np.flatnonzero(codes < 0)[0])
            raise BadValue(i, values[i], f"'{values[i]}' is not yes/no or true/false.")
        out[:, 0] = codes
        return 0
    lookup = {level: i for i, level in enumerate(spec.levels)}
    ids = np.array([lookup.get(v, -1) for v in values], dtype=np.int64)
    ids[missing] = lookup.get(str(spec.fill), -1)
    known = ids >= 0
    if not known.all() and not ignore_unknown:
        i = int(np.flatnonzero(~known)[0])
        raise BadValue(
            i, values[i], f"'{values[i]}' is not one of the known values {short_list(spec.levels)}."
        )
    out[np.flatnonzero(known), ids[known]] = 1.0
    return int((~known).sum())


def encode_target(pipeline: TablePipeline, values: list[str]) -> np.ndarray:
    """The target ``values`` as class ids, or numbers in one column; raises :class:`BadValue`."""
    if pipeline.task == "regression" or pipeline.numeric_target:
        parsed = parse_numbers(values, pipeline.decimal_comma)
        if parsed is None or not np.isfinite(parsed[0]).all():
            i = first_bad_number(values, pipeline.decimal_comma)
            raise BadValue(i, values[i], f"'{values[i]}' is not a number.")
        if pipeline.task == "regression":
            return parsed[0].astype(np.float32)[:, None]
        lookup: dict[Any, int] = {float(c): i for i, c in enumerate(pipeline.class_names or [])}
        keys: list[Any] = parsed[0].tolist()
    else:
        lookup = {c: i for i, c in enumerate(pipeline.class_names or [])}
        keys = list(values)
    ids = [lookup.get(k, -1) for k in keys]
    if -1 in ids:
        i = ids.index(-1)
        known = short_list(pipeline.class_names or [])
        raise BadValue(i, values[i], f"'{values[i]}' is not one of the classes {known}.")
    return np.array(ids, dtype=np.int64)


# --- what the CSV reader learns about a column ------------------------------------------------


@dataclass
class ColumnStats:
    """What the first pass learns about one column (from the rows that are kept)."""

    missing: int = 0  # missing cells in all rows read
    numeric: bool = True
    comma: bool = False
    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    counts: Counter[str] = field(default_factory=Counter)
    overflow: bool = False
    text: tuple[str, int] | None = None  # the first value that is not a number, and its row
    infinite: tuple[str, int] | None = None
    distinct: set[float] = field(default_factory=set)  # target values (numeric target)

    def update(
        self, values: list[str], at: np.ndarray, comma_ok: bool, limit: int, target: bool
    ) -> None:
        """Learn from one chunk's ``values`` (present, stripped), found at rows ``at``."""
        if self.numeric and values:
            parsed = parse_numbers(values, comma_ok)
            if parsed is None:
                self.numeric = False
                i = first_bad_number(values, comma_ok)
                self.text = (values[i], int(at[i]))
            else:
                array, comma = parsed
                self.comma |= comma
                finite = np.isfinite(array)
                if not finite.all() and self.infinite is None:
                    i = int(np.flatnonzero(~finite)[0])
                    self.infinite = (values[i], int(at[i]))
                array = array[finite]
                if len(array):  # merge mean and squared deviations (Chan et al.)
                    n, mean = len(array), float(array.mean())
                    delta, total = mean - self.mean, self.n + n
                    self.m2 += float(((array - mean) ** 2).sum()) + delta**2 * self.n * n / total
                    self.mean += delta * n / total
                    self.n = total
                if target and len(self.distinct) <= limit:
                    self.distinct.update(np.unique(array).tolist())
        if not self.overflow:
            self.counts.update(values)
            if len(self.counts) > limit:
                self.overflow = True
                self.counts.clear()
