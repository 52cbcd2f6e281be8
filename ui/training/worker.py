"""Training off the GUI thread: a ``QObject`` on a ``QThread`` that runs ``Trainer.fit`` and turns
its callbacks into signals, throttled to what the eye needs.

The worker owns nothing the window edits: it trains the module it was given, and the window
keeps the canvas read-only until :attr:`TrainingWorker.finished` comes. Pause, resume and stop
go through :class:`core.callbacks.Control`, which the training loop reads between batches, so
they act within one batch and need no event loop in the worker's thread.

Per-batch points are gathered in the worker and sent at most :data:`EMIT_EVERY` seconds apart
(one signal for many batches): a fast model runs thousands of batches a second, and one queued
signal per batch would flood the GUI thread's event queue. Batch losses are read back from the
device only when they are sent.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from core.callbacks import Callback, Control
from core.data.dataset import Dataset
from core.training import Trainer, TrainingError

#: Seconds between two progress signals: 5 a second. Each one redraws the curves and the
#: progress bar (10-20 ms of the window's thread); at 10 a second the window took 14 % of the
#: training speed of two cores, at 5 about 5 % (benchmarks/gui_responsiveness.py).
EMIT_EVERY = 0.2


@dataclass(frozen=True)
class BatchProgress:
    """Where an epoch is, for the progress bar and the per-batch curve.

    Attributes:
        epoch: The epoch counted from 0 over the trainer's life (a continued run goes on).
        run_epoch: The epoch counted from 0 in this run.
        epochs: Epochs in this run.
        step: Batches done in this epoch.
        batches: Batches in an epoch.
        samples_per_second: Over this epoch so far.
        eta: Seconds until this run ends, estimated.
        points: New per-batch points since the last signal: (epochs as a decimal, that
            batch's loss). (Keras's progress bar shows the epoch's running mean instead, which
            drops at every epoch's start: a saw on a curve.)
    """

    epoch: int
    run_epoch: int
    epochs: int
    step: int
    batches: int
    samples_per_second: float
    eta: float
    points: list[tuple[float, float]] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        """How much of this run is done, from 0 to 1."""
        if self.epochs <= 0 or self.batches <= 0:
            return 0.0
        return min(1.0, (self.run_epoch + self.step / self.batches) / self.epochs)


@dataclass(frozen=True)
class Outcome:
    """How a run ended: ``done``, ``stopped`` (by the user or a callback) or ``failed``.

    ``message`` says what happened in words; ``details`` holds a traceback for a failure
    that is a bug rather than bad data or settings.
    """

    state: str
    message: str
    epochs_done: int
    details: str = ""


class _Relay(Callback):
    """Turns the trainer's callbacks into the worker's signals (in the worker's thread)."""

    def __init__(self, worker: TrainingWorker, batches: int, epochs: int) -> None:
        self.worker, self.batches, self.epochs = worker, batches, epochs
        self.run_epoch = -1
        self.losses: list[torch.Tensor] = []
        self.steps: list[int] = []
        self.last = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        self.run_epoch += 1
        self.epoch, self.started, self.seen = epoch, time.perf_counter(), 0
        self.losses, self.steps = [], []

    def on_batch_end(self, batch: int, logs: dict[str, Any]) -> None:
        self.seen += int(logs["size"])
        self.losses.append(logs["batch_loss"])
        self.steps.append(batch + 1)
        now = time.perf_counter()
        if now - self.last >= EMIT_EVERY or batch + 1 == self.batches:
            self.last = now
            self._send(batch + 1, now)

    def _send(self, step: int, now: float) -> None:
        values = torch.stack(self.losses).double().cpu().tolist() if self.losses else []
        points = [
            (self.epoch + s / self.batches, float(v))
            for s, v in zip(self.steps, values, strict=True)
        ]
        self.losses, self.steps = [], []
        spent = max(now - self.started, 1e-9)
        per_batch = spent / max(step, 1)
        left = (self.batches - step) + (self.epochs - self.run_epoch - 1) * self.batches
        self.worker.progressed.emit(
            BatchProgress(
                self.epoch,
                self.run_epoch,
                self.epochs,
                step,
                self.batches,
                self.seen / spent,
                per_batch * left,
                points,
            )
        )

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        record = {k: float(v) for k, v in logs.items()}
        self.worker.epochEnded.emit(epoch, record)


class TrainingWorker(QObject):
    """Runs one ``fit`` of ``trainer`` in the thread it is moved to (see :func:`start`).

    Signals:
        started(str): The device in use, in words (and why, when it is not the one asked for).
        progressed(BatchProgress): At most every :data:`EMIT_EVERY` seconds during an epoch.
        epochEnded(int, dict): The epoch (counted over the trainer's life) and its record.
        finished(Outcome): Always last, however the run ended.
    """

    started = Signal(str)
    progressed = Signal(object)
    epochEnded = Signal(int, object)
    finished = Signal(object)

    def __init__(
        self,
        trainer: Trainer | Callable[[], Trainer],
        train: Dataset,
        validation: Dataset | None,
        epochs: int,
        *,
        callbacks: list[Callback] | None = None,
    ) -> None:
        super().__init__()
        # A trainer to make in the worker's thread: the first optimizer of a process imports
        # torch._dynamo (seconds), which must not hold up the window.
        self.make = None if isinstance(trainer, Trainer) else trainer
        self.trainer: Trainer | None = trainer if isinstance(trainer, Trainer) else None
        self.train, self.validation = train, validation
        self.epochs = epochs
        self.callbacks = list(callbacks or [])
        self.control = Control()

    # -- from the GUI thread ------------------------------------------------------------------

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def stop(self) -> None:
        """Stop after the current batch; the weights keep what was learnt so far."""
        self.control.stop()

    @property
    def paused(self) -> bool:
        return self.control.paused

    # -- in the worker's thread ---------------------------------------------------------------

    @Slot()
    def run(self) -> None:
        if self.trainer is None:
            assert self.make is not None
            try:
                self.trainer = self.make()
            except TrainingError as err:
                self.finished.emit(Outcome("failed", str(err), 0))
                return
        trainer = self.trainer
        before = len(trainer.history.epochs)
        batches = max(1, math.ceil(len(self.train) / trainer.settings.batch_size))
        where = f"Training on the {trainer.device_name}."
        self.started.emit(f"{trainer.device_message} {where}".strip())
        relay = _Relay(self, batches, self.epochs)
        try:
            trainer.fit(
                self.train,
                self.validation,
                epochs=self.epochs,
                callbacks=[relay, *self.callbacks],
                control=self.control,
            )
        except TrainingError as err:
            outcome = Outcome("failed", str(err), len(trainer.history.epochs) - before)
        except Exception as err:  # a bug: say so, keep the window and the model alive
            outcome = Outcome(
                "failed",
                f"Training stopped on an unexpected error: {err}",
                len(trainer.history.epochs) - before,
                traceback.format_exc(),
            )
        else:
            done = len(trainer.history.epochs) - before
            if self.control.stopped or trainer.stop_training or done < self.epochs:
                notes = " ".join(trainer.notes[-1:])
                outcome = Outcome(
                    "stopped",
                    f"Stopped after {done} epoch{'s'[: done != 1]}; the model keeps what it "
                    f"learnt. {notes}".strip(),
                    done,
                )
            else:
                outcome = Outcome("done", f"Trained {done} epoch{'s'[: done != 1]}.", done)
        self.finished.emit(outcome)


def start(worker: TrainingWorker) -> QThread:
    """Move ``worker`` to a new thread and start it; the thread ends after ``finished``.

    The caller keeps both alive (a ``QThread`` destroyed while running aborts the program)
    until the thread's ``finished`` signal.
    """
    thread = QThread()
    thread.setObjectName("training")
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    # direct: quit() is thread-safe, and a GUI thread blocked in wait() runs no queued slot
    worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    thread.start()
    return thread
