"""The minimap shows the whole model and the canvas's visible region, and steers the canvas."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QHBoxLayout, QWidget

from core.graph import Graph
from core.templates import load_template
from tests.ui.events import wheel
from ui.editor.minimap import MinimapView
from ui.editor.scene import GraphScene
from ui.editor.view import MIN_ZOOM, GraphView


class Canvas(NamedTuple):
    scene: GraphScene
    view: GraphView
    minimap: MinimapView
    window: QWidget  # holds the others (qtbot only keeps a weak reference)


def make(qtbot, **kwargs) -> Canvas:
    """The tutorial CNN on an 800×600 canvas zoomed in 3×, with a minimap beside it."""
    scene = GraphScene(load_template("mnist_cnn"))
    window = QWidget()
    layout = QHBoxLayout(window)
    view = GraphView(scene)
    layout.addWidget(view)
    minimap = MinimapView(view, **kwargs)
    if minimap.parent() is None:
        layout.addWidget(minimap, 0, Qt.AlignmentFlag.AlignTop)
    qtbot.addWidget(window)
    view.setMinimumSize(800, 600)
    window.resize(1100, 640)
    window.show()
    qtbot.waitExposed(window)
    view.scale(3, 3)
    qtbot.wait(1)
    return Canvas(scene, view, minimap, window)


def visible(view: GraphView) -> QRectF:
    return view.mapToScene(view.viewport().rect()).boundingRect()


def close(a: QRectF, b: QRectF, tolerance: float) -> bool:
    return all(
        abs(x - y) <= tolerance
        for x, y in zip(
            (a.left(), a.top(), a.right(), a.bottom()),
            (b.left(), b.top(), b.right(), b.bottom()),
            strict=True,
        )
    )


def pixel_tolerance(minimap: MinimapView) -> float:
    """One minimap pixel, in scene units."""
    return 1 / (minimap.map_from_scene(QPointF(1, 0)).x() - minimap.map_from_scene(QPointF()).x())


def shown_in_minimap(minimap: MinimapView) -> QRectF:
    """The visible region as the minimap draws it, back in scene coordinates."""
    drawn = minimap.indicator_rect()
    return QRectF(minimap.map_to_scene(drawn.topLeft()), minimap.map_to_scene(drawn.bottomRight()))


def distance(a: QColor, b: QColor) -> int:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())


def accent_pixels(image: QImage, accent: QColor) -> int:
    pixels = (image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height()))
    return sum(distance(c, accent) < 40 for c in pixels)


def test_the_visible_region_follows_the_canvas(qtbot) -> None:
    scene, view, minimap, _window = make(qtbot)
    tolerance = 1.5 / minimap.indicator_rect().width() * visible(view).width()
    assert visible(view).width() < scene.itemsBoundingRect().width() * 3  # really zoomed in
    assert close(shown_in_minimap(minimap), visible(view), tolerance)
    model = scene.itemsBoundingRect()
    assert minimap.scene_rect().contains(model)
    assert QRectF(minimap.rect()).contains(minimap.indicator_rect())

    before = minimap.indicator_rect()
    view.verticalScrollBar().setValue(view.verticalScrollBar().maximum())
    view.horizontalScrollBar().setValue(view.horizontalScrollBar().minimum())
    qtbot.wait(1)
    assert close(shown_in_minimap(minimap), visible(view), tolerance)
    assert minimap.indicator_rect().top() > before.top() + 5  # it moved down

    view.scale(0.5, 0.5)  # zooming out: a bigger region
    assert close(shown_in_minimap(minimap), visible(view), 2 * tolerance)
    assert minimap.indicator_rect().width() > before.width() * 1.8


def test_the_region_is_drawn_in_the_accent_colour(qtbot) -> None:
    _, view, minimap, _window = make(qtbot)
    accent = minimap.palette().color(QPalette.ColorRole.Highlight)
    image = minimap.grab().toImage()
    drawn = minimap.indicator_rect().toRect()
    top = drawn.top() if drawn.top() > 1 else drawn.bottom()
    edge = [image.pixelColor(x, top) for x in range(drawn.left() + 3, drawn.right() - 3)]
    assert edge and all(abs(c.blue() - accent.blue()) < 60 for c in edge)
    count = accent_pixels(image, accent)
    view.verticalScrollBar().setValue(view.verticalScrollBar().maximum())
    qtbot.wait(1)
    moved = minimap.grab().toImage()
    assert moved != image  # painted again where the canvas now is
    assert abs(accent_pixels(moved, accent) - count) < count


def test_a_click_centres_the_canvas_there(qtbot) -> None:
    scene, view, minimap, _window = make(qtbot)
    items = list(scene.nodes.values())
    for target in (items[len(items) // 2], items[2]):  # the middle, then near the top
        point = target.sceneBoundingRect().center()
        at = minimap.map_from_scene(point).toPoint()
        qtbot.mouseClick(minimap, Qt.MouseButton.LeftButton, pos=at)
        centre = view.mapToScene(view.viewport().rect().center())
        tolerance = 2 * pixel_tolerance(minimap)
        assert abs(centre.x() - point.x()) <= tolerance
        assert abs(centre.y() - point.y()) <= tolerance
        assert close(shown_in_minimap(minimap), visible(view), tolerance)


def test_dragging_moves_the_canvas_along(qtbot) -> None:
    scene, view, minimap, _window = make(qtbot)
    items = list(scene.nodes.values())
    start = minimap.map_from_scene(items[3].sceneBoundingRect().center()).toPoint()
    end = minimap.map_from_scene(items[-3].sceneBoundingRect().center())
    qtbot.mousePress(minimap, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(minimap, end.toPoint())
    qtbot.mouseRelease(minimap, Qt.MouseButton.LeftButton, pos=end.toPoint())
    centre = view.mapToScene(view.viewport().rect().center())
    assert abs(centre.y() - minimap.map_to_scene(end).y()) <= 2 * pixel_tolerance(minimap)


def test_it_refits_when_the_model_grows_and_follows_the_selection(qtbot) -> None:
    scene, _, minimap, _window = make(qtbot)
    assert not minimap.scene_rect().contains(QPointF(3000, 3000))
    far = scene.graph.add_node("Dense", {"units": 8}, position=(3000.0, 3000.0))
    rect = minimap.scene_rect()
    assert rect.contains(scene.nodes[far.id].sceneBoundingRect())
    assert rect.contains(scene.itemsBoundingRect())
    assert QRectF(minimap.rect()).contains(minimap.map_from_scene(QPointF(3100, 3020)))

    accent = minimap.palette().color(QPalette.ColorRole.Highlight)
    drawn = minimap.map_from_scene(scene.nodes[far.id].sceneBoundingRect().center()).toPoint()

    def near_accent() -> int:  # the layer's pixels in the accent colour
        image = minimap.grab().toImage()
        around = [
            image.pixelColor(drawn + QPoint(dx, dy)) for dx in (-1, 0, 1) for dy in (-1, 0, 1)
        ]
        return sum(distance(c, accent) < 40 for c in around)

    assert near_accent() == 0  # a Dense layer's colour
    scene.nodes[far.id].setSelected(True)
    qtbot.waitUntil(lambda: near_accent() >= 2)  # redrawn a moment later, in the accent colour
    scene.graph.remove_node(far.id)
    assert not minimap.scene_rect().contains(QPointF(3000, 3000))


def test_as_an_overlay_it_sits_in_the_canvas_corner(qtbot) -> None:
    _, view, minimap, _window = make(qtbot, corner=Qt.Corner.BottomRightCorner)
    assert minimap.parent() is view
    assert minimap.size() == minimap.sizeHint()
    area = view.viewport().geometry()
    assert area.contains(minimap.geometry())
    assert area.right() - minimap.geometry().right() == 12
    assert area.bottom() - minimap.geometry().bottom() == 12
    view.setMinimumSize(900, 700)
    qtbot.waitUntil(lambda: view.viewport().geometry().bottom() - minimap.geometry().bottom() == 12)


def test_a_dark_palette_darkens_it(qtbot) -> None:
    _, _, minimap, _window = make(qtbot)
    light = minimap.grab().toImage().pixelColor(3, minimap.height() // 2)
    palette = minimap.palette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#2b2b2b"),
        (QPalette.ColorRole.Base, "#1e1e1e"),
        (QPalette.ColorRole.Text, "#e0e0e0"),
    ):
        palette.setColor(role, QColor(colour))
    minimap.setPalette(palette)
    dark = minimap.grab().toImage().pixelColor(3, minimap.height() // 2)
    assert dark.lightnessF() < 0.35 < light.lightnessF()


def test_the_minimap_forgets_a_canvas_that_is_gone(qtbot) -> None:
    scene, view, minimap, _window = make(qtbot)
    minimap.setParent(None)
    qtbot.addWidget(minimap)
    view.deleteLater()
    qtbot.wait(10)
    assert minimap.visible_region().isEmpty()
    minimap.grab()  # paints without the canvas
    other = GraphView(scene)
    qtbot.addWidget(other)
    minimap.set_view(other)
    assert minimap.scene_rect().contains(scene.itemsBoundingRect())


def test_the_wheel_zooms_the_canvas_about_its_centre(qtbot) -> None:
    _, view, minimap, _window = make(qtbot)
    before, zoom = visible(view), view.transform().m11()
    at = minimap.rect().center()
    wheel(minimap, QPointF(at), -1)
    assert view.transform().m11() < zoom  # zoomed out
    after = visible(view)
    assert after.width() > before.width()
    assert abs(after.center().y() - before.center().y()) <= 2 * pixel_tolerance(minimap)
    for _ in range(40):
        wheel(minimap, QPointF(at), -1)
    assert view.zoom() == pytest.approx(MIN_ZOOM)  # the canvas's own limits
    assert view.graph_scene.zoom == view.zoom()  # the wires' labels are told


def test_an_empty_model_shows_an_empty_minimap(qtbot) -> None:
    scene = GraphScene(Graph())
    view = GraphView(scene)
    minimap = MinimapView(view, corner=Qt.Corner.TopLeftCorner)
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    assert minimap.geometry().topLeft() == view.viewport().geometry().topLeft() + QPoint(12, 12)
    assert minimap.scene_rect().contains(minimap.visible_region())
    minimap.grab()
    scene.add_layer("Dense", QPointF(500, 500))
    assert minimap.scene_rect().contains(QPointF(500 + 190, 500 + 52))
