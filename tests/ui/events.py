"""Events a user's hand makes, for the widget tests."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget


def wheel(widget: QWidget, at: QPointF, notches: int = 1) -> None:
    """Turn the mouse wheel ``notches`` steps (away from the user) over ``at`` in ``widget``."""
    event = QWheelEvent(
        at,
        QPointF(widget.mapToGlobal(at.toPoint())),
        QPoint(0, 0),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def hover(widget: QWidget, at: QPoint) -> None:
    """Move the mouse, no button held, to ``at`` in ``widget`` (a move event sent straight to
    it: ``QTest.mouseMove`` makes none when the cursor is already there, or when another
    window last had the mouse)."""
    event = QMouseEvent(
        QEvent.Type.MouseMove,
        QPointF(at),
        QPointF(widget.mapToGlobal(at)),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)
