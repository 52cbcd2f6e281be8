"""``layer-studio train`` and ``layer-studio evaluate``: Keras's ``fit`` and ``evaluate`` on a
model file, with a progress bar (or one JSON line per epoch), saving the trained model back."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import numpy as np

from core.callbacks import Callback, Control
from core.compile import carry_weights, compile_graph, model_info
from core.data.dataset import DataError, describe, split
from core.data.spec import LoadedData, load_data, parse_spec, saved_pipeline
from core.fit_checks import adapt, check_fit
from core.h5io import ModelFile, ModelFileError, save_model
from core.metrics import confusion_matrix, per_class_report
from core.optimizer_state import capture
from core.training import Trainer, TrainingError
from core.training_settings import SettingsError, TrainingSettings
from studio.cli_common import CliError, open_model_file


def _settings(model: ModelFile, args: argparse.Namespace) -> TrainingSettings:
    """The file's training settings with the command line's changes."""
    settings = model.training
    changes: dict[str, Any] = {}
    for key in ("epochs", "batch_size", "loss", "device", "seed"):
        value = getattr(args, key, None)
        if value is not None:
            changes[key] = value
    if args.lr is not None:
        changes["learning_rate"] = args.lr
    if args.val_split is not None:
        changes["validation_split"] = args.val_split
    if args.metrics is not None:
        changes["metrics"] = [m.strip() for m in args.metrics.split(",") if m.strip()]
    try:
        if args.optimizer is not None:
            settings = settings.with_optimizer(args.optimizer)
        return dataclasses.replace(settings, **changes)
    except SettingsError as err:
        raise CliError(" ".join(err.problems)) from None


def _data(spec: str, model: ModelFile, *, training: bool) -> LoadedData:
    """The data ``spec`` names. A CSV is encoded with the column handling saved in the model
    file (same categories, same standardisation), so that the trained weights read it as they
    were taught; training on another target column learns new handling instead."""
    try:
        pipeline = saved_pipeline(model.data)
        if pipeline is not None and training:
            target = parse_spec(spec)[1].get("target")
            if target is not None and target.lower() != pipeline.target.lower():
                pipeline = None
        return load_data(spec, pipeline)
    except DataError as err:
        raise CliError(str(err)) from None


class Progress(Callback):
    """A one-line progress bar per epoch on ``stream``, redrawn at most ten times a second."""

    def __init__(self, epochs: int, batches: int, stream: TextIO) -> None:
        self.epochs, self.batches, self.stream = epochs, batches, stream
        self.tty = stream.isatty()
        self.last = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        self.started, self.seen, self.epoch = time.perf_counter(), 0, epoch

    def on_batch_end(self, batch: int, logs: dict[str, Any]) -> None:
        self.seen += int(logs["size"])
        now = time.perf_counter()
        if not self.tty or now - self.last < 0.1:
            return
        self.last = now
        done = (batch + 1) / self.batches
        spent = now - self.started
        eta = spent / done - spent
        bar = "=" * int(done * 24) + ">" + " " * (24 - int(done * 24))
        loss = float(logs["loss"])  # one host sync, ten times a second at most
        self.stream.write(
            f"\rEpoch {self.epoch + 1}/{self.epochs} [{bar[:25]}] {batch + 1}/{self.batches}"
            f" · ETA {eta:4.0f}s · {self.seen / max(spent, 1e-9):,.0f} samples/s · "
            f"loss {loss:.4f}  "
        )
        self.stream.flush()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        shown = "  ".join(
            f"{k} {v:.4f}"
            for k, v in logs.items()
            if k not in ("seconds", "samples_per_second", "learning_rate")
        )
        self.stream.write(
            f"\rEpoch {epoch + 1}/{self.epochs}  {logs['seconds']:.1f}s  "
            f"{logs['samples_per_second']:,.0f} samples/s  {shown}\n"
        )
        self.stream.flush()


class JsonLines(Callback):
    """One JSON object per finished epoch on stdout."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        record = {"epoch": epoch + 1} | {
            k: (v if math.isfinite(v) else None) for k, v in logs.items()
        }
        print(json.dumps(record), flush=True)


def cmd_train(args: argparse.Namespace) -> int:
    """Train a model file on data and save it (with its settings and history)."""
    model = open_model_file(args.model)
    out = Path(args.output or args.model)
    if out.suffix.lower() not in (".h5", ".hdf5"):
        raise CliError(f"The output {out} must end in .h5.")
    settings = _settings(model, args)
    loaded = _data(args.data, model, training=True)
    graph, module = model.graph, model.module
    problems = check_fit(graph, loaded.train, settings)
    if problems and args.adapt:
        changed = adapt(graph, loaded.train, settings)
        graph = changed.graph
        problems = check_fit(graph, loaded.train, settings)
        if not problems:
            fresh = compile_graph(graph, seed=settings.seed)
            if module is not None:
                carry_weights(module, fresh)
            module = fresh
            for change in changed.changes:
                print(f"Adapted: {change}", file=sys.stderr)
    if problems:
        hint = "" if args.adapt else " (or add --adapt to change the model to fit the data)"
        raise CliError(" ".join(problems) + hint)
    if module is None:
        raise CliError(f"{args.model} holds an incomplete model; `layer-studio info` says why.")
    parts = split(loaded.train, settings.validation_split, seed=settings.seed or 0)
    for line in describe(loaded.train).lines():
        print(line, file=sys.stderr)
    output_name = graph.nodes[model_info(module).outputs[0]].name
    try:
        trainer = Trainer(
            module, settings, output_names=[output_name], mixed_precision=args.mixed_precision
        )
    except TrainingError as err:
        raise CliError(str(err)) from None
    if trainer.device_message:
        print(trainer.device_message, file=sys.stderr)
    print(f"Training on the {trainer.device_name}.", file=sys.stderr)
    if args.mixed_precision and not trainer.amp:
        print("Mixed precision needs a CUDA GPU; training in full precision.", file=sys.stderr)
    batches = max(1, math.ceil(len(parts.train) / settings.batch_size))
    callbacks: list[Callback] = [JsonLines()] if args.json else []
    callbacks.append(Progress(settings.epochs, batches, sys.stderr))
    control = Control()
    previous = signal.signal(signal.SIGINT, _stopper(control))
    failure = None
    try:
        trainer.fit(parts.train, parts.validation, callbacks=callbacks, control=control)
    except TrainingError as err:
        failure = str(err)
    finally:
        signal.signal(signal.SIGINT, previous)
    for note in trainer.notes:
        print(note, file=sys.stderr)
    if trainer.history.epochs:
        history = _joined(model.history, trainer.history.as_keras())
        module.cpu()
        try:
            save_model(
                out,
                graph,
                module,
                training=settings,
                history=history,
                optimizer=capture(trainer.optimizer, module),
                data=loaded.record(args.data),
            )
        except ModelFileError as err:
            raise CliError(f"Cannot save: {err}") from None
        print(f"Saved the trained model to {out}.", file=sys.stderr)
    if failure:
        raise CliError(failure)
    return 130 if control.stopped else 0


def _stopper(control: Control) -> Any:
    def stop(signum: int, frame: FrameType | None) -> None:
        print("\nStopping after this batch; what was learnt is saved.", file=sys.stderr)
        control.stop()

    return stop


def _joined(
    old: dict[str, list[float | None]], new: dict[str, list[float]]
) -> dict[str, list[float | None]]:
    """The file's history followed by this run's, name by name."""
    length = len(next(iter(old.values()), []))
    out: dict[str, list[float | None]] = {}
    for name in dict.fromkeys([*old, *new]):
        before = old.get(name, [None] * length)
        after: list[float | None] = list(new.get(name, [None] * len(next(iter(new.values())))))
        out[name] = [*before, *after]
    return out


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Keras's ``evaluate``: the loss and metrics of a model file on data."""
    model = open_model_file(args.model)
    if model.module is None:
        raise CliError(f"{args.model} holds an incomplete model; `layer-studio info` says why.")
    settings = model.training
    loaded = _data(args.data, model, training=False)
    data = loaded.test if loaded.test is not None else loaded.train
    problems = check_fit(model.graph, data, settings)
    if problems:
        raise CliError(" ".join(problems))
    output_name = model.graph.nodes[model_info(model.module).outputs[0]].name
    trainer = Trainer(
        model.module,
        dataclasses.replace(settings, device=args.device or settings.device),
        output_names=[output_name],
    )
    results = trainer.evaluate(data)
    part = "test part" if loaded.test is not None else "whole dataset"
    if args.json:
        print(json.dumps({"samples": len(data), "part": part} | results))
        return 0
    print(f"Evaluated on the {part} of {data.name}: {len(data):,} samples.")
    for name, value in results.items():
        print(f"  {name:<28} {value:.4f}")
    if data.task == "classification" and data.num_classes <= 20:
        probs = trainer.predict(data.x)
        predicted = (
            probs.argmax(axis=1)
            if probs.ndim == 2 and probs.shape[1] > 1
            else (probs.reshape(-1) > 0.5)
        )
        cm = confusion_matrix(
            np.asarray(predicted, dtype=np.int64), data.y.astype(np.int64), data.num_classes
        )
        names = data.class_names or [str(i) for i in range(data.num_classes)]
        print("\n  class            precision  recall  samples")
        for row in per_class_report(cm, names):
            print(
                f"  {row.name[:16]:<16} {row.precision:9.3f}  {row.recall:6.3f}  {row.support:7d}"
            )
    return 0


def add_commands(sub: Any) -> None:
    """The ``train`` and ``evaluate`` subcommands."""
    p = sub.add_parser("train", help="train a model file on data (Keras's fit) and save it")
    p.add_argument("model", metavar="MODEL.h5", help="a model file (studio or Keras .h5)")
    p.add_argument("--data", required=True, metavar="SPEC", help=DATA_HELP)
    p.add_argument("-o", "--output", metavar="OUT.h5", help="where to save (default: MODEL.h5)")
    p.add_argument("--epochs", type=int, metavar="N")
    p.add_argument("--batch-size", type=int, metavar="N")
    p.add_argument("--optimizer", metavar="NAME", help="sgd, adam, adamw, rmsprop, ...")
    p.add_argument("--lr", type=float, metavar="RATE", help="learning rate")
    p.add_argument("--loss", metavar="NAME", help="categorical_crossentropy, mse, ...")
    p.add_argument("--metrics", metavar="A,B", help="accuracy, precision, auc, ...")
    p.add_argument("--val-split", type=float, metavar="F", help="share kept for validation")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--seed", type=int, metavar="N")
    p.add_argument(
        "--adapt",
        action="store_true",
        help="change the Input shape and output units to fit the data",
    )
    p.add_argument(
        "--mixed-precision",
        action="store_true",
        help="16-bit maths where it is safe (CUDA GPUs only): faster, less memory",
    )
    p.add_argument("--json", action="store_true", help="one JSON line per epoch on stdout")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("evaluate", help="the loss and metrics of a model file on data")
    p.add_argument("model", metavar="MODEL.h5")
    p.add_argument("--data", required=True, metavar="SPEC", help=DATA_HELP)
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--json", action="store_true", help="the results as one JSON line")
    p.set_defaults(func=cmd_evaluate)


DATA_HELP = (
    "a built-in sample (digits, iris, moons:samples=2000), a CSV (data.csv:target=label), "
    "a .npz (x and y, or Keras's x_train ... y_test) or a folder of images or MNIST files"
)
