"""The command line: headless subcommands that run on the same core as the window."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from core.catalog import catalog_text, describe
from core.graph import Graph, GraphLoadError
from core.keras_format import KerasFormatError, graph_from_keras_config, read_keras_h5
from core.layers import all_specs
from core.shapes import infer_shapes
from core.summary import format_summary, summarize
from core.templates import list_templates, load_template, template_names
from studio import __version__

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


class CliError(Exception):
    """A problem to report in one line, with exit status 2, and no traceback."""


def load_model(target: str) -> Graph:
    """A graph from a ``.json`` graph file, or from a template's name."""
    path = Path(target)
    if path.is_file():
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            raise CliError(f"{target} is too large to be a model graph.")
        if path.suffix.lower() in (".h5", ".hdf5", ".keras5"):
            return _load_keras(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise CliError(f"Cannot read {target}: {err}") from None
        try:
            return Graph.from_json(text)
        except GraphLoadError as err:
            raise CliError(f"{target}: {err}") from None
    if target in template_names():
        return load_template(target)
    if path.exists():
        raise CliError(f"{target} is not a file.")
    raise CliError(
        f"No file or template called {target!r}. Templates: {', '.join(template_names())}."
    )


def _load_keras(path: Path) -> Graph:
    """The graph of a Keras ``.h5`` model file (its weights are not needed for a summary)."""
    try:
        config, _ = read_keras_h5(path)
        return graph_from_keras_config(config).graph
    except KerasFormatError as err:
        raise CliError(f"{path}: {err}") from None
    except (OSError, ValueError, KeyError) as err:  # not HDF5, broken, or not JSON inside
        raise CliError(f"Cannot read {path} as a Keras model file: {err}") from None


def cmd_templates(args: argparse.Namespace) -> int:
    """Print every template with its description and size."""
    for info in list_templates():
        total = summarize(load_template(info.name)).total
        print(f"{info.name}  ({total:,} parameters)")
        print(
            textwrap.fill(
                info.description, width=88, initial_indent="    ", subsequent_indent="    "
            )
        )
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    """Print the summary and the diagnostics of a model."""
    graph = load_model(args.model)
    report = infer_shapes(graph)
    if graph.description:
        print(graph.description)
        print()
    print(format_summary(summarize(graph, report)))
    print()
    if not report.diagnostics:
        print("No problems found.")
    else:
        errors = len(report.errors)
        print(f"Problems: {errors} error(s), {len(report.diagnostics) - errors} other(s)")
        for diagnostic in report.diagnostics:
            print("  " + diagnostic.text(graph))
    return 0


def cmd_layers(args: argparse.Namespace) -> int:
    """Print the layer catalog, or one kind in full."""
    if not args.kind:
        print(catalog_text())
        return 0
    names = {spec.kind.lower(): spec.kind for spec in all_specs()}
    kind = names.get(args.kind.lower())
    if kind is None:
        raise CliError(
            f"There is no layer kind called {args.kind!r}. Kinds: {', '.join(names.values())}."
        )
    print(describe(kind))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="layer-studio",
        description="A visual deep-learning studio. Subcommands run without a window.",
    )
    parser.add_argument("--version", action="version", version=f"layer-studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("templates", help="list the ready-made models to start from")
    p.set_defaults(func=cmd_templates)
    p = sub.add_parser("layers", help="list every layer kind with its help and params")
    p.add_argument("kind", nargs="?", help="one kind to describe (Dense, Conv2D, ...)")
    p.set_defaults(func=cmd_layers)
    p = sub.add_parser("info", help="print a model's summary and its problems")
    p.add_argument(
        "model", metavar="MODEL", help="a model file (.json graph or Keras .h5) or a template name"
    )
    p.set_defaults(func=cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args))
    except CliError as err:
        print(f"layer-studio: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head`
        return 0
