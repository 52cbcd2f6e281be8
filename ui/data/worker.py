"""Data work off the GUI thread: loading a dataset, splitting it, reading a CSV for the wizard.

:class:`DataWorker` runs each job in Qt's global thread pool and hands its result back in the
GUI thread, with the ticket :meth:`DataWorker.submit` gave. Callers keep the newest ticket and
ignore older ones, so a slow job that finishes after a newer one never overwrites it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot

from core.data.dataset import DataError
from core.data.sources import failure_text

_log = logging.getLogger(__name__)


class _Relay(QObject):
    """Made in the pool thread for one job; its signals reach the worker queued."""

    done = Signal(int, object)
    failed = Signal(int, str)


class DataWorker(QObject):
    """Runs jobs in the thread pool; one object per panel or dialog.

    Signals:
        finished(int, object): A job's ticket and what it returned (in the GUI thread).
        failed(int, str): A job's ticket and why it failed, in words: a ``DataError``'s own
            message, otherwise ``Could not read WHAT: REASON``.
        busyChanged(bool): The first job started, or the last one ended.
    """

    finished = Signal(int, object)
    failed = Signal(int, str)
    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._next = 0
        self._pending: set[int] = set()

    @property
    def busy(self) -> bool:
        """Whether a job is still running."""
        return bool(self._pending)

    def submit(self, work: Callable[[], Any], what: str) -> int:
        """Run ``work()`` in a pool thread; ``what`` names the data for a failure message.

        Returns:
            The job's ticket, repeated by :attr:`finished` or :attr:`failed`.
        """
        self._next += 1
        ticket = self._next
        was_busy = self.busy
        self._pending.add(ticket)
        deliver_done, deliver_failed = self._done, self._failed

        def job() -> None:
            relay = _Relay()
            try:
                relay.done.connect(deliver_done)
                relay.failed.connect(deliver_failed)
            except RuntimeError:  # the worker is gone (its window closed): nobody is waiting
                return
            try:
                result = work()
            except DataError as err:
                relay.failed.emit(ticket, str(err))
            except Exception as err:  # a bug or an odd file: say so, keep the window alive
                _log.exception("Reading %s failed", what)
                relay.failed.emit(ticket, failure_text(err, what))
            else:
                relay.done.emit(ticket, result)

        QThreadPool.globalInstance().start(job)
        if not was_busy:
            self.busyChanged.emit(True)
        return ticket

    def wait(self, milliseconds: int = 30_000) -> bool:
        """Block until the pool is idle (closing a window, tests); False if it timed out."""
        return QThreadPool.globalInstance().waitForDone(milliseconds)

    @Slot(int, object)
    def _done(self, ticket: int, result: object) -> None:
        self._end(ticket)
        self.finished.emit(ticket, result)

    @Slot(int, str)
    def _failed(self, ticket: int, message: str) -> None:
        self._end(ticket)
        self.failed.emit(ticket, message)

    def _end(self, ticket: int) -> None:
        self._pending.discard(ticket)
        if not self._pending:
            self.busyChanged.emit(False)
