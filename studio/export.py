"""``layer-studio export``: the model as a standalone PyTorch script, Keras code or ONNX."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.compile import CompileError, compile_graph
from core.export import FORMATS, ExportError, ExportRequest, write_export
from core.training_settings import TrainingSettings
from studio.cli_common import CliError

#: Added to the model's name when no output is given, so that it never replaces the model.
_DEFAULT_ENDINGS = {"pytorch": "_pytorch.py", "keras": "_keras.py", "onnx": ".onnx"}


def add_export_command(sub: Any) -> None:
    """The ``export`` subcommand."""
    p = sub.add_parser(
        "export", help="write the model as a PyTorch script, Keras code or an ONNX file"
    )
    p.add_argument("model", metavar="MODEL", help="a model file (.h5), graph (.json) or template")
    p.add_argument("--format", required=True, choices=tuple(FORMATS), help="what to write")
    p.add_argument("-o", "--output", metavar="FILE", help="where to write it")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """Export a model; prints what was written."""
    from studio.cli import load_graph

    graph, model = load_graph(args.model)
    output = Path(args.output or Path(args.model).stem + _DEFAULT_ENDINGS[args.format])
    if output.resolve() == Path(args.model).resolve():
        raise CliError(f"{output} is the model itself; choose another file with -o.")
    module = model.module if model is not None else None
    untrained = False
    if module is None and args.format == "onnx":
        try:
            module = compile_graph(graph, seed=0)
        except CompileError as err:
            raise CliError(str(err).splitlines()[0]) from None
        untrained = True
    request = ExportRequest(
        graph,
        module,
        model.training if model is not None else TrainingSettings(),
        dict(model.data) if model is not None else {},
    )
    try:
        written = write_export(request, args.format, output)
    except ExportError as err:
        raise CliError(str(err)) from None
    what = FORMATS[args.format][1]
    extra = f" (and {', '.join(str(p) for p in written[1:])} beside it)" if written[1:] else ""
    print(f"Wrote the {what} to {written[0]}{extra}.")
    if untrained:
        print("The weights are untrained: the model has not been trained yet.")
    return 0
