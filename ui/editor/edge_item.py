"""A wire between two ports: a curve labelled with the shape of the tensor it carries."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsSimpleTextItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from core.graph import Edge


def wire_path(start: QPointF, end: QPointF) -> QPainterPath:
    """The curve of a wire from an output port (bottom of a layer) to an input port (top)."""
    path = QPainterPath(start)
    bend = max(30.0, abs(end.y() - start.y()) / 2)
    path.cubicTo(start + QPointF(0, bend), end - QPointF(0, bend), end)
    return path


#: Below this zoom a wire's label is shortened to its first size, below the next one hidden.
SHORT_LABEL_ZOOM, NO_LABEL_ZOOM = 0.6, 0.35
#: How near (in scene pixels) a drop or a click must be to a wire to count as on it.
HIT_WIDTH = 14.0


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` moved a fraction ``t`` of the way to ``b`` (for colours drawn from the palette)."""
    ra, ga, ba = a.redF(), a.greenF(), a.blueF()
    return QColor.fromRgbF(
        ra + (b.redF() - ra) * t, ga + (b.greenF() - ga) * t, ba + (b.blueF() - ba) * t
    )


def short_label(text: str) -> str:
    """``32×26×26`` shortened for a far view: ``32×…``."""
    first, sep, _ = text.partition("×")
    return f"{first}×…" if sep else text


class ShapeLabel(QGraphicsSimpleTextItem):
    """A wire's shape text on a faint patch of the canvas colour, so a wire crossing behind it
    does not strike it through."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.ground = QColor(255, 255, 255, 210)

    def boundingRect(self) -> QRectF:
        return super().boundingRect().adjusted(-3, -1, 3, 1)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if self.text():
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(self.ground)
            painter.drawRoundedRect(self.boundingRect(), 3, 3)
        super().paint(painter, option, widget)  # type: ignore[arg-type]  # None is allowed


class EdgeItem(QGraphicsPathItem):
    """Draws ``edge``; :meth:`set_ends` and :meth:`set_label` keep it current."""

    def __init__(self, edge: Edge) -> None:
        super().__init__()
        self.edge = edge
        self.text = ""
        self.zoom = 1.0
        self.colour = QColor("#808080")
        self.setZValue(-1)
        self.setFlag(QGraphicsPathItem.GraphicsItemFlag.ItemIsSelectable)
        self.label = ShapeLabel(self)
        self.set_colours(self.colour, QColor("#606060"))

    def shape(self) -> QPainterPath:
        """A band around the curve (not the area it encloses), for hits and drops."""
        stroker = QPainterPathStroker()
        stroker.setWidth(HIT_WIDTH)
        return stroker.createStroke(self.path())

    def set_ends(self, start: QPointF, end: QPointF) -> None:
        """Route the curve from an output port (top) down to an input port."""
        path = wire_path(start, end)
        self.setPath(path)
        middle = path.pointAtPercent(0.5)
        self.label.setPos(middle + QPointF(6, -8))

    def set_label(self, text: str) -> None:
        """The tensor's shape (``32×26×26``), or empty when unknown."""
        self.text = text
        self._show_label()

    def set_zoom(self, zoom: float) -> None:
        """Shorten or hide the label when the view is zoomed out too far to read it."""
        self.zoom = zoom
        self._show_label()

    def set_colours(self, wire: QColor, label: QColor, ground: QColor | None = None) -> None:
        """Colours from the window's palette (light or dark); ``ground`` behind the label."""
        self.colour = wire
        self.label.setBrush(label)
        if ground is not None:
            self.label.ground = ground
        self.set_highlight(False)

    def set_highlight(self, on: bool) -> None:
        """Mark the wire a dragged layer would be inserted into."""
        on = on or self.isSelected()
        colour, width = (QColor("#1f77b4"), 3.2) if on else (self.colour, 1.8)
        self.setPen(QPen(colour, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        """A selected wire is drawn like a highlighted one (Del then disconnects it)."""
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self.set_highlight(False)
        return super().itemChange(change, value)

    def _show_label(self) -> None:
        if self.zoom < NO_LABEL_ZOOM:
            text = ""
        elif self.zoom < SHORT_LABEL_ZOOM:
            text = short_label(self.text)
        else:
            text = self.text
        if self.label.text() != text:
            self.label.setText(text)
