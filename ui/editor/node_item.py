"""A layer on the canvas: its kind and key params, its name, its ports and a problem badge."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from core.graph import Node
from core.layers import format_shape, get_spec
from ui.editor.port_item import PortItem
from ui.icons import category_colour

NODE_WIDTH = 190.0
NODE_HEIGHT = 52.0
#: Layers snap to this grid when moved.
GRID = 10.0
#: Below this zoom a layer shows only its kind, in a larger font.
FAR_ZOOM = 0.55


def key_params(kind: str, params: Mapping[str, Any]) -> str:
    """The few params that say what a layer is: ``Conv2D · 32 · 3×3 · relu``."""
    parts = [kind]
    for name in ("units", "filters", "rate", "target_shape", "shape", "pool_size", "kernel_size"):
        value = params.get(name)
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            parts.append(format_shape(value))
        else:
            parts.append(str(value))
    activation = params.get("activation")
    if activation and activation != "linear":
        parts.append(str(activation))
    return " · ".join(parts)


class NodeItem(QGraphicsItem):
    """Draws one node of the graph; the scene keeps it in step with the document."""

    def __init__(self, node: Node, inputs: int, outputs: int) -> None:
        super().__init__()
        self.node_id = node.id
        self.kind = node.kind
        self.title = ""
        self.name = ""
        self.problem = ""
        self._syncing = False
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges
        )
        self.setAcceptHoverEvents(True)
        self.inputs = [PortItem(self, i, False) for i in range(inputs)]
        self.outputs = [PortItem(self, i, True) for i in range(outputs)]
        self._place_ports()
        self.update_from(node)

    def _place_ports(self) -> None:
        for ports, y in ((self.inputs, 0.0), (self.outputs, NODE_HEIGHT)):
            for i, port in enumerate(ports):
                port.setPos(NODE_WIDTH * (i + 1) / (len(ports) + 1), y)

    def update_from(self, node: Node) -> None:
        """Take the node's name, params and position."""
        self.title = key_params(node.kind, node.params)
        self.name = node.name
        self.setToolTip(f"{node.name}: {get_spec(node.kind).help}")
        if self.pos() != QPointF(*node.position):
            self._syncing = True  # the document's place, exactly: no snapping
            self.setPos(QPointF(*node.position))
            self._syncing = False
        self.update()

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        """Snap to the grid while moving, and let the wires follow."""
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange and not self._syncing:
            return QPointF(round(value.x() / GRID) * GRID, round(value.y() / GRID) * GRID)
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            scene = self.scene()
            if scene is not None and hasattr(scene, "reroute"):
                scene.reroute(self.node_id)
        return super().itemChange(change, value)

    def set_problem(self, text: str) -> None:
        """Show a badge when ``text`` is not empty (its message on hover)."""
        self.problem = text
        self.setToolTip(text or f"{self.name}: {get_spec(self.kind).help}")
        self.update()

    def port_position(self, index: int, output: bool) -> QPointF:
        """Where a wire meets port ``index``, in scene coordinates."""
        ports = self.outputs if output else self.inputs
        return self.mapToScene(ports[index].pos()) if index < len(ports) else self.scenePos()

    def boundingRect(self) -> QRectF:
        return QRectF(-2, -2, NODE_WIDTH + 4, NODE_HEIGHT + 4)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < 0.15:  # a few pixels wide: a block of the category's colour is all that shows
            painter.setPen(Qt.PenStyle.NoPen)
            if self.problem:
                painter.setBrush(QColor("#d62728"))
            elif self.isSelected():
                painter.setBrush(QColor("#1f77b4"))
            else:
                painter.setBrush(category_colour(get_spec(self.kind).category))
            painter.drawRect(QRectF(0, 0, NODE_WIDTH, NODE_HEIGHT))
            return
        scene = self.scene()
        palette = widget.palette() if widget is not None else scene.palette()  # render(): no widget
        base, text = palette.base().color(), palette.text().color()
        colour = category_colour(get_spec(self.kind).category)
        rect = QRectF(0, 0, NODE_WIDTH, NODE_HEIGHT)
        selected = self.isSelected()
        pen = QPen(
            QColor("#d62728") if self.problem else colour.darker(130), 2.4 if selected else 1.4
        )
        if selected:
            pen.setColor(QColor("#1f77b4") if not self.problem else pen.color())
        painter.setPen(pen)
        painter.setBrush(QBrush(base))
        painter.drawRoundedRect(rect, 7, 7)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(QRectF(0, 0, 6, NODE_HEIGHT), 3, 3)
        painter.setPen(text)
        font = QFont(painter.font())
        font.setBold(True)
        if lod < FAR_ZOOM:  # far away: the kind alone, large enough to read, or nothing
            if lod >= 0.15:
                font.setPixelSize(max(8, min(30, round(11 / lod))))
                painter.setFont(font)
                label = QFontMetricsF(font).elidedText(
                    self.kind, Qt.TextElideMode.ElideRight, NODE_WIDTH - 18
                )
                painter.drawText(rect.adjusted(12, 0, -6, 0), Qt.AlignmentFlag.AlignVCenter, label)
        else:
            painter.setFont(font)
            inner = rect.adjusted(12, 6, -8, -NODE_HEIGHT / 2)
            title = QFontMetricsF(font).elidedText(
                self.title, Qt.TextElideMode.ElideRight, inner.width()
            )
            painter.drawText(inner, Qt.AlignmentFlag.AlignVCenter, title)
            font.setBold(False)
            painter.setFont(font)
            dim = QColor(text).lighter(160) if text.lightnessF() < 0.5 else text.darker(140)
            painter.setPen(dim)
            below = rect.adjusted(12, NODE_HEIGHT / 2, -8, -6)
            name = QFontMetricsF(font).elidedText(
                self.name, Qt.TextElideMode.ElideMiddle, below.width()
            )
            painter.drawText(below, Qt.AlignmentFlag.AlignVCenter, name)
        if self.problem:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#d62728"))
            painter.drawEllipse(QPointF(NODE_WIDTH - 10, 10), 7, 7)
            painter.setPen(QColor("#ffffff"))
            painter.drawText(QRectF(NODE_WIDTH - 17, 3, 14, 14), Qt.AlignmentFlag.AlignCenter, "!")
