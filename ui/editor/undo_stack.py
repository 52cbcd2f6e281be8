"""The document's undo stack, which can be locked: while a model trains, edits are refused."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import QWidget


class GuardedUndoStack(QUndoStack):
    """The document's undo stack; while :attr:`locked` it refuses every new edit, saying why.

    Every edit of the document is pushed here (the editor's one path), so this is the one
    place that can keep a training run's module and the graph from drifting apart.
    """

    refused = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.locked: str | None = None
        self._refused_macros = 0  # macros begun while locked, not passed on

    def push(self, cmd: QUndoCommand) -> None:
        if self.locked is not None:
            if not self._refused_macros:  # one message for a whole macro
                self.refused.emit(self.locked)
            return
        super().push(cmd)

    def beginMacro(self, text: str) -> None:
        if self.locked is not None or self._refused_macros:
            if not self._refused_macros:
                self.refused.emit(self.locked or "")
            self._refused_macros += 1
            return
        super().beginMacro(text)

    def endMacro(self) -> None:
        if self._refused_macros:
            self._refused_macros -= 1
            return
        super().endMacro()
