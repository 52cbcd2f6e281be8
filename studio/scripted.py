"""The window driven from the command line: data chosen, the model fitted to it, a training run
started and a page shown, as a user would with the mouse. It makes the README's pictures of
the dashboard (``--screenshot`` with ``--train``), and starts a demo from a terminal."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Qt is imported when the window is, not for the other commands
    from ui.main_window import MainWindow

PAGES = ("model", "data", "train", "evaluate", "try")
#: The longest wait for data, a run or an evaluation when making a picture, in milliseconds.
WAIT_MS = 600_000


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="SPEC", help="choose this data (as `train --data`)")
    parser.add_argument(
        "--train", type=int, metavar="EPOCHS", help="with --data: fit the model to the data, "
        "then train it for EPOCHS epochs",
    )  # fmt: skip
    parser.add_argument("--page", choices=PAGES, help="the page to show")
    parser.add_argument(
        "--at-epoch", type=int, metavar="K", help="with --screenshot and --train: the picture "
        "after K epochs, mid-run (by default after the run, with its evaluation)",
    )  # fmt: skip


def check_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.train is not None and not args.data:
        parser.error("--train needs --data")
    if args.train is not None and not 1 <= args.train <= 100_000:
        parser.error("--train takes 1 to 100000 epochs")
    if args.at_epoch is not None and (args.train is None or not 1 <= args.at_epoch < args.train):
        parser.error("--at-epoch K needs --train N with 1 <= K < N")


def _wait(signal: object, done: object, timeout_ms: int = WAIT_MS, also: object = None) -> bool:
    """Run the event loop until ``done()`` is true (checked whenever ``signal``, or the
    ``also`` signal, fires)."""
    from PySide6.QtCore import QEventLoop, QTimer

    assert callable(done)
    if done():
        return True
    loop = QEventLoop()

    def check(*_: object) -> None:
        if done():
            loop.quit()

    for source in (signal, also):
        if source is not None:
            source.connect(check)  # type: ignore[attr-defined]
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    return bool(done())


def drive(window: MainWindow, args: argparse.Namespace) -> str | None:
    """Do what the options ask; an error message, or None when all went well."""
    from PySide6.QtWidgets import QApplication

    if args.data:
        panel = window.data_panel
        failures: list[str] = []
        panel.loadFailed.connect(failures.append)
        panel.show_spec(args.data)
        _wait(
            panel.dataChanged, lambda: failures or panel.loaded() is not None, also=panel.loadFailed
        )
        if failures or panel.loaded() is None:
            return failures[0] if failures else f"The data {args.data!r} did not load in time."
    if args.train is not None:
        error = _train(window, args)
        if error:
            return error
    if args.page:
        pages = {
            "model": window.model_page,
            "data": window.data_panel,
            "train": window.training_panel,
            "evaluate": window.evaluation_panel,
            "try": window.try_panel,
        }
        window.show_page(pages[args.page])
    if args.screenshot and window.evaluation_panel.busy:
        _wait(window.evaluation_panel.evaluated, lambda: not window.evaluation_panel.busy)
    QApplication.processEvents()
    return None


def _train(window: MainWindow, args: argparse.Namespace) -> str | None:
    panel = window.data_panel
    if panel.problems():
        panel.fix_button.click()  # what the user would press: "Fix the model for this data"
    if panel.problems():
        return " ".join(panel.problems())
    form = window.training_panel.form
    form.epochs.setValue(args.train)
    window.show_page(window.training_panel)
    if not window.train():
        return window.training_panel.message.text() or "Training could not start."
    session = window.session
    if args.screenshot and args.at_epoch is not None:
        reached = _wait(session.epochEnded, lambda: _epochs_done(window) >= args.at_epoch)
        _wait(session.progressed, lambda: _mid_epoch(window))  # the bar and curve mid-way
        return None if reached else "Training did not reach that epoch."
    if args.screenshot:
        _wait(session.runningChanged, lambda: not session.running)
    return None


def _epochs_done(window: MainWindow) -> int:
    return len(window.history_values.get("loss", []))


def _mid_epoch(window: MainWindow) -> bool:
    """Half way through the epoch after those done (or the run is over)."""
    if not window.session.running:
        return True
    epochs = max(1, window.training_panel.form.epochs.value())
    return window.training_panel.progress.value() >= (_epochs_done(window) + 0.5) / epochs * 1000


def stop(window: MainWindow) -> None:
    """End a run still going (after a picture), keeping nothing waiting."""
    if window.session.running:
        window.session.stop_and_wait()
    window.evaluation_panel.wait()
    window.weights_changed = False
