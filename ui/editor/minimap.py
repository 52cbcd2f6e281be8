"""The canvas's minimap: the whole model in miniature, with the part the canvas shows.

The minimap paints the layers itself, as coloured rectangles, and the wires as thin curves,
instead of showing the scene's real items a second time: at minimap scale a layer's text and
ports are invisible but still cost their full price to draw (a second ``QGraphicsView`` of a
500-layer scene takes 15-35 ms a repaint; this drawing takes about 1 ms, and reading the
scene about 2.5 ms). The drawing is kept in a pixmap (and a faded copy of it) and made again
only when the model or the selection changes, at most every :data:`REDRAW_MS` and never
while the minimap is hidden; scrolling or zooming the canvas only copies the two pixmaps
and draws the visible region's rectangle on top (well under a millisecond).

It follows the canvas by itself: the document (``document_changed``), the selection, layers
being dragged, scrolling and zooming (the scroll bars' signals, and a look at the visible
region whenever the canvas's viewport repaints or resizes, which catches every zoom).
Nothing needs calling from outside, except :meth:`MinimapView.set_view` when the window
shows another canvas; :meth:`MinimapView.refresh` redraws at once.
"""

from __future__ import annotations

import contextlib
from functools import cache

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QResizeEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from core.layers import get_spec
from ui.editor.node_item import NODE_HEIGHT, NODE_WIDTH, NodeItem
from ui.editor.view import ZOOM_STEP, GraphView
from ui.icons import category_colour

#: Scene units shown around the model (as :meth:`GraphView.fit`).
MARGIN = 40.0
#: Pixels between the minimap's frame and the model drawn in it.
PADDING = 6.0
#: A layer is never drawn smaller than this (pixels), however large the model.
MIN_NODE_PX = 2.0
#: The minimap redraws the model at most this often (ms) while it changes: edits, selections
#: and layers being dragged reach it this much later, off the path of the canvas's own update.
REDRAW_MS = 50
PROBLEM_COLOUR = "#d62728"


@cache
def _kind_colour(kind: str) -> QColor:
    return category_colour(get_spec(kind).category)


class MinimapView(QWidget):
    """The model of ``main`` in miniature; click or drag in it to move the canvas there.

    Put it in a layout or a dock as it is (about 220×160, :meth:`sizeHint`), or pass ``corner``
    to lay it over ``main`` in that corner, ``margin`` pixels in (it is then a child of
    ``main``, keeps its place as ``main`` resizes, and goes when ``main`` goes). The wheel
    over it zooms the canvas about the centre of what the canvas shows. Layers are drawn in
    their category's colour, the selected ones in the accent colour, those with a problem in
    red; what the canvas does not show is faded.
    """

    def __init__(
        self,
        main: GraphView | None,
        parent: QWidget | None = None,
        *,
        corner: Qt.Corner | None = None,
        margin: int = 12,
    ) -> None:
        super().__init__(main if corner is not None else parent)
        self.setObjectName("minimap")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Del and F stay with the canvas
        self.setToolTip("The whole model: click or drag to move the canvas, wheel to zoom")
        self._corner = corner
        self._margin = margin
        self._main: GraphView | None = None
        self._viewport: QWidget | None = None  # the canvas's, watched for repaints and resizes
        self._links: list[tuple[QObject, str, object]] = []
        self._dirty = True  # the model needs reading again
        self._picture: QPixmap | None = None  # the model drawn
        self._faded = QPixmap()  # the same, faded: where the canvas does not look
        self._groups: list[tuple[QColor, list[QRectF]]] = []  # layers drawn alike
        self._problems: list[QRectF] = []  # these two are drawn over the shade: never faded
        self._selected: list[QRectF] = []
        self._wires = QPainterPath()
        self._world = QRectF()  # the part of the scene the minimap shows
        self._transform = QTransform()  # scene -> minimap
        self._shown = QRectF()  # the canvas's visible region when last painted
        self._dragging = False
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(REDRAW_MS)
        self._redraw.timeout.connect(self.refresh)
        if corner is not None:
            self.resize(self.sizeHint())
        self.set_view(main)

    # -- following a canvas ------------------------------------------------------------------

    def set_view(self, main: GraphView | None) -> None:
        """Follow ``main`` (and its scene) from now on; ``None`` shows nothing."""
        self._unlink()
        self._main = main
        if main is not None:
            scene = main.graph_scene
            bars = (main.horizontalScrollBar(), main.verticalScrollBar())
            links: list[tuple[QObject, str, object]] = [
                (scene, "document_changed", self._changed),
                (scene, "selectionChanged", self._changed),
                (main, "destroyed", self._forget),
            ]
            for bar in bars:
                links += [(bar, "valueChanged", self._follow), (bar, "rangeChanged", self._follow)]
            for sender, name, slot in links:
                getattr(sender, name).connect(slot)
            self._links = links
            self._viewport = main.viewport()
            self._viewport.installEventFilter(self)
            if self._corner is not None:
                self._place()
        self.refresh()

    def refresh(self) -> None:
        """Read the model and the canvas's visible region again (drawn at the next paint)."""
        self._dirty = True
        self._picture = None
        self.update()

    def _changed(self) -> None:
        """The model or the selection changed: redraw soon (many changes, one redraw)."""
        self._dirty = True  # what the minimap is asked (scene_rect, ...) is current at once
        if not self._redraw.isActive():
            self._redraw.start()

    def _unlink(self) -> None:
        for sender, name, slot in self._links:
            with contextlib.suppress(RuntimeError, TypeError):  # the sender is gone already
                getattr(sender, name).disconnect(slot)
        self._links = []
        if self._viewport is not None:
            with contextlib.suppress(RuntimeError):
                self._viewport.removeEventFilter(self)
            self._viewport = None

    def _forget(self) -> None:
        self._links, self._main, self._viewport = [], None, None
        self.refresh()

    def _follow(self) -> None:
        """Repaint if the canvas's visible region moved (cheap: one mapping, one compare)."""
        shown = self.visible_region()
        if shown != self._shown:
            self._shown = shown
            self.update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._main is None or watched is not self._viewport:
            return False
        kind = event.type()
        try:
            if kind == QEvent.Type.Paint:  # zooming repaints; scroll signals may not come
                self._follow()
            elif kind == QEvent.Type.Resize:
                self._follow()
                if self._corner is not None:
                    self._place()
            elif (
                kind == QEvent.Type.MouseMove
                and not self._redraw.isActive()
                and isinstance(self._main.graph_scene.mouseGrabberItem(), NodeItem)
            ):  # layers are moving: the document only hears of it on release
                self._redraw.start()
        except RuntimeError:  # the canvas is being destroyed (its viewport outlives it briefly)
            self._main = None
        return False

    def _place(self) -> None:
        """Sit in the chosen corner of the canvas's viewport."""
        if self._main is None or self._corner is None:
            return
        area, m = self._main.viewport().geometry(), self._margin
        # a small canvas gets a small minimap: at most about a quarter of it is covered
        hint = self.sizeHint()
        want = QSize(
            max(80, min(hint.width(), int(area.width() * 0.26))),
            max(60, min(hint.height(), int(area.height() * 0.26))),
        )
        if want != self.size():
            self.resize(want)  # resizeEvent places it again
            return
        size = self.size()
        left = self._corner in (Qt.Corner.TopLeftCorner, Qt.Corner.BottomLeftCorner)
        top = self._corner in (Qt.Corner.TopLeftCorner, Qt.Corner.TopRightCorner)
        x = area.left() + m if left else area.right() + 1 - m - size.width()
        y = area.top() + m if top else area.bottom() + 1 - m - size.height()
        self.move(x, y)
        self.raise_()

    # -- geometry ----------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(220, 160)

    def minimumSizeHint(self) -> QSize:
        return QSize(80, 60)

    def visible_region(self) -> QRectF:
        """The part of the scene the canvas shows now (scene coordinates)."""
        if self._main is None:
            return QRectF()
        return self._main.mapToScene(self._main.viewport().rect()).boundingRect()

    def scene_rect(self) -> QRectF:
        """The part of the scene the minimap shows: the model with a margin."""
        self._current()
        return QRectF(self._world)

    def map_from_scene(self, point: QPointF) -> QPointF:
        """Where a scene point is drawn in the minimap (widget coordinates)."""
        self._current()
        return self._transform.map(point)

    def map_to_scene(self, point: QPointF) -> QPointF:
        """The scene point drawn at ``point`` of the minimap."""
        self._current()
        inverse, _ = self._transform.inverted()
        return inverse.map(point)

    def indicator_rect(self) -> QRectF:
        """The rectangle drawn for the canvas's visible region (widget coordinates)."""
        self._current()
        return self._transform.mapRect(self.visible_region())

    def _current(self) -> None:
        """Read the model now if it changed (and draw it at the next paint)."""
        if self._dirty:
            self._read()
            self.update()

    def _read(self) -> None:
        """Take the layers' places and states and the wires from the scene, if they changed."""
        if not self._dirty:
            return
        self._dirty = False
        self._redraw.stop()
        self._picture = None
        self._wires = QPainterPath()
        plain: dict[str, list[QRectF]] = {}  # by kind
        problems: list[QRectF] = []
        selected: list[QRectF] = []
        xs: list[float] = []
        ys: list[float] = []
        if self._main is not None:
            scene = self._main.graph_scene
            for node in scene.nodes.values():
                if not node.isVisible():
                    continue
                pos = node.scenePos()
                x, y = pos.x(), pos.y()
                rect = QRectF(x, y, NODE_WIDTH, NODE_HEIGHT)
                xs.append(x)
                ys.append(y)
                if node.isSelected():
                    selected.append(rect)
                elif node.problem:
                    problems.append(rect)
                else:
                    plain.setdefault(node.kind, []).append(rect)
            for wire in scene.edges.values():
                if wire.isVisible():
                    self._wires.addPath(wire.mapToScene(wire.path()))
        self._groups = [(_kind_colour(kind), rects) for kind, rects in plain.items()]
        self._problems, self._selected = problems, selected
        if xs:
            bounds = QRectF(min(xs), min(ys), 0, 0)
            bounds.setBottomRight(QPointF(max(xs) + NODE_WIDTH, max(ys) + NODE_HEIGHT))
            bounds = bounds.united(self._wires.boundingRect())
        else:
            bounds = self.visible_region()
        self._world = bounds.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
        self._fit()

    def _fit(self) -> None:
        inner = QRectF(self.rect()).adjusted(PADDING, PADDING, -PADDING, -PADDING)
        world = self._world
        if world.isEmpty() or inner.isEmpty():
            self._transform = QTransform()
            return
        scale = min(inner.width() / world.width(), inner.height() / world.height())
        centre = world.center()
        self._transform = (
            QTransform()
            .translate(inner.center().x(), inner.center().y())
            .scale(scale, scale)
            .translate(-centre.x(), -centre.y())
        )

    # -- drawing -----------------------------------------------------------------------------

    def _colours(self) -> tuple[QColor, QColor, QColor]:
        """Background, frame and wire colours from the palette (light or dark)."""
        palette = self.palette()
        base = palette.color(QPalette.ColorRole.Base)
        window = palette.color(QPalette.ColorRole.Window)
        text = palette.color(QPalette.ColorRole.Text)
        dark = base.lightnessF() < 0.5
        background = window.lighter(115) if dark else window.lighter(104)
        frame = QColor(text)
        frame.setAlphaF(0.22)
        wire = QColor(text)
        wire.setAlphaF(0.35 if dark else 0.3)
        return background, frame, wire

    def _draw_model(self) -> QPixmap:
        ratio = self.devicePixelRatioF()
        pixmap = QPixmap(self.size() * ratio)
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        background, frame, wire = self._colours()
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(frame, 1))
        painter.setBrush(background)
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        transform = self._transform
        scale = transform.m11()
        pen = QPen(wire, 1.0 if scale > 0.08 else 0.7)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(transform.map(self._wires))
        painter.setTransform(transform)
        large = 7.0 * scale >= 1  # a small model: layers a few pixels high or more
        for colour, rects in self._groups:
            # outlined when large; when tiny, a pen of their colour keeps them visible
            pen = QPen(colour.darker(135), 1) if large else QPen(colour, MIN_NODE_PX / 2)
            self._draw_layers(painter, rects, pen, colour)
        painter.end()
        return pixmap

    def _draw_layers(self, painter: QPainter, rects: list[QRectF], pen: QPen, fill: QColor) -> None:
        """Draw layers (scene rectangles; the painter maps the scene) with a cosmetic pen."""
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(fill)
        scale = self._transform.m11()
        if 7.0 * scale >= 1:
            radius = min(7.0, 3.0 / scale)  # scene units: as the canvas's, at most 3 pixels
            for rect in rects:
                painter.drawRoundedRect(rect, radius, radius)
        else:
            painter.drawRects(rects)

    def paintEvent(self, event: QPaintEvent) -> None:
        if self._picture is None or not self._redraw.isActive():
            self._read()  # else keep the drawing a moment: a redraw is on its way
        if self._picture is None:
            self._picture = self._draw_model()
            self._faded = QPixmap(self._picture)
            shade = QPainter(self._faded)
            shade.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceAtop)
            colour = self._colours()[0]
            colour.setAlphaF(0.5)
            shade.fillRect(self.rect(), colour)
            shade.end()
        painter = QPainter(self)
        self._shown = self.visible_region()
        if self._main is None or self._shown.isEmpty():
            painter.drawPixmap(0, 0, self._picture)
            return
        # two copies, no drawing: the model faded, and in full where the canvas looks
        painter.drawPixmap(0, 0, self._faded)
        region = self._transform.mapRect(self._shown)
        clear = region.toAlignedRect().intersected(self.rect())
        if not clear.isEmpty():
            ratio = self._picture.devicePixelRatio()
            source = QRectF(QPointF(clear.topLeft()) * ratio, QRectF(clear).size() * ratio)
            painter.drawPixmap(QRectF(clear), self._picture, source)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        accent = self.palette().color(QPalette.ColorRole.Highlight)
        if self._problems or self._selected:
            painter.setTransform(self._transform)
            gap = self._colours()[0]
            marked = ((self._problems, QColor(PROBLEM_COLOUR)), (self._selected, accent))
            for rects, colour in marked:
                if rects:  # set off from their neighbours by a gap
                    self._draw_layers(painter, rects, QPen(gap, MIN_NODE_PX + 2), gap)
                    self._draw_layers(painter, rects, QPen(colour, MIN_NODE_PX / 2), colour)
            painter.resetTransform()
        fill = QColor(accent)
        fill.setAlphaF(0.08)
        painter.setPen(QPen(accent, 1.5))
        painter.setBrush(fill)
        painter.setClipRect(self.rect().adjusted(1, 1, -1, -1))
        painter.drawRoundedRect(region, 2, 2)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._fit()
        self._picture = None
        if self._corner is not None:
            self._place()
        super().resizeEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self.refresh()
        super().changeEvent(event)

    # -- steering the canvas -----------------------------------------------------------------

    def _centre_at(self, point: QPointF) -> None:
        if self._main is not None:
            self._main.centerOn(self.map_to_scene(point))
            self._follow()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._main is None:
            super().mousePressEvent(event)
            return
        self._dragging = True
        self.setCursor(Qt.CursorShape.ClosedHandCursor)
        self._centre_at(event.position())
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._dragging:
            self._centre_at(event.position())
            event.accept()
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._dragging and event.button() == Qt.MouseButton.LeftButton:
            self._dragging = False
            self.unsetCursor()
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Zoom the canvas about the centre of what it shows, within its limits."""
        steps = event.angleDelta().y() / 120
        if steps and self._main is not None:
            centre = self.visible_region().center()
            self._main.zoom_by(ZOOM_STEP**steps)
            self._main.centerOn(centre)
        event.accept()
