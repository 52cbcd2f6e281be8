"""A part of a generated Python file: its code and the imports it needs.

The exported PyTorch script (:mod:`core.export.pytorch`) is assembled from sections (the
model, its data, its training loop). Each section names its imports as whole import lines;
the file gathers them once, in the order ``ruff``'s isort rules want.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Standard-library modules, written first in the import block.
_STDLIB = {
    "argparse",
    "csv",
    "gzip",
    "io",
    "json",
    "math",
    "os",
    "pathlib",
    "random",
    "struct",
    "sys",
    "time",
    "zipfile",
}


@dataclass(frozen=True)
class Section:
    """Module-level code and the import lines it needs.

    Attributes:
        source: Definitions, formatted as ``ruff format`` leaves them, separated by two blank
            lines, with no import lines of their own.
        imports: Whole import lines: ``"import numpy as np"``, ``"from pathlib import Path"``.
    """

    source: str
    imports: tuple[str, ...] = field(default=())


def _module(line: str) -> str:
    words = line.split()
    return words[1]


def import_block(lines: list[str]) -> str:
    """The import lines as ``ruff``'s isort orders them: standard library, then third-party,
    each group ``import x`` lines first, then ``from x import y`` lines, each sorted."""
    unique = sorted(set(lines))
    groups: list[list[str]] = []
    for stdlib in (True, False):
        group = [line for line in unique if (_module(line).split(".")[0] in _STDLIB) == stdlib]
        group.sort(key=lambda line: (line.startswith("from "), _module(line).lower(), line))
        if group:
            groups.append(group)
    return "\n\n".join("\n".join(group) for group in groups)
