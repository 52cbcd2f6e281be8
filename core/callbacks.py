"""Keras's callbacks for ``fit`` (EarlyStopping, ReduceLROnPlateau, ...), the history of a run,
and :class:`Control`, which stops or pauses a run from another thread."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from core.training import Trainer


class CallbackError(ValueError):
    """A callback set up with values it cannot use."""


# -- callbacks -------------------------------------------------------------------------------


class Callback:
    """Keras's callback hooks; override the ones you need. ``trainer`` is set by ``fit``."""

    trainer: Trainer

    def on_train_begin(self, logs: dict[str, Any]) -> None: ...
    def on_train_end(self, logs: dict[str, Any]) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None: ...
    def on_batch_begin(self, batch: int, logs: dict[str, Any]) -> None: ...
    def on_batch_end(self, batch: int, logs: dict[str, Any]) -> None: ...


def _improved(value: float, best: float, mode: str, min_delta: float) -> bool:
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _mode(monitor: str, mode: str) -> str:
    if mode != "auto":
        return mode
    return (
        "max"
        if any(w in monitor for w in ("acc", "auc", "precision", "recall", "f1", "r2"))
        else "min"
    )


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs (Keras's defaults)."""

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        mode: str = "auto",
        restore_best_weights: bool = False,
    ) -> None:
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        self.mode, self.restore_best_weights = _mode(monitor, mode), restore_best_weights
        self.stopped_epoch: int | None = None

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait, self.stopped_epoch = 0, None
        self.best_state: dict[str, torch.Tensor] | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitor)
        if value is None:
            return
        if _improved(float(value), self.best, self.mode, self.min_delta):
            self.best, self.wait = float(value), 0
            if self.restore_best_weights:
                self.best_state = self.trainer.state()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True
            self.trainer.note(
                f"Stopped early after epoch {epoch + 1}: {self.monitor} stopped improving."
            )

    def on_train_end(self, logs: dict[str, Any]) -> None:
        """Go back to the best weights (Keras does, whether it stopped early or not)."""
        if self.restore_best_weights and self.best_state is not None:
            self.trainer.load_state(self.best_state)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stalls (Keras's defaults)."""

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        if not 0 < factor < 1:
            raise CallbackError("ReduceLROnPlateau's factor must be between 0 and 1.")
        self.monitor, self.factor, self.patience = monitor, factor, patience
        self.mode, self.min_delta = _mode(monitor, mode), min_delta
        self.cooldown, self.min_lr = cooldown, min_lr

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = self.cooling = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitor)
        if value is None:
            return
        if self.cooling > 0:
            self.cooling -= 1
            self.wait = 0
        if _improved(float(value), self.best, self.mode, self.min_delta):
            self.best, self.wait = float(value), 0
        elif self.cooling <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = self.trainer.learning_rate
                new = max(old * self.factor, self.min_lr)
                if new < old:
                    self.trainer.learning_rate = new
                    self.trainer.note(
                        f"Learning rate lowered to {new:.3g} after epoch {epoch + 1}."
                    )
                self.cooling, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch from ``schedule(epoch, lr)``."""

    def __init__(self, schedule: Callable[[int, float], float]) -> None:
        self.schedule = schedule

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        self.trainer.learning_rate = float(self.schedule(epoch, self.trainer.learning_rate))


class BestModelCheckpoint(Callback):
    """Keep the weights of the best epoch by ``monitor``; ``save`` (if given) is called with
    the trainer each time the best improves, to write a file."""

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: str = "auto",
        save: Callable[[Trainer], None] | None = None,
    ) -> None:
        self.monitor, self.mode, self.save = monitor, _mode(monitor, mode), save
        self.best_state: dict[str, torch.Tensor] | None = None
        self.best_epoch: int | None = None

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitor)
        if value is not None and _improved(float(value), self.best, self.mode, 0.0):
            self.best, self.best_epoch = float(value), epoch
            self.best_state = self.trainer.state()
            if self.save is not None:
                self.save(self.trainer)


class Control:
    """Stop, pause and resume a running ``fit`` from another thread (effective within a batch)."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # a paused run wakes up to stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> None:
        self._running.wait()


@dataclass
class History:
    """One dict of numbers per finished epoch (``loss``, ``accuracy``, ``val_loss``, ...)."""

    epochs: list[dict[str, float]] = field(default_factory=list)

    def as_keras(self) -> dict[str, list[float]]:
        """Keras's ``history.history``: a list of values per name."""
        names = list(dict.fromkeys(k for epoch in self.epochs for k in epoch))
        return {k: [e.get(k, math.nan) for e in self.epochs] for k in names}
