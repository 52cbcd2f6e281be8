"""Does the window stay responsive while a model trains, and does training in it lose speed?

The tutorial CNN (the ``mnist_cnn`` template: two Conv2D, MaxPooling2D, Dropout, Dense) trains
on random 28×28 images, batches of 128, on the CPU:

1. ``layer-studio train`` in a subprocess on the same data saved as a ``.npz`` (the reference,
   samples per second from its ``--json`` lines);
2. the real main window (offscreen unless ``--show``), Train pressed on the Train page, while a
   10 ms ``QTimer`` in the GUI thread records how late each tick comes (lateness = the time
   between two ticks minus 10 ms). The curves, the progress bar and the history are live.

Figures: the 50th, 99th percentile and worst lateness (goals: p99 < 50 ms, worst < 200 ms),
and the window's samples per second over the reference's (goal ≥ 0.9), each epoch after the
first (which pays for warming up) counted in both, as the median over ``--repeat`` pairs of
runs made one right after the other (this machine's speed drifts by 20 % from run to run).

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_responsiveness.py [--samples N]
        [--epochs N] [--batch-size N] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication

from core.compile import compile_graph
from core.data.arrays import from_arrays
from core.data.dataset import Dataset
from core.h5io import save_model
from core.templates import load_template
from core.training_settings import TrainingSettings


def make_data(samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(samples, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, size=samples).astype(np.int64)
    return x, y


def reference(model: Path, data: Path, epochs: int, batch: int) -> list[float]:
    """Samples per second of each epoch of ``layer-studio train`` (a separate process)."""
    out = subprocess.run(
        [sys.executable, "-m", "studio", "train", str(model), "--data", str(data),
         "--epochs", str(epochs), "--batch-size", str(batch), "--val-split", "0",
         "--device", "cpu", "--json", "-o", str(model.with_name("cli_out.h5"))],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return [float(line["samples_per_second"]) for line in lines]


def in_window(dataset: Dataset, epochs: int, batch: int) -> tuple[list[float], list[float]]:
    """Train in the main window; the lateness of each 10 ms tick (ms) and samples/s per epoch."""
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv)
    window = MainWindow(load_template("mnist_cnn"), restore_layout=False)
    window.training_data = lambda: (dataset, None)  # type: ignore[method-assign]
    window.resize(1400, 900)
    window.show()
    window.show_page(window.training_panel)
    form = window.training_panel.form
    form.set_settings(
        TrainingSettings(
            loss="sparse_categorical_crossentropy",
            epochs=epochs,
            batch_size=batch,
            validation_split=0.0,
            device="cpu",
        ),
        [],
    )
    late: list[float] = []
    clock = QElapsedTimer()
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    last = [0.0]

    def tick() -> None:
        now = clock.nsecsElapsed() / 1e6
        if window.session.running and last[0]:
            late.append(max(0.0, now - last[0] - 10.0))
        last[0] = now

    timer.timeout.connect(tick)
    clock.start()
    timer.start()
    for _ in range(20):  # draw the window once before training
        app.processEvents()
    loop = QEventLoop()  # as app.exec() would: the GUI thread sleeps until an event comes
    window.session.runningChanged.connect(lambda running: running or loop.quit())
    assert window.train(), window.training_panel.message.text()
    if window.session.running:
        loop.exec()
    timer.stop()
    speeds = [float(v) for v in window.history_values.get("samples_per_second", []) if v]
    window.weights_changed = False
    window.undo_stack.setClean()
    window.close()
    return late, speeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=6000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    x, y = make_data(args.samples)
    dataset = from_arrays(x, y, name="random 28×28")
    graph = load_template("mnist_cnn")
    with tempfile.TemporaryDirectory() as folder:
        model, data = Path(folder) / "cnn.h5", Path(folder) / "data.npz"
        save_model(model, graph, compile_graph(graph, seed=0))
        np.savez(data, x=x, y=y)
        cli_speeds, gui_speeds, lateness, ratios = [], [], [], []
        for _ in range(args.repeat):  # pairs, one right after the other: the machine's load
            cli_run = reference(model, data, args.epochs, args.batch_size)[1:]  # drifts
            late, speeds = in_window(dataset, args.epochs, args.batch_size)
            lateness += late
            cli_speeds += cli_run
            gui_speeds += speeds[1:]
            ratios.append(statistics.median(speeds[1:]) / statistics.median(cli_run))
    ticks = np.array(lateness)
    cli, gui = statistics.median(cli_speeds), statistics.median(gui_speeds)
    print(f"CNN on {args.samples:,} random 28×28 images, batch {args.batch_size}, "
          f"{args.epochs} epochs (the first left out), CPU, {os.cpu_count()} cores")  # fmt: skip
    print(f"  layer-studio train : {cli:8,.0f} samples/s")
    print(f"  in the window      : {gui:8,.0f} samples/s")
    shown = ", ".join(f"{r:.2f}" for r in ratios)
    print(f"  window / command line, median of pairs: {statistics.median(ratios):.2f} "
          f"(goal ≥ 0.90; pairs {shown})")  # fmt: skip
    print(
        f"  10 ms timer, {len(ticks):,} ticks while training: late by p50 "
        f"{np.percentile(ticks, 50):.1f} ms, p99 {np.percentile(ticks, 99):.1f} ms "
        f"(goal < 50), worst {ticks.max():.1f} ms (goal < 200)"
    )


if __name__ == "__main__":
    main()
