"""Evaluation off the GUI thread: a ``QObject`` on a ``QThread`` that runs
:func:`core.evaluation.evaluate_model` and says how it went with one signal."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from core.data.dataset import DataError, Dataset
from core.evaluation import evaluate_model
from core.training import EVAL_BATCH, Trainer, TrainingError


class EvaluationWorker(QObject):
    """Evaluates ``trainer``'s model on ``data`` in the thread it is moved to.

    The trainer must not train meanwhile (the window keeps Train disabled until ``finished``
    or ``failed``).

    Signals:
        finished(Evaluation): The results.
        failed(str): Why evaluation could not run, in plain words.
    """

    finished = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        trainer: Trainer,
        data: Dataset,
        batch_size: int = EVAL_BATCH,
        output_names: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        self.trainer, self.data, self.batch_size = trainer, data, batch_size
        self.output_names = output_names

    @Slot()
    def run(self) -> None:
        """Evaluate, then emit ``finished`` or ``failed`` (never raises)."""
        try:
            result = evaluate_model(
                self.trainer, self.data, self.batch_size, output_names=self.output_names
            )
        except (TrainingError, DataError, ValueError) as err:
            self.failed.emit(str(err))
        except Exception as err:  # a bug: say so, keep the window alive
            self.failed.emit(f"Evaluation stopped on an unexpected error: {err}")
        else:
            self.finished.emit(result)


def start(worker: EvaluationWorker) -> QThread:
    """Move ``worker`` to a new thread and start it; the thread ends after either signal.

    The caller keeps both alive until the thread's ``finished`` signal.
    """
    thread = QThread()
    thread.setObjectName("evaluation")
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    worker.failed.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    thread.start()
    return thread
