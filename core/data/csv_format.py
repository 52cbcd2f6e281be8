"""How a CSV file is written and how its text is read.

:func:`open_format` finds the encoding, the separator and the header (a :class:`CsvFormat`),
:func:`read_columns` reads the data rows in chunks, and :func:`preview_csv` shows the first
rows for a wizard (a :class:`CsvPreview`). The cell helpers (:func:`parse_number`,
:data:`MISSING_VALUES`, :data:`BOOLEANS`) say what a cell of text holds, for the reader and for
:class:`~core.data.table_pipeline.TablePipeline` alike.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.dataset import DataError

MAX_COLUMNS = 10_000
_SAMPLE_CHARS = 1 << 16
_DELIMITERS = ",;\t|"
_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


# --- cells ------------------------------------------------------------------------------------


def _case_variants(word: str) -> set[str]:
    return {"".join(p) for p in itertools.product(*({c.lower(), c.upper()} for c in word))}


MISSING_TOKENS = ("", "NA", "N/A", "nan", "null", "?", "-")
MISSING_VALUES = frozenset(v for w in MISSING_TOKENS for v in _case_variants(w))
BOOLEANS = {"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0}


def parse_number(text: str, decimal_comma: bool) -> float | None:
    """``text`` as a finite number, or None (no underscores; ``1,5`` where allowed)."""
    if "_" in text:
        return None
    try:
        value = float(text)
    except ValueError:
        if not (decimal_comma and text.count(",") == 1 and "." not in text):
            return None
        try:
            value = float(text.replace(",", "."))
        except ValueError:
            return None
    return value if math.isfinite(value) else None


def parse_numbers(values: list[str], decimal_comma: bool) -> tuple[np.ndarray, bool] | None:
    """All ``values`` as float64 (non-finite ones included) and whether a decimal comma was
    needed, or None when one is not a number."""
    try:
        out = np.array(list(map(float, values)), dtype=np.float64)
        comma = False
    except ValueError:
        if not decimal_comma:
            return None
        swapped = [v if "." in v or v.count(",") != 1 else v.replace(",", ".") for v in values]
        try:
            out = np.array(list(map(float, swapped)), dtype=np.float64)
        except ValueError:
            return None
        comma = True
    return None if "_" in "".join(values) else (out, comma)


def first_bad_number(values: list[str], decimal_comma: bool) -> int:
    """The index of the first of ``values`` that is not a finite number (there is one)."""
    return next(i for i, v in enumerate(values) if parse_number(v, decimal_comma) is None)


def delimiter_name(delimiter: str) -> str:
    """The separator's name for messages (``comma``, ``tab``, ...)."""
    return _NAMES.get(delimiter, repr(delimiter))


def short_list(names: Sequence[str], most: int = 20) -> str:
    """At most ``most`` names, quoted, for a message (``'a', 'b' and 3 more``)."""
    shown = ", ".join(repr(n) for n in names[:most])
    return shown + (f" and {len(names) - most:,} more" if len(names) > most else "")


# --- the file: encoding, separator, header ----------------------------------------------------


@dataclass
class CsvFormat:
    """How a CSV file is written (found by :func:`open_format`), and its first rows."""

    path: Path
    encoding: str
    delimiter: str
    has_header: bool
    names: list[str]
    sample: list[list[str]]  # the first rows of the file, header included
    notes: list[str]

    @property
    def decimal_comma(self) -> bool:
        return self.delimiter != ","


def _detect_encoding(path: Path, given: str | None, check_bytes: int | None) -> tuple[str, str]:
    """The encoding and a note when it is a guess (not UTF-8)."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if not head.strip():
        raise DataError(f"{path.name} is empty: it has no rows at all.")
    if given is not None:
        try:
            codecs.lookup(given)
        except LookupError:
            raise DataError(f"'{given}' is not an encoding Python knows (try utf-8).") from None
        return given, ""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", ""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", ""
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise DataError(
            f"{path.name} is a spreadsheet or archive, not a CSV text file. "
            "Open it in your spreadsheet program and save it as CSV."
        )
    for order, zeros, other in (("le", head[1::2], head[0::2]), ("be", head[0::2], head[1::2])):
        if zeros.count(0) > 0.9 * len(zeros) and other.count(0) < 0.1 * len(other):
            return f"utf-16-{order}", f"No byte-order mark; the file was read as UTF-16 {order}."
    binary = DataError(
        f"{path.name} does not look like a text file (it holds binary data). "
        "Choose a .csv or .txt file saved as text."
    )
    if sum(b < 32 and b not in (9, 10, 12, 13) for b in head) > 0.05 * len(head):
        raise binary
    utf8, valid, undefined, seen = codecs.getincrementaldecoder("utf-8")(), True, False, 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            if b"\0" in block:
                raise binary
            undefined |= any(bytes([b]) in block for b in (0x81, 0x8D, 0x8F, 0x90, 0x9D))
            try:
                if valid:
                    utf8.decode(block, final=len(block) < 1 << 20)
            except UnicodeDecodeError:
                valid = False
            seen += len(block)
            if check_bytes is not None and seen >= check_bytes:
                break
    if valid:
        return "utf-8", ""
    name = "latin-1" if undefined else "cp1252"
    return name, f"The file is not UTF-8; it was read as {name} (Western European)."


def _sniff(sample: str) -> str:
    """The most likely separator of ``sample`` (whole lines)."""
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        sniffed = ","

    def score(d: str) -> tuple[bool, bool, float, float, int, bool]:
        try:
            rows = [
                r for r in itertools.islice(csv.reader(io.StringIO(sample), delimiter=d), 200) if r
            ]
        except csv.Error:
            return (False, False, 0.0, 0.0, 0, False)
        counts = Counter(len(r) for r in rows)
        width, agree = counts.most_common(1)[0] if counts else (0, 0)
        cells = [c.strip() for r in rows[1:] or rows for c in r]
        numeric = sum(parse_number(c, d != ",") is not None for c in cells) / max(1, len(cells))
        share = agree / max(1, len(rows))
        return (width > 1, share == 1, numeric, share, width, d == sniffed)

    best = max(_DELIMITERS, key=score)
    return best if score(best)[0] else sniffed


def _unique_names(raw: list[str]) -> list[str]:
    names: dict[str, None] = {}
    for i, name in enumerate(raw):
        base = name.strip() or f"col_{i + 1}"
        name, k = base, 1
        while name in names:
            k += 1
            name = f"{base}_{k}"
        names[name] = None
    return list(names)


def _looks_like_header(rows: list[list[str]], comma: bool) -> bool:
    """A first row is a header if it has text above numbers, or no number at all."""
    first = [c.strip() for c in rows[0]]
    for j, cell in enumerate(first):
        if cell in MISSING_VALUES or parse_number(cell, comma) is not None:
            continue
        below = [
            r[j].strip() for r in rows[1:] if j < len(r) and r[j].strip() not in MISSING_VALUES
        ]
        if below and all(parse_number(v, comma) is not None for v in below):
            return True
    return all(parse_number(c, comma) is None for c in first)


def open_format(
    path: str | Path,
    delimiter: str | None,
    encoding: str | None,
    header: bool | None,
    check_bytes: int | None = None,
) -> CsvFormat:
    """How the file at ``path`` is written: the arguments given, the rest found from its start."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"There is no file at {p}." if not p.exists() else f"{p} is a folder.")
    enc, note = _detect_encoding(p, encoding, check_bytes)
    try:
        with open(p, encoding=enc, newline="") as f:
            sample = f.read(_SAMPLE_CHARS)
            if f.read(1) and "\n" in sample:
                sample = sample[: sample.rfind("\n") + 1]
    except UnicodeDecodeError as err:
        raise DataError(
            f"{p.name} cannot be read as {enc} ({err.reason}); try another encoding."
        ) from None
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
        raise DataError(
            f"The separator must be one character such as ',' or ';', not {delimiter!r}."
        )
    delim = delimiter or _sniff(sample)
    try:
        rows = [
            r
            for r in itertools.islice(csv.reader(io.StringIO(sample), delimiter=delim), 500)
            if r and not (len(r) == 1 and not r[0].strip())
        ]
    except csv.Error as err:
        raise DataError(f"{p.name} cannot be read as CSV: {err}.") from None
    if not rows:
        raise DataError(f"{p.name} is empty: it has no rows at all.")
    if len(rows[0]) > MAX_COLUMNS:
        raise DataError(
            f"{p.name} has {len(rows[0]):,} columns; the studio reads at most {MAX_COLUMNS:,}. "
            "Keep the columns you need in a smaller file."
        )
    if header is None:
        header = _looks_like_header(rows, delim != ",")
    notes = [note] if note else []
    if header:
        names = _unique_names(rows[0])
        if names != [c.strip() for c in rows[0]]:
            notes.append("Empty or repeated column names were made unique.")
    else:
        names = [f"col_{i + 1}" for i in range(len(rows[0]))]
        notes.append(f"The file has no header row; the columns are named col_1 … col_{len(names)}.")
    return CsvFormat(p, enc, delim, header, names, rows, notes)


# --- the rows, in chunks ----------------------------------------------------------------------


def _blank(row: list[str], width: int) -> bool:
    return not row or (len(row) == 1 and width > 1 and not row[0].strip())


def line_of(fmt: CsvFormat, index: int) -> int:
    """The line of the file on which data row ``index`` (from 0) ends (for messages)."""
    width = len(fmt.names)
    with open(fmt.path, encoding=fmt.encoding, newline="") as f:
        reader = csv.reader(f, delimiter=fmt.delimiter)
        rows = (r for r in reader if not _blank(r, width))
        for _ in itertools.islice(rows, index + fmt.has_header + 1):
            pass
        return reader.line_num


def read_columns(
    fmt: CsvFormat, chunk_rows: int, max_rows: int | None
) -> Iterator[list[tuple[str, ...]]]:
    """The data rows in chunks, as one tuple of cells per column (blank lines skipped).

    A row of the wrong length is an error. Callers drop a chunk before asking for the next
    one, so that only one is in memory.
    """
    width = len(fmt.names)
    with open(fmt.path, encoding=fmt.encoding, newline="") as f:
        reader = csv.reader(f, delimiter=fmt.delimiter)
        total = 0
        try:
            if fmt.has_header:
                next((r for r in reader if not _blank(r, width)), None)
            while max_rows is None or total < max_rows:
                want = chunk_rows if max_rows is None else min(chunk_rows, max_rows - total)
                rows = list(itertools.islice(reader, want))
                if not rows:
                    break
                if set(map(len, rows)) != {width}:
                    rows = [r for r in rows if not _blank(r, width)]
                    bad = next((i for i, r in enumerate(rows) if len(r) != width), None)
                    if bad is not None:
                        raise DataError(
                            f"{fmt.path.name}, line {line_of(fmt, total + bad)}: "
                            f"{len(rows[bad])} values, but the "
                            f"{'header' if fmt.has_header else 'first row'} has {width}. Check "
                            "that line for a missing or extra "
                            f"{delimiter_name(fmt.delimiter)} or an unclosed quote."
                        )
                total += len(rows)
                if rows:
                    columns = list(zip(*rows, strict=True))
                    del rows
                    yield columns
                    del columns
        except UnicodeDecodeError as err:
            raise DataError(
                f"{fmt.path.name} cannot be read as {fmt.encoding} ({err.reason}) after line "
                f"{reader.line_num}; choose another encoding."
            ) from None
        except csv.Error as err:
            raise DataError(f"{fmt.path.name}, line {reader.line_num}: {err}.") from None


def stripped_cells(cells: tuple[str, ...], chosen: np.ndarray | None = None) -> list[str]:
    """The cells (of the ``chosen`` rows), without surrounding spaces."""
    if chosen is None or chosen.all():
        return list(map(str.strip, cells))
    return [cells[i].strip() for i in np.flatnonzero(chosen).tolist()]


def missing_mask(values: list[str]) -> np.ndarray:
    """Which of ``values`` (stripped text) are missing cells (empty, NA, null, ...)."""
    if MISSING_VALUES.isdisjoint(values):
        return np.zeros(len(values), bool)
    return np.array(list(map(MISSING_VALUES.__contains__, values)), dtype=bool)


def pick_column(key: str | int, names: list[str], what: str) -> int:
    """The index of a column given by name (case-insensitive if unique) or position."""
    if isinstance(key, int):
        if -len(names) <= key < len(names):
            return key % len(names)
        raise DataError(
            f"There is no column number {key} for the {what}: the file has {len(names)} "
            f"columns, numbered from 0 ({short_list(names)})."
        )
    if key in names:
        return names.index(key)
    folded = [i for i, n in enumerate(names) if n.casefold() == key.strip().casefold()]
    if len(folded) == 1:
        return folded[0]
    raise DataError(
        f"No column is called '{key}' (for the {what}). The columns are: {short_list(names)}."
    )


# --- the preview ------------------------------------------------------------------------------


def _guess_kind(values: Sequence[str], decimal_comma: bool) -> str:
    present = [v.strip() for v in values if v.strip() not in MISSING_VALUES]
    if not present:
        return "empty"
    if all(parse_number(v, decimal_comma) is not None for v in present):
        return "numeric"
    return "boolean" if all(v.lower() in BOOLEANS for v in present) else "categorical"


@dataclass(frozen=True)
class CsvPreview:
    """The first rows of a CSV file and what the reader makes of them, for a wizard.

    Attributes:
        path: The file.
        encoding: The text encoding found (or given).
        delimiter: The separator found (or given).
        has_header: Whether the first row names the columns.
        header: The column names (col_1, ... without a header).
        rows: The first data rows, as text.
        kinds: A guess per column from these rows: numeric, categorical, boolean or empty.
        notes: Anything worth saying (encoding guessed, rows of the wrong length).
    """

    path: str
    encoding: str
    delimiter: str
    has_header: bool
    header: list[str]
    rows: list[list[str]]
    kinds: list[str]
    notes: list[str]


def preview_csv(
    path: str | Path,
    rows: int = 20,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    header: bool | None = None,
) -> CsvPreview:
    """The first ``rows`` rows of a CSV file, read leniently (a ragged row is noted)."""
    fmt = open_format(path, delimiter, encoding, header, check_bytes=1 << 20)
    width = len(fmt.names)
    data = fmt.sample[1:] if fmt.has_header else fmt.sample
    shown = data[:rows]
    notes = list(fmt.notes)
    for i, row in enumerate(shown):
        if len(row) != width:
            notes.append(f"Data row {i + 1} has {len(row)} values instead of {width}.")
    kinds = [
        _guess_kind([r[j] for r in data if j < len(r)], fmt.decimal_comma) for j in range(width)
    ]
    return CsvPreview(
        str(path), fmt.encoding, fmt.delimiter, fmt.has_header, fmt.names, shown, kinds, notes
    )
