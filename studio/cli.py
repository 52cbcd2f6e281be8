"""The command line: headless subcommands that run on the same core as the window."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from core.catalog import catalog_text, describe
from core.compile import compile_graph, model_info
from core.graph import Graph, GraphLoadError
from core.h5io import ModelFile, ModelFileError, save_model
from core.layers import all_specs
from core.shapes import infer_shapes
from core.summary import format_summary, summarize
from core.templates import list_templates, load_template, template_names
from core.training_settings import OPTIMIZERS, TrainingSettings, suggest_settings
from studio import __version__
from studio.app import run_window, wants_window
from studio.cli_common import CliError, open_model_file, shape_text
from studio.desktop import add_desktop_command
from studio.export import add_export_command
from studio.predict import cmd_predict
from studio.train import add_commands

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
H5_SUFFIXES = (".h5", ".hdf5")
HISTORY_EPOCHS = 5


# -- opening models ----------------------------------------------------------------------------


def load_graph(target: str) -> tuple[Graph, ModelFile | None]:
    """A graph from a ``.json`` graph file, a ``.h5`` model file, or a template's name.

    Returns:
        The graph, and the model file when ``target`` is a ``.h5`` file.
    """
    path = Path(target)
    if path.is_file():
        if path.suffix.lower() in (*H5_SUFFIXES, ".keras5"):
            model = open_model_file(path)
            return model.graph, model
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            raise CliError(f"{target} is too large to be a model graph.")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise CliError(f"Cannot read {target}: {err}") from None
        try:
            return Graph.from_json(text), None
        except GraphLoadError as err:
            raise CliError(f"{target}: {err}") from None
    if target in template_names():
        return load_template(target), None
    if path.exists():
        raise CliError(f"{target} is not a file.")
    raise CliError(
        f"No file or template called {target!r}. Templates: {', '.join(template_names())}."
    )


# -- templates, layers, new --------------------------------------------------------------------


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


def cmd_new(args: argparse.Namespace) -> int:
    """Write a template as an untrained model file."""
    if args.template not in template_names():
        names = ", ".join(template_names())
        raise CliError(f"There is no template called {args.template!r}. Templates: {names}.")
    out = Path(args.output)
    if out.suffix.lower() not in H5_SUFFIXES:
        raise CliError(f"{out} must end in .h5 (a model file), for example {out.stem}.h5.")
    if out.exists() and not args.overwrite:
        raise CliError(f"{out} exists already; add --overwrite to replace it.")
    if not 0 <= args.seed < 2**32:
        raise CliError(f"The seed must be a whole number from 0 to {2**32 - 1}.")
    graph = load_template(args.template)
    report = infer_shapes(graph)
    module = compile_graph(graph, seed=args.seed, report=report) if report.ok else None
    try:
        problems = save_model(out, graph, module, training=suggest_settings(graph, args.seed)[0])
    except ModelFileError as err:
        raise CliError(str(err)) from None
    total = summarize(graph, report).total
    print(f"Wrote {out}: {args.template}, {total:,} parameters, untrained (seed {args.seed}).")
    print(_keras_verdict(problems))
    return 0


# -- info --------------------------------------------------------------------------------------


def cmd_info(args: argparse.Namespace) -> int:
    """Print the summary and the diagnostics of a model, and what a model file holds."""
    graph, model = load_graph(args.model)
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
    if model is not None:
        _print_model_file(model)
    return 0


def _keras_verdict(problems: list[str]) -> str:
    if not problems:
        return "Keras can open it (keras.models.load_model)."
    reasons = "\n".join(f"  - {p}" for p in problems)
    return f"Only the studio can open it; Keras cannot, because:\n{reasons}"


def _print_model_file(model: ModelFile) -> None:
    print()
    if model.origin == "keras":
        print("File: made by Keras; the studio reads it as shown above.")
    else:
        print("File: a studio model file. " + _keras_verdict(model.keras_problems))
    if model.module is not None:  # what `predict` takes and gives, in its order
        info, nodes = model_info(model.module), model.graph.nodes
        shapes = [f"{nodes[i].name} {shape_text(nodes[i].params['shape'])}" for i in info.inputs]
        print(f"Inputs, in order: {', '.join(shapes)}")
        print(f"Outputs, in order: {', '.join(nodes[i].name for i in info.outputs)}")
    if model.notes:
        print("Notes on reading it:")
        for note in model.notes:
            print(f"  - {note}")
    print()
    print("Training settings:")
    for key, value in _settings_rows(model.training):
        print(f"  {key:<12} {value}")
    print()
    print(_history_text(model.history))


def _settings_rows(t: TrainingSettings) -> list[tuple[str, str]]:
    extras = [f"learning rate {t.learning_rate:g}"]
    defaults = OPTIMIZERS[t.optimizer]
    extras += [f"{k} {v}" for k, v in t.optimizer_options.items() if defaults.get(k) != v]
    extras += [f"{k} {v:g}" for k, v in (("clipnorm", t.clipnorm), ("clipvalue", t.clipvalue)) if v]
    loss = t.loss if isinstance(t.loss, str) else "; ".join(f"{k}: {v}" for k, v in t.loss.items())
    split = f"{t.validation_split * 100:g}% of the data" if t.validation_split else "none"
    return [
        ("optimizer", f"{t.optimizer} ({', '.join(extras)})"),
        ("loss", loss),
        ("metrics", ", ".join(t.metrics) or "none"),
        ("epochs", str(t.epochs)),
        ("batch size", str(t.batch_size)),
        ("validation", split),
        ("shuffle", "yes" if t.shuffle else "no"),
        ("seed", "none (different each run)" if t.seed is None else str(t.seed)),
        ("device", t.device),
    ]


def _history_text(history: dict[str, list[float | None]]) -> str:
    """The last epochs of the history as a small table, or that there are none."""
    epochs = max((len(v) for v in history.values()), default=0)
    if not epochs:
        return "History: not trained yet."
    names = [k for k, v in history.items() if v]
    first = max(0, epochs - HISTORY_EPOCHS)
    shown = "" if first == 0 else f"; the last {HISTORY_EPOCHS}"
    widths = [max(len(n), 9) for n in names]
    lines = [f"History ({epochs} epoch{'s' if epochs > 1 else ''}{shown}):"]
    lines.append("  epoch" + "".join(f"  {n:>{w}}" for n, w in zip(names, widths, strict=True)))
    for epoch in range(first, epochs):
        cells = []
        for name, width in zip(names, widths, strict=True):
            values = history[name]
            value = values[epoch] if epoch < len(values) else None
            cells.append(f"  {'-' if value is None else f'{value:.4f}':>{width}}")
        lines.append(f"  {epoch + 1:>5}" + "".join(cells))
    return "\n".join(lines)


# -- the parser --------------------------------------------------------------------------------


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
    p = sub.add_parser("new", help="write a template as an untrained model file (.h5)")
    p.add_argument("template", metavar="TEMPLATE", help="a template's name (see `templates`)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.h5", help="the file to write")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the weights (0)")
    p.add_argument("--overwrite", action="store_true", help="replace FILE.h5 if it exists")
    p.set_defaults(func=cmd_new)
    p = sub.add_parser("info", help="print a model's summary, its problems and its training")
    p.add_argument(
        "model", metavar="MODEL", help="a model file (.h5 or .json graph) or a template name"
    )
    p.set_defaults(func=cmd_info)
    p = sub.add_parser("predict", help="run a model file on NumPy arrays and save the results")
    p.add_argument("model", metavar="MODEL.h5", help="a model file (studio or Keras .h5)")
    p.add_argument(
        "-i", "--input", dest="inputs", action="append", required=True, metavar="X.npy",
        help="one model input's samples (.npy, or .npz of one array); give one --input per "
        "model input, in the order `info` lists them",
    )  # fmt: skip
    p.add_argument(
        "-o", "--output", required=True, metavar="Y.npy",
        help="where to save the predictions: .npy, or .npz (one array per output)",
    )  # fmt: skip
    layouts = ("channels-first", "channels-last")
    p.add_argument(
        "--layout", choices=layouts, default=layouts[0],
        help="images as (N, C, H, W), the studio's layout (default), or (N, H, W, C) as in Keras",
    )  # fmt: skip
    p.add_argument("--batch-size", type=int, default=256, metavar="N", help="samples per step")
    p.set_defaults(func=cmd_predict)
    add_commands(sub)
    add_export_command(sub)
    add_desktop_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status. No subcommand opens the window."""
    arguments = sys.argv[1:] if argv is None else argv
    from ui.settings import apply_cache_settings

    apply_cache_settings()  # the data cache chosen in Preferences serves the commands too
    if wants_window(arguments):
        return run_window(arguments)
    parser = build_parser()
    args = parser.parse_args(arguments)
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
    except KeyboardInterrupt:
        return 130
