"""The canvas's view: drops from the palette, the quick-add popup, zoom, pan and the keyboard.

Keyboard map (the canvas has focus): Tab adds a layer (after the selected one, wired in);
arrows walk along the wires (Up/Down) and between neighbours (Left/Right), Shift+arrows add to
the selection, C connects two selected layers; Ctrl+arrows move the selected layers; Del
deletes layers and selected wires; F fits the model in the view; Ctrl+= and Ctrl+- zoom.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import (
    QContextMenuEvent,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsView, QWidget

from core.graph import Edge
from ui.editor.edge_item import EdgeItem, mix
from ui.editor.node_item import GRID, NODE_HEIGHT, NODE_WIDTH
from ui.editor.quick_add import QuickAddPopup
from ui.editor.scene import GraphScene
from ui.palette import kind_from_mime

ZOOM_STEP = 1.15
MIN_ZOOM, MAX_ZOOM = 0.1, 4.0


class GraphView(QGraphicsView):
    """Shows a :class:`GraphScene`; accepts layer kinds dragged from the palette."""

    def __init__(self, scene: GraphScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.graph_scene = scene
        self.setObjectName("canvas")
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)  # Qt delivers drops to the viewport
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        # only what the band encloses: a wire merely crossing it is not selected (Del would cut it)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.ContainsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.quick_add = QuickAddPopup(self)
        self.quick_add.chosen.connect(self._quick_added)
        self._quick_at = QPointF()  # where the popup's layer goes (scene)
        self._quick_edge: Edge | None = None  # the wire it goes on, when opened on one
        self._quick_after: str | None = None  # the layer it follows, when opened with Tab
        self._hovered: EdgeItem | None = None  # the wire a dragged layer would go on
        self._pan_from: QPoint | None = None
        self._walk_from: str | None = None  # where the keyboard walk is
        scene.apply_palette(self.palette())

    def changeEvent(self, event: QEvent) -> None:
        """Follow the system's switch between light and dark."""
        if event.type() == QEvent.Type.PaletteChange:
            self.graph_scene.apply_palette(self.palette())
        super().changeEvent(event)

    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        """The palette's base colour with a faint dot grid (every other snapping step)."""
        rect = QRectF(rect)
        painter.fillRect(rect, self.palette().base())
        if self.zoom() < 0.45:
            return
        step = 2 * GRID
        text, base = self.palette().text().color(), self.palette().base().color()
        painter.setPen(QPen(mix(base, text, 0.18), 1.5 / self.zoom()))
        left, top = math.floor(rect.left() / step) * step, math.floor(rect.top() / step) * step
        xs = [left + i * step for i in range(int((rect.right() - left) / step) + 1)]
        ys = [top + i * step for i in range(int((rect.bottom() - top) / step) + 1)]
        painter.drawPoints([QPointF(x, y) for x in xs for y in ys])

    # -- drops from the palette ------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if kind_from_mime(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if not kind_from_mime(event.mimeData()):
            event.ignore()
            return
        edge = self.graph_scene.edge_at(self.mapToScene(event.position().toPoint()))
        self._hover(self.graph_scene.edges.get(edge) if edge is not None else None)
        event.acceptProposedAction()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._hover(None)
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        """A layer dropped on a wire goes into it; anywhere else it is added unconnected."""
        self._hover(None)
        kind = kind_from_mime(event.mimeData())
        if not kind:
            event.ignore()
            return
        where = self.mapToScene(event.position().toPoint())
        self._add(kind, where, self.graph_scene.edge_at(where))
        event.acceptProposedAction()

    def _hover(self, item: EdgeItem | None) -> None:
        if item is self._hovered:
            return
        if self._hovered is not None and self._hovered.scene() is not None:
            self._hovered.set_highlight(False)
        self._hovered = item
        if item is not None:
            item.set_highlight(True)

    def _add(self, kind: str, where: QPointF, edge: Edge | None) -> None:
        corner = QPointF(where.x() - NODE_WIDTH / 2, where.y() - NODE_HEIGHT / 2)
        corner = QPointF(round(corner.x() / GRID) * GRID, round(corner.y() / GRID) * GRID)
        scene = self.graph_scene
        new = scene.insert_layer(kind, edge, corner) if edge else scene.add_layer(kind, corner)
        if new is not None:
            scene.select([new])

    # -- the quick-add popup ---------------------------------------------------------------

    def open_quick_add(self, at: QPoint | None = None) -> None:
        """Open the popup at viewport point ``at`` (the cursor, or the view's centre).

        On a wire, the layer goes into it; with one layer selected (and no point given, as
        with Tab), the layer follows it; otherwise it is added where the popup opened.
        """
        if at is None:
            inside = self.viewport().mapFromGlobal(self.cursor().pos())
            at = (
                inside
                if self.viewport().rect().contains(inside)
                else self.viewport().rect().center()
            )
            chosen = self.graph_scene.selected_ids()
            self._quick_after = chosen[0] if len(chosen) == 1 else None
        else:
            self._quick_after = None
        self._quick_at = self.mapToScene(at)
        self._quick_edge = self.graph_scene.edge_at(self._quick_at)
        if self._quick_after is not None:
            title = f"Add after {self.graph_scene.graph.nodes[self._quick_after].name}"
        elif self._quick_edge is not None:
            title = "Insert on this wire"
        else:
            title = "Add a layer"
        self.quick_add.open_at(self.viewport().mapToGlobal(at), title)

    def _quick_added(self, kind: str) -> None:
        scene = self.graph_scene
        if self._quick_after is not None and self._quick_after in scene.graph.nodes:
            new = scene.add_after(kind, self._quick_after)
            if new is not None:
                scene.select([new])
                self.ensureVisible(scene.nodes[new])
        else:
            self._add(kind, self._quick_at, self._quick_edge)
        self.setFocus()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """A right click on the canvas or on a wire opens the quick-add popup there."""
        item = self.itemAt(event.pos())
        if item is None or isinstance(item, EdgeItem) or isinstance(item.parentItem(), EdgeItem):
            self.open_quick_add(event.pos())
            event.accept()
        else:
            super().contextMenuEvent(event)

    # -- zoom and pan ----------------------------------------------------------------------

    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        """Zoom by ``factor`` around the cursor, within sensible limits."""
        factor = min(max(self.zoom() * factor, MIN_ZOOM), MAX_ZOOM) / self.zoom()
        self.scale(factor, factor)
        self.graph_scene.set_zoom(self.zoom())

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(ZOOM_STEP**steps)
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """The middle button pans (the left one selects, moves and wires)."""
        if event.button() == Qt.MouseButton.MiddleButton:
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            now = event.position().toPoint()
            delta, self._pan_from = now - self._pan_from, now
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() == Qt.MouseButton.MiddleButton:
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def fit(self) -> None:
        """Show the whole model (never magnified beyond its natural size)."""
        rect = self.graph_scene.itemsBoundingRect().adjusted(-40, -40, 40, 40)
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.0:
            self.resetTransform()
            self.centerOn(rect.center())
        self.graph_scene.set_zoom(self.zoom())

    # -- the keyboard ----------------------------------------------------------------------

    def focusNextPrevChild(self, next: bool) -> bool:
        """Tab belongs to the canvas (quick add); Shift+Tab still leaves it, as anywhere."""
        return super().focusNextPrevChild(next) if not next else False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, mods = Qt.Key(event.key()), event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        shift = Qt.KeyboardModifier.ShiftModifier
        arrows = {
            Qt.Key.Key_Left: (-1, 0),
            Qt.Key.Key_Right: (1, 0),
            Qt.Key.Key_Up: (0, -1),
            Qt.Key.Key_Down: (0, 1),
        }
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.graph_scene.delete_selected()
        elif key == Qt.Key.Key_F and not mods:
            self.fit()
        elif key == Qt.Key.Key_Tab and not mods:
            self.open_quick_add()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal) and ctrl:
            self.zoom_by(ZOOM_STEP)
        elif key == Qt.Key.Key_Minus and ctrl:
            self.zoom_by(1 / ZOOM_STEP)
        elif key in arrows and ctrl:
            dx, dy = arrows[key]
            self.graph_scene.nudge_selected(dx * GRID, dy * GRID)
        elif key in arrows and mods in (Qt.KeyboardModifier.NoModifier, shift):
            self._walk(*arrows[key], extend=mods == shift)
        elif key == Qt.Key.Key_C and not mods:
            self.graph_scene.connect_selected()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def _walk(self, dx: int, dy: int, extend: bool = False) -> None:
        """Select the next layer along the wires (Up/Down) or the nearest beside (Left/Right).

        With ``extend`` (Shift) the layer is added to the selection and the walk goes on from it.
        """
        scene, graph = self.graph_scene, self.graph_scene.graph
        chosen = scene.selected_ids()
        if not chosen:
            order = graph.topological_order()
            if order:
                scene.select([order[0]])
                self.ensureVisible(scene.nodes[order[0]])
            return
        here = self._walk_from if self._walk_from in chosen else chosen[0]
        x, y = graph.nodes[here].position
        if dy:  # along the wires, else the nearest layer above or below
            near = (
                [e.dst for e in graph.out_edges(here)]
                if dy > 0
                else [e.src for e in graph.in_edges(here).values()]
            )
            near = near or [
                n for n, node in graph.nodes.items() if (node.position[1] - y) * dy > 20
            ]
        else:
            near = [
                n
                for n, node in graph.nodes.items()
                if n != here and (node.position[0] - x) * dx > 0 and abs(node.position[1] - y) < 60
            ]
        if near:

            def distance(n: str) -> float:
                nx, ny = graph.nodes[n].position
                return abs(nx - x) + abs(ny - y)

            best = min(near, key=distance)
            scene.select([*chosen, best] if extend else [best])
            self._walk_from = best
            self.ensureVisible(scene.nodes[best])
