"""The canvas's view: layers dropped from the palette, zoom at the cursor, fit to view."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QPainter,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsView, QWidget

from ui.editor.scene import GraphScene
from ui.palette import kind_from_mime

ZOOM_STEP = 1.15
MIN_ZOOM, MAX_ZOOM = 0.1, 4.0


class GraphView(QGraphicsView):
    """Shows a :class:`GraphScene`; accepts layer kinds dragged from the palette."""

    def __init__(self, scene: GraphScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.graph_scene = scene
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)  # Qt delivers drops to the viewport
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if kind_from_mime(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if kind_from_mime(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        kind = kind_from_mime(event.mimeData())
        if not kind:
            event.ignore()
            return
        where = self.mapToScene(event.position().toPoint())
        self.graph_scene.add_layer(kind, where)
        event.acceptProposedAction()

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Zoom at the cursor, within sensible limits."""
        steps = event.angleDelta().y() / 120
        if not steps:
            return
        factor = ZOOM_STEP**steps
        zoom = self.transform().m11() * factor
        if MIN_ZOOM <= zoom <= MAX_ZOOM:
            self.scale(factor, factor)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Del or Backspace deletes the selected layers; F fits the model in the view."""
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.graph_scene.delete_selected()
            event.accept()
        elif event.key() == Qt.Key.Key_F and not event.modifiers():
            self.fit()
            event.accept()
        else:
            super().keyPressEvent(event)

    def fit(self) -> None:
        """Show the whole model."""
        rect = self.graph_scene.itemsBoundingRect().adjusted(-40, -40, 40, 40)
        if not rect.isEmpty():
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
