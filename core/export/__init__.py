"""The model out of the studio: a standalone PyTorch script, Keras code, or an ONNX file.

:func:`export_files` makes what an export writes, :func:`preview` what the window shows before
saving. The formats live in their own modules: :mod:`core.export.pytorch`,
:mod:`core.export.keras` and :mod:`core.export.onnx`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import fx

from core.graph import Graph
from core.training_settings import TrainingSettings

#: Each format with the suffix of the file it writes and its name in the interface.
FORMATS: dict[str, tuple[str, str]] = {
    "pytorch": (".py", "PyTorch script"),
    "keras": (".py", "Keras code"),
    "onnx": (".onnx", "ONNX model"),
}


class ExportError(ValueError):
    """The model cannot be exported in that format; ``str(err)`` says why and what to do."""


@dataclass(frozen=True)
class ExportRequest:
    """What an export needs to know about a model.

    Attributes:
        graph: The document.
        module: Its compiled module with the trained weights (needed for ONNX only).
        settings: The training settings, written into the code.
        data: What the model was trained on (``ModelFile.data``), for the script's data
            loading; empty when it was never trained in the studio.
    """

    graph: Graph
    module: fx.GraphModule | None = None
    settings: TrainingSettings = field(default_factory=TrainingSettings)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportedFiles:
    """What an export writes: the main file and the files that go beside it.

    Attributes:
        main: The main file's contents (code as UTF-8, or the ONNX model).
        companions: Other files by name (``model_data.npz``), written in the same folder.
        text: What the window previews: the code, or a description of a binary file.
    """

    main: bytes
    companions: dict[str, bytes]
    text: str


def export_files(request: ExportRequest, fmt: str, stem: str = "model") -> ExportedFiles:
    """The files of an export in ``fmt`` (a key of :data:`FORMATS`); ``stem`` is the main
    file's name without its suffix, which companion files are named after.

    Raises:
        ExportError: With the reason the model cannot be exported so.
    """
    from core.keras_format import KerasFormatError

    if fmt == "keras":
        from core.export.keras import keras_code

        try:
            code = keras_code(request.graph, request.settings)
        except KerasFormatError as err:
            raise ExportError(str(err)) from None
        return ExportedFiles(code.encode("utf-8"), {}, code)
    if fmt == "pytorch":
        from core.export.pytorch import pytorch_export

        try:
            script = pytorch_export(request.graph, request.settings, request.data, stem)
        except ValueError as err:  # ExportGraphError: an incomplete graph, a layer with no code
            raise ExportError(str(err)) from None
        return ExportedFiles(script.code.encode("utf-8"), script.companions, script.code)
    if fmt == "onnx":
        from core.export.onnx import onnx_export

        return onnx_export(request)
    raise ExportError(f"There is no export format {fmt!r}; choose one of {', '.join(FORMATS)}.")


def write_export(request: ExportRequest, fmt: str, path: str | Path) -> list[Path]:
    """Export to ``path`` and the companion files beside it; returns every path written.

    Raises:
        ExportError: The model cannot be exported so, or a file cannot be written (nothing
            is left half-written).
    """
    path = Path(path)
    files = export_files(request, fmt, path.stem)
    targets = [(path, files.main)] + [(path.with_name(n), b) for n, b in files.companions.items()]
    written: list[Path] = []
    for target, contents in targets:
        temporary = target.with_name(f".{target.name}.tmp")
        try:
            temporary.write_bytes(contents)
            temporary.replace(target)
        except OSError as err:
            temporary.unlink(missing_ok=True)
            raise ExportError(f"Cannot write {target}: {err.strerror or err}.") from None
        written.append(target)
    return written
