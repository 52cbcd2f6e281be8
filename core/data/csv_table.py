"""CSV files as a :class:`~core.data.dataset.Dataset`: the two passes, :func:`read_csv` and
:func:`read_csv_with_pipeline`.

:func:`read_csv` turns text columns into one-hot columns and yes/no columns into 1/0,
standardises numbers and picks classification or regression from the target column; what it did
is written in ``Dataset.notes``. Files larger than memory are read twice in chunks: the first
pass learns the columns (kinds, categories, means, missing cells), the second writes straight
into the final float32 array. The file format (and :func:`preview_csv`) is in
:mod:`core.data.csv_format`; :class:`TablePipeline` is in :mod:`core.data.table_pipeline`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.csv_format import (
    BOOLEANS,
    MAX_COLUMNS,
    MISSING_TOKENS,
    CsvFormat,
    CsvPreview,
    delimiter_name,
    line_of,
    missing_mask,
    open_format,
    pick_column,
    preview_csv,
    read_columns,
    short_list,
    stripped_cells,
)
from core.data.dataset import DataError, Dataset, Task
from core.data.table_pipeline import (
    BadValue,
    ColumnSpec,
    ColumnStats,
    Kind,
    Missing,
    TablePipeline,
    encode_column,
    encode_target,
    fill_text,
)

__all__ = [
    "MAX_AUTO_CLASSES",
    "MAX_COLUMNS",
    "MAX_LEVELS",
    "MISSING_TOKENS",
    "ColumnSpec",
    "CsvPreview",
    "Kind",
    "Missing",
    "TablePipeline",
    "preview_csv",
    "read_csv",
    "read_csv_with_pipeline",
]

MAX_LEVELS = 1_000  # categories of a text column (or classes of a target)
MAX_AUTO_CLASSES = 20  # a whole-number target with at most this many values is classification
_CHUNK_CELLS = 50_000


def _format_number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


# --- pass 1: learn the columns ----------------------------------------------------------------


@dataclass
class _Scan:
    columns: dict[int, ColumnStats]
    rows: int
    keep: np.ndarray


def _scan(
    fmt: CsvFormat,
    used: list[int],
    target: int,
    fill: bool,
    chunk_rows: int,
    max_rows: int | None,
    limit: int,
) -> _Scan:
    columns = {j: ColumnStats() for j in used}
    keeps: list[np.ndarray] = []
    total = 0
    for cells in read_columns(fmt, chunk_rows, max_rows):
        stripped = {j: stripped_cells(cells[j]) for j in used}
        missing = {j: missing_mask(v) for j, v in stripped.items()}
        keep = ~missing[target]
        if not fill:
            for j in used:
                keep &= ~missing[j]
        keeps.append(keep)
        for j in used:
            columns[j].missing += int(missing[j].sum())
            chosen = keep & ~missing[j]
            values = stripped[j] if chosen.all() else list(np.array(stripped[j], object)[chosen])
            at = total + np.flatnonzero(chosen)
            columns[j].update(values, at, fmt.decimal_comma, limit, j == target)
        total += len(keep)
        del cells, stripped, missing, values  # before the next chunk is read
    keep_all = np.concatenate(keeps) if keeps else np.zeros(0, bool)
    return _Scan(columns, total, keep_all)


# --- from what was learnt to a pipeline -------------------------------------------------------


def _too_many(fmt: CsvFormat, name: str, col: ColumnStats, limit: int, hint: str) -> DataError:
    example = f" (such as '{col.text[0]}' on line {line_of(fmt, col.text[1])})" if col.text else ""
    return DataError(f"Column '{name}' has more than {limit:,} different values{example}. {hint}")


def _plan_columns(
    fmt: CsvFormat, scan: _Scan, features: list[int], limit: int
) -> tuple[list[ColumnSpec], list[str]]:
    kept = int(scan.keep.sum())
    specs: list[ColumnSpec] = []
    notes: list[str] = []
    scaled: list[str] = []
    for j in features:
        name, col = fmt.names[j], scan.columns[j]
        if col.numeric:
            if col.infinite:
                raise DataError(
                    f"Column '{name}' has a value that is not a finite number "
                    f"('{col.infinite[0]}' on line {line_of(fmt, col.infinite[1])}). Replace it "
                    "with a number or leave the cell empty."
                )
            std = math.sqrt(col.m2 / kept)
            if std <= 1e-10 * abs(col.mean):  # zero, or rounding noise of one value
                std = 1.0
                notes.append(f"Column '{name}' has the same value everywhere; it is all zeros.")
            specs.append(ColumnSpec(name, "numeric", col.mean, std, fill=col.mean))
            scaled.append(name)
            if col.comma:
                notes.append(f"Column '{name}': decimal commas (1,5) were read as 1.5.")
            continue
        if col.overflow:
            raise _too_many(
                fmt,
                name,
                col,
                limit,
                "A column like an id, a date or free text does not help the model: leave it "
                f"out with drop_columns=['{name}'].",
            )
        levels = sorted(col.counts)
        mode = max(levels, key=col.counts.__getitem__)
        if all(v.lower() in BOOLEANS for v in levels):
            ones = sum(k for v, k in col.counts.items() if BOOLEANS[v.lower()])
            fill = 1.0 if 2 * ones > sum(col.counts.values()) else 0.0
            specs.append(ColumnSpec(name, "boolean", fill=fill))
            notes.append(f"Column '{name}': yes/true became 1 and no/false 0.")
        else:
            specs.append(ColumnSpec(name, "categorical", levels=levels, fill=mode))
            notes.append(
                f"Column '{name}' holds text: {len(levels)} categories became one column each "
                f"({short_list([f'{name}={v}' for v in levels], 5)})."
            )
    if scaled:
        notes.append(
            "Numbers were standardised to mean 0 and standard deviation 1: "
            f"{short_list(scaled, 10)}."
        )
    return specs, notes


def _plan_target(
    fmt: CsvFormat, scan: _Scan, target: int, task: Task | None, limit: int
) -> tuple[Task, list[str] | None, bool, str]:
    name, col = fmt.names[target], scan.columns[target]
    numeric = col.numeric and col.infinite is None
    if task == "regression" and not numeric:
        where = f" ('{col.text[0]}' on line {line_of(fmt, col.text[1])})" if col.text else ""
        raise DataError(
            f"The target '{name}' holds text{where}, so it cannot be predicted as a number. "
            "Choose classification, or another target column."
        )
    numbers = sorted(col.distinct) if numeric else []
    labels = [_format_number(v) for v in numbers] if numeric else sorted(col.counts)
    many = len(labels) > limit or (col.overflow and not numeric)
    if task is None:
        small = not many and len(labels) <= MAX_AUTO_CLASSES
        whole = numeric and small and all(v.is_integer() for v in numbers)
        task = "classification" if whole or not numeric else "regression"
    if not many and len(labels) < 2:
        raise DataError(
            f"The target '{name}' has only one value ('{labels[0] if labels else ''}') in the "
            "rows used, so there is nothing to learn. Choose another target column."
        )
    if task == "regression":
        note = f"Target '{name}': regression; it is kept in its own units (not standardised)."
        return task, None, False, note
    if many:
        raise _too_many(
            fmt,
            name,
            col,
            limit,
            "That is too many classes: "
            + ("predict it as a number (task='regression') or " if numeric else "")
            + "choose another target.",
        )
    note = f"Target '{name}': classification with {len(labels)} classes ({short_list(labels, 10)})."
    return task, labels, numeric, note


# --- pass 2: fill the arrays ------------------------------------------------------------------


def _fill(
    fmt: CsvFormat,
    pipeline: TablePipeline,
    indices: list[int],
    target: int,
    scan: _Scan,
    chunk_rows: int,
    max_rows: int | None,
) -> tuple[np.ndarray, np.ndarray, int]:
    n = int(scan.keep.sum())
    widths = [len(s.feature_names) for s in pipeline.columns]
    try:
        x = np.zeros((n, sum(widths)), np.float32)
        y = np.zeros((n, 1), np.float32) if pipeline.task == "regression" else np.zeros(n, np.int64)
    except MemoryError:
        raise DataError(
            f"{fmt.path.name} gives {n:,} × {sum(widths):,} numbers, more than fits in memory. "
            "Use fewer rows (max_rows) or leave out columns with many categories."
        ) from None
    start = done = unknown = 0
    for cells in read_columns(fmt, chunk_rows, max_rows):
        size = len(cells[0])
        keep = scan.keep[done : done + size]
        done += size
        if len(keep) != size:
            break
        at = done - size + np.flatnonzero(keep)
        block = x[start : start + len(at)]
        offset = 0
        for spec, j, width in zip(pipeline.columns, indices, widths, strict=True):
            values = stripped_cells(cells[j], keep)
            try:
                unknown += encode_column(
                    spec, values, block[:, offset : offset + width], pipeline, True
                )
            except BadValue as bad:
                line = line_of(fmt, int(at[bad.index]))
                raise DataError(
                    f"{fmt.path.name}, line {line}, column '{spec.name}': {bad.why}"
                ) from None
            offset += width
        try:
            y[start : start + len(at)] = encode_target(
                pipeline, stripped_cells(cells[target], keep)
            )
        except BadValue as bad:
            line = line_of(fmt, int(at[bad.index]))
            raise DataError(
                f"{fmt.path.name}, line {line}, target '{pipeline.target}': {bad.why}"
            ) from None
        start += len(at)
        del cells  # before the next chunk is read
    if done != scan.rows or start != n:
        raise DataError(f"{fmt.path.name} changed while it was being read; read it again.")
    return x, y, unknown


# --- the public functions ---------------------------------------------------------------------


def read_csv(
    path: str | Path,
    target: str | int | None = None,
    *,
    task: Task | None = None,
    missing: Missing = "drop",
    delimiter: str | None = None,
    encoding: str | None = None,
    header: bool | None = None,
    drop_columns: Sequence[str | int] = (),
    max_rows: int | None = None,
    chunk_rows: int | None = None,
) -> Dataset:
    """A CSV file as a dataset; see :func:`read_csv_with_pipeline` for the arguments."""
    data, _ = read_csv_with_pipeline(
        path,
        target,
        task=task,
        missing=missing,
        delimiter=delimiter,
        encoding=encoding,
        header=header,
        drop_columns=drop_columns,
        max_rows=max_rows,
        chunk_rows=chunk_rows,
    )
    return data


def read_csv_with_pipeline(
    path: str | Path,
    target: str | int | None = None,
    *,
    task: Task | None = None,
    missing: Missing = "drop",
    delimiter: str | None = None,
    encoding: str | None = None,
    header: bool | None = None,
    drop_columns: Sequence[str | int] = (),
    max_rows: int | None = None,
    chunk_rows: int | None = None,
    pipeline: TablePipeline | None = None,
) -> tuple[Dataset, TablePipeline]:
    """A CSV file as a dataset, and the pipeline that encodes new rows the same way.

    Args:
        path: The file.
        target: The column to predict: a name (any case, if only one column matches) or a
            position counted from 0 (negative from the end). Default: the last named column.
        task: ``classification`` or ``regression``; by default classification for text and
            for whole numbers with at most 20 different values, regression otherwise.
        missing: Rows with a missing cell (empty, NA, N/A, nan, null, ?, -) are dropped, or
            their cells filled with the column's mean or most frequent value. Rows without a
            target are always dropped.
        delimiter: The separator; found by itself among , ; tab and | when None.
        encoding: The text encoding; UTF-8 (with or without BOM), UTF-16 (BOM) and, failing
            those, cp1252 / latin-1 are found by themselves when None.
        header: Whether the first row names the columns; by default it does unless it holds
            a number. Without one, columns are named col_1, col_2, ...
        drop_columns: Columns to leave out (names or positions).
        max_rows: Read only this many rows.
        chunk_rows: Rows per chunk (memory use); by default about 50,000 cells.
        pipeline: Encode with this pipeline (from training) instead of learning one: a test
            file for a trained model. Its columns and target must be in the file.

    Raises:
        DataError: The file cannot be used; the message says why and what to do.
    """
    if missing not in ("drop", "fill"):
        raise DataError(f"missing must be 'drop' or 'fill', not {missing!r}.")
    if task not in (None, "classification", "regression"):
        raise DataError(f"task must be 'classification' or 'regression', not {task!r}.")
    for value, what in ((max_rows, "max_rows"), (chunk_rows, "chunk_rows")):
        if value is not None and value < 1:
            raise DataError(f"{what} must be at least 1 (it is {value}).")
    fmt = open_format(path, delimiter, encoding, header)
    names, limit = fmt.names, MAX_LEVELS
    if pipeline is not None:
        missing = pipeline.missing
        features = [pick_column(s.name, names, "input") for s in pipeline.columns]
        tcol = pick_column(pipeline.target, names, "target")
    else:
        if target is None:
            named = [
                i for i, n in enumerate(names) if not fmt.has_header or fmt.sample[0][i].strip()
            ]
            tcol = named[-1] if named else len(names) - 1
        else:
            tcol = pick_column(target, names, "target")
        dropped = {pick_column(c, names, "columns to drop") for c in drop_columns}
        if tcol in dropped:
            raise DataError(f"The target '{names[tcol]}' cannot also be a column to drop.")
        features = [j for j in range(len(names)) if j != tcol and j not in dropped]
    chunk = chunk_rows or max(64, _CHUNK_CELLS // (len(features) + 1))
    fill = missing == "fill"

    def scan() -> _Scan:
        found = _scan(fmt, [*features, tcol], tcol, fill, chunk, max_rows, limit)
        if found.rows == 0:
            what = "a header row but no data rows" if fmt.has_header else "no data rows"
            raise DataError(f"{fmt.path.name} has {what}.")
        return found

    result = scan()
    notes = list(fmt.notes)
    if pipeline is None:
        empty = [j for j in features if result.columns[j].missing == result.rows]
        if empty:
            notes.append(f"Empty columns were left out: {short_list([names[j] for j in empty])}.")
            features = [j for j in features if j not in empty]
            if not fill:
                result = scan()
    if result.columns[tcol].missing == result.rows:
        raise DataError(f"The target column '{names[tcol]}' is empty. Choose another target.")
    if not features:
        raise DataError(
            f"{fmt.path.name} needs at least one column besides the target '{names[tcol]}' "
            "to learn from."
        )
    kept = int(result.keep.sum())
    if kept == 0:
        worst = sorted(features, key=lambda j: -result.columns[j].missing)[:3]
        raise DataError(
            f"Every row of {fmt.path.name} has a missing value (most in "
            f"{short_list([names[j] for j in worst])}). Fill them instead (missing='fill') or "
            "leave those columns out."
        )
    if pipeline is None:
        specs, column_notes = _plan_columns(fmt, result, features, limit)
        task, classes, numeric, target_note = _plan_target(fmt, result, tcol, task, limit)
        pipeline = TablePipeline(
            specs, names[tcol], task, classes, numeric, missing, fmt.decimal_comma
        )
        notes += [*column_notes, target_note]
    else:
        notes.append("Encoded with the table settings of the trained model.")
    gaps = {names[j]: result.columns[j].missing for j in [*features, tcol]}
    gaps = {k: v for k, v in gaps.items() if v}
    if gaps:
        notes.append("Missing values: " + ", ".join(f"{k} {v:,}" for k, v in gaps.items()) + ".")
    lost = result.rows - kept
    if fill:
        filled = [f"{s.name} with {fill_text(s)}" for s in pipeline.columns if gaps.get(s.name)]
        if filled:
            notes.append(f"Missing values were filled: {', '.join(filled)}.")
        if lost:
            notes.append(f"Dropped {_plural(lost, 'row')} without a target value.")
    elif lost:
        notes.append(f"Dropped {lost:,} of {_plural(result.rows, 'row')}: they had missing values.")
    if max_rows is not None and result.rows >= max_rows:
        notes.append(f"Only the first {max_rows:,} rows were read.")
    x, y, unknown = _fill(fmt, pipeline, features, tcol, result, chunk, max_rows)
    if unknown:
        notes.append(
            f"{_plural(unknown, 'value')} were categories not seen in training (all zeros)."
        )
    summary = (
        f"Read {_plural(result.rows, 'row')} and {len(names)} columns ({fmt.encoding}, "
        f"separated by {delimiter_name(fmt.delimiter)})."
    )
    data = Dataset(
        fmt.path.name,
        [x],
        y,
        pipeline.task,
        class_names=pipeline.class_names,
        feature_names=pipeline.feature_names,
        notes=[summary, *notes],
        source=str(path),
    )
    return data, pipeline
