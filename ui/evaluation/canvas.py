"""A square to draw a digit in with the mouse: a thick white pen on black, as in MNIST."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

#: The drawing's own resolution (pixels a side), whatever the widget's size on screen.
RESOLUTION = 280
#: The pen's width in drawing pixels: a stroke about as thick, relative to the digit, as MNIST's.
PEN_WIDTH = 22.0


class DrawingCanvas(QWidget):
    """Draw with the left mouse button; :meth:`ink` reads the drawing back.

    Signals:
        drawn(): A stroke ended (the mouse button was released).
        cleared(): The drawing was wiped (:meth:`clear`).
    """

    drawn = Signal()
    cleared = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image = QImage(RESOLUTION, RESOLUTION, QImage.Format.Format_Grayscale8)
        self.image.fill(Qt.GlobalColor.black)
        self._last: QPointF | None = None
        self._blank = True
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw a digit with the mouse, as big as the square.")

    def sizeHint(self) -> QSize:
        return QSize(RESOLUTION, RESOLUTION)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    # -- the drawing ----------------------------------------------------------------------

    def clear(self) -> None:
        """Wipe the drawing."""
        self.image.fill(Qt.GlobalColor.black)
        self._blank = True
        self.update()
        self.cleared.emit()

    def is_blank(self) -> bool:
        """Whether nothing has been drawn since the last :meth:`clear`."""
        return self._blank

    def ink(self) -> np.ndarray:
        """The drawing as ``(RESOLUTION, RESOLUTION)`` float32, 0 (black) to 1 (white ink)."""
        bits = self.image.constBits()
        stride = self.image.bytesPerLine()
        rows = np.frombuffer(bits, np.uint8).reshape(RESOLUTION, stride)[:, :RESOLUTION]
        return rows.astype(np.float32) / 255

    def square(self) -> QRectF:
        """Where the drawing is shown in the widget (the largest centred square)."""
        side = float(min(self.width(), self.height()))
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def to_drawing(self, point: QPointF) -> QPointF:
        """A widget position in drawing pixels."""
        square = self.square()
        scale = RESOLUTION / max(1.0, square.width())
        return QPointF((point.x() - square.left()) * scale, (point.y() - square.top()) * scale)

    def stroke(self, a: QPointF, b: QPointF) -> None:
        """Draw a line from ``a`` to ``b`` (drawing pixels)."""
        painter = QPainter(self.image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor("white"), PEN_WIDTH)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        painter.drawLine(a, b)
        painter.end()
        self._blank = False
        self.update()

    # -- events ---------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        self._last = self.to_drawing(event.position())
        self.stroke(self._last, self._last)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._last is None:
            super().mouseMoveEvent(event)
            return
        point = self.to_drawing(event.position())
        self.stroke(self._last, point)
        self._last = point
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._last is None or event.button() != Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        self.stroke(self._last, self.to_drawing(event.position()))
        self._last = None
        event.accept()
        self.drawn.emit()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        square = self.square()
        painter.drawImage(square, self.image)
        if self._blank:
            painter.setPen(QColor(150, 150, 150))
            painter.drawText(square, Qt.AlignmentFlag.AlignCenter, "Draw here")
