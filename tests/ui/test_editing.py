"""Editing with mouse and keyboard: insert on a wire, quick add, clipboard, arrange, walk."""

from __future__ import annotations

import json

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QContextMenuEvent, QGuiApplication
from PySide6.QtWidgets import QApplication

from core.fragment import copy_fragment
from core.graph import Edge
from core.layout import auto_layout
from core.templates import load_template
from tests.ui.test_canvas import drag, drop
from ui.clipboard import FRAGMENT_MIME_TYPE
from ui.editor.edge_item import NO_LABEL_ZOOM, SHORT_LABEL_ZOOM
from ui.editor.node_item import GRID
from ui.main_window import MainWindow


def make(qtbot, template: str = "mnist_cnn") -> MainWindow:
    window = MainWindow(load_template(template))
    qtbot.addWidget(window)
    activate(qtbot, window)
    return window


def activate(qtbot, window: MainWindow) -> None:
    """Make ``window`` the active one (shortcuts go to the active window only)."""
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    window.view.setFocus()


def by_name(window: MainWindow, name: str) -> str:
    node = window.scene.graph.node_by_name(name)
    assert node is not None
    return node.id


def viewport_point(window: MainWindow, scene_point: QPointF) -> QPoint:
    return window.view.mapFromScene(scene_point)


def key(qtbot, window: MainWindow, k: Qt.Key, mods=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(window.view, k, mods)


CTRL = Qt.KeyboardModifier.ControlModifier


def undo_all_and_back(window: MainWindow, before: dict) -> None:
    """Undo every step back to ``before`` exactly, then redo them all back to now."""
    stack, graph = window.undo_stack, window.scene.graph
    after = graph.to_dict()
    while stack.canUndo():
        stack.undo()
    assert graph.to_dict() == before
    while stack.canRedo():
        stack.redo()
    assert graph.to_dict() == after
    assert set(window.scene.nodes) == set(graph.nodes)
    assert set(window.scene.edges) == set(graph.edges)


def test_a_layer_dropped_on_a_wire_goes_into_it(qtbot) -> None:
    window = make(qtbot)
    scene, graph = window.scene, window.scene.graph
    before = graph.to_dict()
    flatten, dense = by_name(window, "flatten"), by_name(window, "dense")
    wire = next(e for e in graph.edges if e.src == flatten)
    window.view.centerOn(scene.edges[wire])
    middle = scene.edges[wire].path().pointAtPercent(0.5)
    drop(window.view, "Dropout", viewport_point(window, middle))
    new = scene.selected_ids()
    assert len(new) == 1 and graph.nodes[new[0]].kind == "Dropout"
    assert graph.in_edges(new[0])[0] == Edge(flatten, 0, new[0], 0)
    assert graph.in_edges(dense)[0] == Edge(new[0], 0, dense, 0)
    assert window.scene.edges[Edge(new[0], 0, dense, 0)].label.text() == "9216"
    assert window.undo_stack.count() == 1  # one step: add, unwire and rewire
    undo_all_and_back(window, before)


def test_an_input_dropped_on_a_wire_is_refused_with_a_reason(qtbot) -> None:
    window = make(qtbot)
    scene, graph = window.scene, window.scene.graph
    before = graph.to_dict()
    wire = graph.edges[2]
    window.view.centerOn(scene.edges[wire])
    messages: list[str] = []
    scene.message.connect(messages.append)
    drop(window.view, "Input", viewport_point(window, scene.edges[wire].path().pointAtPercent(0.5)))
    assert graph.to_dict() == before
    assert messages and "cannot go on a wire" in messages[0]


def test_tab_adds_a_layer_after_the_selected_one_from_the_keyboard(qtbot) -> None:
    window = make(qtbot)
    scene, graph = window.scene, window.scene.graph
    before = graph.to_dict()
    conv = by_name(window, "conv2d")
    below = {n: graph.nodes[n].position for n in graph.nodes if graph.nodes[n].position[1] > 150}
    scene.select([conv])
    key(qtbot, window, Qt.Key.Key_Tab)
    popup = window.view.quick_add
    assert popup.isVisible() and "after conv2d" in popup.title.text()
    qtbot.keyClicks(popup.search, "batchnorm")
    assert popup.visible_kinds()[0] == "BatchNormalization"
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    assert not popup.isVisible()
    new = scene.selected_ids()[0]
    assert graph.nodes[new].kind == "BatchNormalization"
    assert graph.in_edges(new)[0].src == conv
    assert graph.in_edges(by_name(window, "conv2d_1"))[0].src == new
    for node_id, (x, y) in below.items():  # the layers below made room
        assert graph.nodes[node_id].position == (x, y + 110.0)
    assert not [d for d in scene.report.diagnostics if d.severity == "error"]
    undo_all_and_back(window, before)


def test_the_popup_filters_and_escape_adds_nothing(qtbot) -> None:
    window = make(qtbot)
    before = window.scene.graph.to_dict()
    window.view.open_quick_add(QPoint(50, 50))
    popup = window.view.quick_add
    qtbot.keyClicks(popup.search, "pool")
    kinds = popup.visible_kinds()
    assert kinds and all("pool" in k.lower() or "pool" in k for k in kinds[:4])
    qtbot.keyClicks(popup.search, "zzzz")
    assert popup.visible_kinds() == []
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)  # nothing to pick: nothing happens
    qtbot.keyClick(popup.search, Qt.Key.Key_Escape)
    assert not popup.isVisible()
    assert window.scene.graph.to_dict() == before


def test_a_right_click_on_empty_canvas_adds_a_layer_there(qtbot) -> None:
    window = make(qtbot)
    scene, graph, view = window.scene, window.scene.graph, window.view
    at = QPoint(30, 30)
    assert view.itemAt(at) is None
    QApplication.sendEvent(
        view.viewport(), QContextMenuEvent(QContextMenuEvent.Reason.Mouse, at, view.mapToGlobal(at))
    )
    popup = view.quick_add
    assert popup.isVisible()
    qtbot.keyClicks(popup.search, "dense")
    qtbot.keyClick(popup.search, Qt.Key.Key_Down)
    qtbot.keyClick(popup.search, Qt.Key.Key_Up)
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    new = scene.selected_ids()
    assert len(new) == 1 and graph.nodes[new[0]].kind == "Dense"
    assert not graph.in_edges(new[0]) and not graph.out_edges(new[0])
    centre = scene.nodes[new[0]].sceneBoundingRect().center()
    target = view.mapToScene(at)
    assert abs(centre.x() - target.x()) <= GRID and abs(centre.y() - target.y()) <= GRID


def test_copy_and_paste_between_two_windows(qtbot) -> None:
    first, second = make(qtbot), make(qtbot, "mlp")
    source = first.scene.graph
    chosen = [by_name(first, "conv2d"), by_name(first, "conv2d_1")]
    first.scene.select(chosen)
    activate(qtbot, first)
    key(qtbot, first, Qt.Key.Key_C, CTRL)
    assert QGuiApplication.clipboard().mimeData().hasFormat(FRAGMENT_MIME_TYPE)
    before = second.scene.graph.to_dict()
    activate(qtbot, second)
    key(qtbot, second, Qt.Key.Key_V, CTRL)
    graph = second.scene.graph
    pasted = second.scene.selected_ids()
    assert [graph.nodes[n].kind for n in pasted] == ["Conv2D", "Conv2D"]
    assert [graph.nodes[n].params for n in pasted] == [source.nodes[n].params for n in chosen]
    assert graph.in_edges(pasted[1])[0] == Edge(pasted[0], 0, pasted[1], 0)
    assert [graph.nodes[n].name for n in pasted] == ["conv2d", "conv2d_1"]  # free in the MLP
    key(qtbot, second, Qt.Key.Key_V, CTRL)  # again: new names, moved further
    again = second.scene.selected_ids()
    assert [graph.nodes[n].name for n in again] == ["conv2d_2", "conv2d_3"]
    assert graph.nodes[again[0]].position != graph.nodes[pasted[0]].position
    assert source.to_dict()["nodes"] == first.scene.graph.to_dict()["nodes"]
    undo_all_and_back(second, before)


def test_duplicate_cut_paste_select_all_and_delete(qtbot) -> None:
    window = make(qtbot)
    scene, graph = window.scene, window.scene.graph
    before = graph.to_dict()
    dense = by_name(window, "dense")
    scene.select([dense])
    key(qtbot, window, Qt.Key.Key_D, CTRL)
    twin = scene.selected_ids()
    assert len(twin) == 1 and graph.nodes[twin[0]].name == "dense_2"
    x, y = graph.nodes[dense].position
    assert graph.nodes[twin[0]].position == (x + 40, y + 40)
    key(qtbot, window, Qt.Key.Key_X, CTRL)
    assert twin[0] not in graph.nodes
    key(qtbot, window, Qt.Key.Key_V, CTRL)
    assert len(scene.selected_ids()) == 1
    key(qtbot, window, Qt.Key.Key_A, CTRL)
    assert scene.selected_ids() == list(graph.nodes)
    key(qtbot, window, Qt.Key.Key_Delete)
    assert not graph.nodes and not scene.nodes and not scene.edges
    undo_all_and_back(window, before)


def test_bad_clipboards_end_in_a_message_and_change_nothing(qtbot) -> None:
    window = make(qtbot)
    before = window.scene.graph.to_dict()
    good = json.loads(copy_fragment(window.scene.graph, [by_name(window, "dense")]))
    bad_kind = {**good, "nodes": [{**good["nodes"][0], "kind": "os.system"}]}
    for payload in (b"\xff\xfe", b"{not json", json.dumps(bad_kind).encode(), b"[]"):
        data = QMimeData()
        data.setData(FRAGMENT_MIME_TYPE, payload)
        QGuiApplication.clipboard().setMimeData(data)
        window.paste()
        assert window.scene.graph.to_dict() == before
        assert window.statusBar().currentMessage().startswith("Cannot paste")
    QGuiApplication.clipboard().setText("just text")
    window.paste()
    assert "no layers" in window.statusBar().currentMessage()
    assert window.scene.graph.to_dict() == before


def test_arrange_lays_the_model_out_as_one_step(qtbot) -> None:
    window = make(qtbot, "residual")
    graph = window.scene.graph
    for node_id in list(graph.nodes)[:5]:
        graph.move(node_id, 500.0, -300.0)  # a mess (outside the undo stack: the start)
    before = graph.to_dict()
    key(qtbot, window, Qt.Key.Key_L, CTRL)
    assert {n: graph.nodes[n].position for n in graph.nodes} == auto_layout(graph)
    assert window.undo_stack.count() == 1
    undo_all_and_back(window, before)


def test_arrows_walk_the_wires_and_ctrl_arrows_move(qtbot) -> None:
    window = make(qtbot)
    scene, graph = window.scene, window.scene.graph
    key(qtbot, window, Qt.Key.Key_Down)  # nothing selected: the first layer
    assert scene.selected_ids() == [by_name(window, "input")]
    key(qtbot, window, Qt.Key.Key_Down)
    key(qtbot, window, Qt.Key.Key_Down)
    assert scene.selected_ids() == [by_name(window, "conv2d_1")]
    key(qtbot, window, Qt.Key.Key_Up)
    here = scene.selected_ids()[0]
    assert here == by_name(window, "conv2d")
    x, y = graph.nodes[here].position
    key(qtbot, window, Qt.Key.Key_Right, CTRL)
    key(qtbot, window, Qt.Key.Key_Down, CTRL)
    assert graph.nodes[here].position == (x + GRID, y + GRID)
    assert scene.nodes[here].pos() == QPointF(x + GRID, y + GRID)


def test_wire_labels_shorten_then_hide_when_zoomed_out(qtbot) -> None:
    window = make(qtbot)
    view, scene = window.view, window.scene
    wire = next(e for e in scene.graph.edges if scene.edges[e].text == "32×26×26")
    label = scene.edges[wire].label
    view.resetTransform()
    view.zoom_by(1.0)
    assert label.text() == "32×26×26"
    view.zoom_by((SHORT_LABEL_ZOOM - 0.05) / view.zoom())
    assert label.text() == "32×…"
    view.zoom_by((NO_LABEL_ZOOM - 0.05) / view.zoom())
    assert label.text() == ""
    view.zoom_by(1.0 / view.zoom())
    assert label.text() == "32×26×26"


def test_a_clicked_wire_is_selected_and_del_disconnects_it(qtbot) -> None:
    window = make(qtbot)
    scene, graph, view = window.scene, window.scene.graph, window.view
    before = graph.to_dict()
    wire = next(e for e in graph.edges if scene.edges[e].text == "9216")
    view.centerOn(scene.edges[wire])
    at = view.mapFromScene(scene.edges[wire].path().pointAtPercent(0.5))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert scene.edges[wire].isSelected() and scene.selected_ids() == []
    key(qtbot, window, Qt.Key.Key_Delete)
    assert wire not in graph.edges and wire not in scene.edges
    assert len(graph.nodes) == len(before["nodes"])
    undo_all_and_back(window, before)


def test_two_layers_are_wired_from_the_keyboard(qtbot) -> None:
    window = make(qtbot, "mlp")
    scene, graph = window.scene, window.scene.graph
    output = next(n for n in graph.nodes.values() if n.kind == "Output").id
    last = graph.in_edges(output)[0].src
    wire = graph.in_edges(output)[0]
    scene.select([])
    scene.edges[wire].setSelected(True)
    key(qtbot, window, Qt.Key.Key_Delete)  # cut the wire into the Output
    assert output in graph.nodes and not graph.in_edges(output)
    before = graph.to_dict()
    scene.select([last])
    key(qtbot, window, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)  # nearest below
    assert scene.selected_ids() == [last, output] or set(scene.selected_ids()) == {last, output}
    key(qtbot, window, Qt.Key.Key_C)
    assert graph.in_edges(output)[0] == Edge(last, 0, output, 0)
    assert not [d for d in scene.report.diagnostics if d.severity == "error"]
    window.undo_stack.undo()
    assert graph.to_dict() == before


def test_connecting_from_the_keyboard_says_why_not(qtbot) -> None:
    window = make(qtbot)
    scene = window.scene
    messages: list[str] = []
    scene.message.connect(messages.append)
    scene.select([by_name(window, "dense")])
    key(qtbot, window, Qt.Key.Key_C)
    assert "exactly two" in messages[-1]
    scene.select([by_name(window, "dense"), by_name(window, "dense_1")])
    before = scene.graph.to_dict()
    key(qtbot, window, Qt.Key.Key_C)  # dense_1's only input is taken
    assert scene.graph.to_dict() == before and "no free input" in messages[-1]


def test_a_rubber_band_selects_the_layers_it_encloses(qtbot) -> None:
    window = make(qtbot)
    scene, view = window.scene, window.view
    view.resetTransform()
    chosen = [by_name(window, "conv2d"), by_name(window, "conv2d_1")]
    box = (
        scene.nodes[chosen[0]]
        .sceneBoundingRect()
        .united(scene.nodes[chosen[1]].sceneBoundingRect())
    )
    view.centerOn(box.center())
    start = view.mapFromScene(box.topLeft() - QPointF(20, 10))
    end = view.mapFromScene(box.bottomRight() + QPointF(20, 10))
    assert view.itemAt(start) is None
    drag(qtbot, view, start, end)
    assert scene.selected_ids() == chosen
    assert window.undo_stack.count() == 0  # selecting is not an edit


def test_undo_and_redo_from_the_keyboard(qtbot) -> None:
    window = make(qtbot)
    graph = window.scene.graph
    before = graph.to_dict()
    window.scene.select([by_name(window, "dropout")])
    key(qtbot, window, Qt.Key.Key_Delete)
    after = graph.to_dict()
    key(qtbot, window, Qt.Key.Key_Z, CTRL)
    assert graph.to_dict() == before
    key(qtbot, window, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert graph.to_dict() == after
    key(qtbot, window, Qt.Key.Key_Z, CTRL)
    key(qtbot, window, Qt.Key.Key_Y, CTRL)
    assert graph.to_dict() == after


def test_the_keyboard_moves_between_canvas_palette_and_inspector(qtbot) -> None:
    window = make(qtbot)
    key(qtbot, window, Qt.Key.Key_F, CTRL)
    assert QApplication.focusWidget() is window.palette_panel.search
    qtbot.keyClick(window.palette_panel.search, Qt.Key.Key_1, CTRL)
    assert QApplication.focusWidget() is window.view
    key(qtbot, window, Qt.Key.Key_Down)  # the first layer
    key(qtbot, window, Qt.Key.Key_Down)
    key(qtbot, window, Qt.Key.Key_I, CTRL)
    assert QApplication.focusWidget() is window.inspector.name_edit
    assert window.inspector.name_edit.text() == "conv2d"
    qtbot.keyClicks(window.inspector.name_edit, "first_conv")
    qtbot.keyClick(window.inspector.name_edit, Qt.Key.Key_Return)
    assert by_name(window, "first_conv")
    qtbot.keyClick(window.inspector.name_edit, Qt.Key.Key_1, CTRL)
    key(qtbot, window, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is not window.view  # Shift+Tab leaves the canvas
