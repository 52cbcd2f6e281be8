"""One model's training across runs: the trainer, its worker and thread, pause and stop.

A run continues the previous one (its history, the optimizer's state) when it trains the same
module with the same settings apart from the number of epochs, as calling Keras's ``fit``
again does; anything else starts a new trainer, as a new ``compile`` would.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, QThread, Signal
from torch import fx

from core.data.dataset import Dataset
from core.training import Trainer, TrainingError
from core.training_settings import TrainingSettings
from ui.training.worker import Outcome, TrainingWorker, start

#: Python's thread switch interval while a run goes, in seconds.
SWITCH_INTERVAL = 0.001


class TrainingSession(QObject):
    """Starts runs on a worker thread and relays their signals.

    Signals:
        started(str), progressed(BatchProgress), epochEnded(int, dict), finished(Outcome):
            the running worker's (see :class:`TrainingWorker`).
        runningChanged(bool): A run began, or ended and its thread is gone.
    """

    started = Signal(str)
    progressed = Signal(object)
    epochEnded = Signal(int, object)
    finished = Signal(object)
    runningChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.trainer: Trainer | None = None
        self.worker: TrainingWorker | None = None
        self.run_thread: QThread | None = None
        self.continued = False
        self._interval = sys.getswitchinterval()

    @property
    def running(self) -> bool:
        return self.run_thread is not None

    @property
    def paused(self) -> bool:
        return self.worker is not None and self.worker.paused

    def forget(self) -> None:
        """Drop the trainer (a new model): the next run starts afresh."""
        if not self.running:
            self.trainer = None

    def start(
        self,
        module: fx.GraphModule,
        settings: TrainingSettings,
        train: Dataset,
        validation: Dataset | None,
        output_names: Sequence[str],
    ) -> None:
        """Train ``module`` for ``settings.epochs`` more epochs on a worker thread.

        Raises:
            TrainingError: When a trainer cannot be made (the message says why).
            RuntimeError: When a run is already going.
        """
        if self.running:
            raise RuntimeError("A training run is already going.")
        old = self.trainer
        same = (
            old is not None
            and old.module is module
            and dataclasses.replace(old.settings, epochs=settings.epochs) == settings
        )
        trainer: Trainer | Callable[[], Trainer]
        if same and old is not None:
            old.settings = settings
            trainer = old
        else:
            names = list(output_names)
            trainer = lambda: Trainer(module, settings, output_names=names)  # noqa: E731
            self.trainer = None
        self.continued = same
        worker = TrainingWorker(trainer, train, validation, settings.epochs)
        worker.started.connect(self.started)
        worker.progressed.connect(self.progressed)
        worker.epochEnded.connect(self.epochEnded)
        worker.finished.connect(self._finished)
        self.worker = worker
        # The window's thread waits for the GIL at most this long while training holds it
        # (Python's default, 5 ms, made the window stutter on every redraw).
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        self.run_thread = start(worker)
        self.run_thread.finished.connect(self._thread_done)
        self.runningChanged.emit(True)

    def pause(self) -> None:
        if self.worker is not None:
            self.worker.pause()

    def resume(self) -> None:
        if self.worker is not None:
            self.worker.resume()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()

    def stop_and_wait(self, milliseconds: int = 30_000) -> bool:
        """Stop a run and wait for its thread (closing the window); False if it hung."""
        if self.run_thread is None:
            return True
        self.stop()
        self.resume()  # a paused run must wake up to see the stop
        thread = self.run_thread
        done = thread.wait(milliseconds)
        if done:
            self._thread_done()
        return done

    def _finished(self, outcome: Outcome) -> None:
        if self.worker is not None and self.worker.trainer is not None:
            self.trainer = self.worker.trainer
        self.finished.emit(outcome)

    def _thread_done(self) -> None:
        if self.run_thread is None:
            return
        self.run_thread.deleteLater()
        if self.worker is not None:
            self.worker.deleteLater()
        self.run_thread, self.worker = None, None
        sys.setswitchinterval(self._interval)
        self.runningChanged.emit(False)


__all__ = ["TrainingError", "TrainingSession"]
