"""A layer's input or output port: the dot a wire starts or ends at."""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem

PORT_RADIUS = 5.0


class PortItem(QGraphicsEllipseItem):
    """Input port ``index`` (``output=False``) or output port ``index`` of a node item."""

    def __init__(self, parent: QGraphicsItem, index: int, output: bool) -> None:
        r = PORT_RADIUS
        super().__init__(QRectF(-r, -r, 2 * r, 2 * r), parent)
        self.index, self.output = index, output
        self.setBrush(QBrush(QColor("#f0f0f0")))
        self.setPen(QPen(QColor("#505050"), 1.2))
        self.setToolTip(f"{'Output' if output else 'Input'} {index + 1}")

    def highlight(self, compatible: bool | None) -> None:
        """Green for a port a wire may go to, dim for one it may not, plain when None."""
        colour = {True: "#2ca02c", False: "#c8c8c8", None: "#f0f0f0"}[compatible]
        self.setBrush(QBrush(QColor(colour)))
