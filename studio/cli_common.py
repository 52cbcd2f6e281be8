"""What the command line's commands share: their one error type and opening model files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.h5io import ModelFile, ModelFileError, load_model


class CliError(Exception):
    """A problem to report in one line, with exit status 2, and no traceback."""


def open_model_file(path: str | Path) -> ModelFile:
    """A studio or Keras ``.h5`` model file, or :class:`CliError` saying why it cannot be read."""
    try:
        return load_model(path)
    except ModelFileError as err:
        raise CliError(f"Cannot read {err}") from None


def shape_text(shape: Sequence[Any]) -> str:
    """``(3, 28, 28)``; a 1-tuple keeps its comma."""
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
