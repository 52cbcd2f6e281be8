"""A wire between two ports: a curve labelled with the shape of the tensor it carries."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsSimpleTextItem

from core.graph import Edge


def wire_path(start: QPointF, end: QPointF) -> QPainterPath:
    """The curve of a wire from an output port (bottom of a layer) to an input port (top)."""
    path = QPainterPath(start)
    bend = max(30.0, abs(end.y() - start.y()) / 2)
    path.cubicTo(start + QPointF(0, bend), end - QPointF(0, bend), end)
    return path


class EdgeItem(QGraphicsPathItem):
    """Draws ``edge``; :meth:`set_ends` and :meth:`set_label` keep it current."""

    def __init__(self, edge: Edge) -> None:
        super().__init__()
        self.edge = edge
        self.setZValue(-1)
        self.setPen(QPen(QColor("#707070"), 1.8, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        self.label = QGraphicsSimpleTextItem(self)
        self.label.setBrush(QColor("#505050"))

    def set_ends(self, start: QPointF, end: QPointF) -> None:
        """Route the curve from an output port (top) down to an input port."""
        path = wire_path(start, end)
        self.setPath(path)
        middle = path.pointAtPercent(0.5)
        self.label.setPos(middle + QPointF(6, -8))

    def set_label(self, text: str) -> None:
        """The tensor's shape (``32×26×26``), or empty when unknown."""
        self.label.setText(text)
