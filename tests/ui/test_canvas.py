"""The canvas mirrors the document: drops from the palette, labels, badges, undo and redo."""

from __future__ import annotations

import gc
import weakref

from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QMouseEvent
from PySide6.QtWidgets import QApplication

from core.graph import Graph
from core.layers import format_shape
from core.shapes import infer_shapes
from core.templates import load_template
from tests.ui.events import wheel
from ui.editor.commands import DisconnectCommand, SetParamCommand
from ui.editor.node_item import GRID
from ui.editor.scene import GraphScene
from ui.editor.view import GraphView
from ui.palette import kind_mime_data


def make(qtbot, template: str = "mnist_cnn") -> tuple[GraphScene, GraphView]:
    scene = GraphScene(load_template(template))
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    qtbot.waitExposed(view)
    return scene, view


def labels(scene: GraphScene) -> dict:
    return {edge: item.label.text() for edge, item in scene.edges.items()}


def test_every_layer_and_wire_is_drawn_with_its_shape(qtbot) -> None:
    scene, _ = make(qtbot)
    graph = scene.graph
    assert set(scene.nodes) == set(graph.nodes)
    assert set(scene.edges) == set(graph.edges)
    report = infer_shapes(graph)
    for edge, text in labels(scene).items():
        assert text == format_shape(report.edge_shape(edge))
    assert "32×26×26" in labels(scene).values()  # the tutorial's first Conv2D
    conv = next(i for i in scene.nodes.values() if i.kind == "Conv2D")
    assert conv.title.startswith("Conv2D · 32 · 3×3 · relu")
    assert not any(item.problem for item in scene.nodes.values())


def drop(view: GraphView, kind: str, at: QPoint) -> None:
    """What Qt sends the canvas when a palette item is dragged over it and let go."""
    data = kind_mime_data(kind)
    args = (
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    enter = QDragEnterEvent(at, *args)
    QApplication.sendEvent(view.viewport(), enter)
    assert enter.isAccepted()
    QApplication.sendEvent(view.viewport(), QDragMoveEvent(at, *args))
    QApplication.sendEvent(view.viewport(), QDropEvent(QPointF(at), *args))


def test_dropping_a_layer_from_the_palette_adds_it_where_it_falls(qtbot) -> None:
    scene, view = make(qtbot)
    before = scene.graph.to_dict()
    old_ids = set(scene.graph.nodes)
    drop(view, "Dropout", QPoint(300, 200))
    added = [n for i, n in scene.graph.nodes.items() if i not in old_ids]
    assert len(added) == 1 and added[0].kind == "Dropout"
    centre = scene.nodes[added[0].id].sceneBoundingRect().center()
    expected = view.mapToScene(QPoint(300, 200))  # the layer is centred where it falls
    assert abs(centre.x() - expected.x()) <= GRID and abs(centre.y() - expected.y()) <= GRID
    assert added[0].position[0] % GRID == 0 and added[0].position[1] % GRID == 0
    assert not scene.graph.in_edges(added[0].id) and scene.selected_ids() == [added[0].id]
    after = scene.graph.to_dict()
    scene.undo_stack.undo()
    assert scene.graph.to_dict() == before and added[0].id not in scene.nodes
    scene.undo_stack.redo()
    assert scene.graph.to_dict() == after and added[0].id in scene.nodes


def test_a_param_change_updates_the_wire_labels_and_undo_restores_them(qtbot) -> None:
    scene, _ = make(qtbot)
    graph = scene.graph
    conv = next(n for n in graph.nodes.values() if n.kind == "Conv2D")
    original = labels(scene)
    scene.undo_stack.push(SetParamCommand(graph, conv.id, "filters", 16))
    assert "16×26×26" in labels(scene).values() and "32×26×26" not in labels(scene).values()
    assert scene.nodes[conv.id].title.startswith("Conv2D · 16")
    scene.undo_stack.undo()
    assert labels(scene) == original


def test_a_disconnected_layer_gets_a_badge_that_says_why(qtbot) -> None:
    scene, _ = make(qtbot)
    graph = scene.graph
    dense = next(n for n in graph.nodes.values() if n.kind == "Dense")
    edge = graph.in_edges(dense.id)[0]
    scene.undo_stack.push(DisconnectCommand(graph, edge))
    assert edge not in scene.edges
    problem = scene.nodes[dense.id].problem
    assert problem and dense.name in problem and scene.nodes[dense.id].toolTip() == problem
    scene.undo_stack.undo()
    assert edge in scene.edges and not scene.nodes[dense.id].problem


def test_the_canvas_refuses_drops_that_are_not_layers(qtbot) -> None:
    scene, view = make(qtbot)
    before = scene.graph.to_dict()
    data = QMimeData()
    data.setText("Dense")  # plain text, not a layer from the palette
    args = (
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    enter = QDragEnterEvent(QPoint(100, 100), *args)
    QApplication.sendEvent(view.viewport(), enter)
    assert not enter.isAccepted()
    QApplication.sendEvent(view.viewport(), QDropEvent(QPointF(100, 100), *args))
    assert scene.graph.to_dict() == before


def test_the_wheel_zooms_and_fit_shows_the_whole_model(qtbot) -> None:
    scene, view = make(qtbot)
    start = view.transform().m11()
    wheel(view.viewport(), QPointF(400, 300))
    assert view.transform().m11() > start
    view.fit()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(scene.itemsBoundingRect())


def wiring_scene(qtbot) -> tuple[GraphScene, GraphView, dict[str, str]]:
    """Input -> a -> Output, and a layer b on its own to the right."""
    graph = Graph()
    ids = {}
    for name, kind, place in [
        ("input", "Input", (0, 0)),
        ("a", "Dense", (0, 150)),
        ("b", "Dense", (320, 150)),
        ("output", "Output", (0, 300)),
    ]:
        params = {"shape": [4]} if kind == "Input" else {}
        ids[name] = graph.add_node(kind, params, name=name, position=place).id
    graph.connect(ids["input"], ids["a"])
    graph.connect(ids["a"], ids["output"])
    scene = GraphScene(graph)
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    qtbot.waitExposed(view)
    view.fit()
    return scene, view, ids


def port_point(view: GraphView, scene: GraphScene, node_id: str, output: bool) -> QPoint:
    return view.mapFromScene(scene.nodes[node_id].port_position(0, output))


def drag(qtbot, view: GraphView, start: QPoint, end: QPoint) -> None:
    """Press, move with the button held (in steps), release: a user's drag."""
    viewport = view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for step in (1, 2, 3, 4):
        at = start + (end - start) * step / 4
        move = QMouseEvent(
            QEvent.Type.MouseMove,
            QPointF(at),
            QPointF(viewport.mapToGlobal(at)),
            Qt.MouseButton.NoButton,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(viewport, move)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)


def test_dragging_from_an_output_port_to_an_input_port_connects(qtbot) -> None:
    scene, view, ids = wiring_scene(qtbot)
    before = scene.graph.to_dict()
    drag(
        qtbot,
        view,
        port_point(view, scene, ids["a"], True),
        port_point(view, scene, ids["b"], False),
    )
    edge = scene.graph.in_edges(ids["b"]).get(0)
    assert edge is not None and edge.src == ids["a"]
    assert edge in scene.edges and scene.edges[edge].label.text() == "32"
    scene.undo_stack.undo()
    assert scene.graph.to_dict() == before


def test_a_refused_connection_says_why_and_changes_nothing(qtbot) -> None:
    scene, view, ids = wiring_scene(qtbot)
    before = scene.graph.to_dict()
    with qtbot.waitSignal(scene.message) as said:
        # b's output into a's input, which the Input already feeds
        drag(
            qtbot,
            view,
            port_point(view, scene, ids["b"], True),
            port_point(view, scene, ids["a"], False),
        )
    assert said.args[0]
    assert scene.graph.to_dict() == before


def test_dragging_a_wire_end_away_disconnects_it(qtbot) -> None:
    scene, view, ids = wiring_scene(qtbot)
    before = scene.graph.to_dict()
    start = port_point(view, scene, ids["output"], False)
    drag(qtbot, view, start, start + QPoint(150, 60))
    assert scene.graph.in_edges(ids["output"]) == {}
    assert scene.nodes[ids["output"]].problem  # an Output with nothing in it says so
    scene.undo_stack.undo()
    assert scene.graph.to_dict() == before


def test_moving_layers_with_the_mouse_is_one_undo_step_and_snaps(qtbot) -> None:
    scene, view, ids = wiring_scene(qtbot)
    item = scene.nodes[ids["b"]]
    start = view.mapFromScene(item.sceneBoundingRect().center())
    drag(qtbot, view, start, start + QPoint(47, 33))
    x, y = scene.graph.nodes[ids["b"]].position
    assert (x, y) != (320, 150) and x % 10 == 0 and y % 10 == 0
    assert scene.undo_stack.count() == 1
    scene.undo_stack.undo()
    assert scene.graph.nodes[ids["b"]].position == (320, 150)
    assert item.pos() == QPointF(320, 150)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    assert scene.undo_stack.count() == 1 and scene.undo_stack.index() == 0  # a click moves nothing


def test_delete_removes_the_selected_layers_and_undo_brings_them_back(qtbot) -> None:
    scene, view, ids = wiring_scene(qtbot)
    before = scene.graph.to_dict()
    scene.nodes[ids["a"]].setSelected(True)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert ids["a"] not in scene.graph.nodes and ids["a"] not in scene.nodes
    assert not scene.edges  # both of its wires went with it
    scene.undo_stack.undo()
    assert scene.graph.to_dict() == before
    assert len(scene.edges) == 2


def test_a_dropped_scene_is_freed_at_once_not_by_the_garbage_collector(qtbot) -> None:
    """PySide crashes (at exit, or in a later collection) when the garbage collector tears down
    a scene whose undo stack holds commands; a scene in no reference cycle never meets it."""
    gc.disable()
    try:
        scene = GraphScene(load_template("mnist_cnn"))
        scene.add_layer("Dense", QPointF(0, 0))
        scene.select(list(scene.nodes)[:2])
        scene.delete_selected()
        alive = weakref.ref(scene)
        del scene
        assert alive() is None
    finally:
        gc.enable()
