"""The inspector: a form generated from the spec, one undo step per edit, refusals explained."""

from __future__ import annotations

import html

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPalette, QUndoStack
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from core.graph import Graph
from core.layers import all_specs
from core.templates import load_template
from tests.ui.events import wheel
from ui.editor.scene import GraphScene
from ui.inspector import NOTHING_SELECTED, InspectorPanel

WIDGETS = {
    "int": QSpinBox,
    "ints": QSpinBox,
    "float": QLineEdit,
    "shape": QLineEdit,
    "bool": QCheckBox,
    "choice": QComboBox,
}


def make(qtbot, graph: Graph | str = "mnist_cnn") -> tuple[InspectorPanel, GraphScene]:
    scene = GraphScene(load_template(graph) if isinstance(graph, str) else graph, QUndoStack())
    panel = InspectorPanel()
    qtbot.addWidget(panel)
    panel.set_scene(scene)
    panel.resize(320, 560)
    panel.show()
    qtbot.waitExposed(panel)
    return panel, scene


def select(scene: GraphScene, *node_ids: str) -> None:
    scene.clearSelection()
    for node_id in node_ids:
        scene.nodes[node_id].setSelected(True)


def node_named(scene: GraphScene, name: str) -> str:
    node = scene.graph.node_by_name(name)
    assert node is not None
    return node.id


def child(panel: InspectorPanel, kind: type[QWidget], name: str) -> QWidget:
    widget = panel.findChild(kind, name)
    assert widget is not None, name
    assert widget.isVisible(), name
    return widget


def type_into(qtbot, widget: QWidget, text: str) -> None:
    """Select what the field holds, type ``text`` over it and press Enter, as a user would."""
    edit = widget.lineEdit() if isinstance(widget, QSpinBox) else widget
    assert isinstance(edit, QLineEdit)
    edit.selectAll()
    qtbot.keyClicks(widget, text)
    qtbot.keyClick(widget, Qt.Key.Key_Return)


def activate(qtbot, panel: InspectorPanel) -> None:
    """Make the panel's window the active one, so that it has the keyboard focus."""
    with qtbot.waitActive(panel):
        panel.activateWindow()


def error_text(panel: InspectorPanel) -> str:
    label = panel.error_label
    return label.text() if label.isVisible() else ""


@pytest.mark.parametrize("spec", all_specs(), ids=lambda s: s.kind)
def test_every_kind_gets_one_labelled_widget_per_param(qtbot, spec) -> None:
    graph = Graph()
    node = graph.add_node(spec.kind)
    panel, scene = make(qtbot, graph)
    select(scene, node.id)
    assert panel.kind_label.text() == spec.kind
    assert panel.help_label.text() == spec.help
    assert child(panel, QLineEdit, "name_edit").text() == node.name
    for p in spec.params:
        kind = WIDGETS[p.type]
        if p.type == "int" and p.maximum is not None and p.maximum >= 2**31:
            kind = QLineEdit  # a seed is too big for a spin box
        name = f"param_{p.name}_0" if p.type == "ints" and kind is QSpinBox else f"param_{p.name}"
        widget = child(panel, kind, name)
        assert p.help in html.unescape(widget.toolTip())
        label = child(panel, QLabel, f"label_{p.name}")
        assert label.text() == p.name and label.font().italic() == p.studio_only
        assert panel._fields[p.name].value() == node.params[p.name]
        if p.type == "ints" and kind is QSpinBox:
            assert (
                len(
                    [
                        w
                        for w in panel.findChildren(QSpinBox)
                        if w.objectName().startswith(f"param_{p.name}_")
                    ]
                )
                == p.length
            )
    assert len(panel._fields) == len(spec.params)
    assert scene.undo_stack.count() == 0  # showing a layer never edits it


def test_typing_units_then_enter_is_one_undo_step(qtbot) -> None:
    panel, scene = make(qtbot)
    dense = node_named(scene, "dense")
    select(scene, dense)
    spin = child(panel, QSpinBox, "param_units")
    assert spin.value() == 128
    edit = spin.lineEdit()
    edit.selectAll()
    qtbot.keyClicks(spin, "256")
    assert scene.undo_stack.count() == 0  # nothing until Enter: not 2, 25, 256
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert scene.graph.nodes[dense].params["units"] == 256
    assert scene.undo_stack.count() == 1
    assert panel.output_label.text() == "Output: 256"
    assert panel.params_label.text() == f"Parameters: {9216 * 256 + 256:,}"
    assert panel.findChild(QSpinBox, "param_units") is spin  # updated in place, not rebuilt
    scene.undo_stack.undo()
    assert scene.graph.nodes[dense].params["units"] == 128
    assert spin.value() == 128 and scene.undo_stack.count() == 1  # undo pushed nothing
    assert panel.params_label.text() == f"Parameters: {9216 * 128 + 128:,}"
    scene.undo_stack.redo()
    assert spin.value() == 256 and scene.undo_stack.count() == 1


def test_kernel_size_through_the_tuple_spin_boxes(qtbot) -> None:
    panel, scene = make(qtbot)
    conv = node_named(scene, "conv2d")
    select(scene, conv)
    assert panel.output_label.text() == "Output: 32×26×26"
    assert panel.params_label.text() == "Parameters: 320"
    type_into(qtbot, child(panel, QSpinBox, "param_kernel_size_0"), "5")
    assert scene.graph.nodes[conv].params["kernel_size"] == (5, 3)
    assert panel.output_label.text() == "Output: 32×24×26"
    assert panel.params_label.text() == f"Parameters: {5 * 3 * 32 + 32}"
    qtbot.keyClick(child(panel, QSpinBox, "param_kernel_size_1"), Qt.Key.Key_Up)
    assert scene.graph.nodes[conv].params["kernel_size"] == (5, 4)
    assert scene.undo_stack.count() == 2
    scene.undo_stack.undo()
    scene.undo_stack.undo()
    assert child(panel, QSpinBox, "param_kernel_size_0").value() == 3
    assert panel.output_label.text() == "Output: 32×26×26"


def test_choice_by_combo_box_and_bool_by_click(qtbot) -> None:
    panel, scene = make(qtbot)
    conv = node_named(scene, "conv2d")
    select(scene, conv)
    combo = child(panel, QComboBox, "param_padding")
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert scene.graph.nodes[conv].params["padding"] == "same"
    assert panel.output_label.text() == "Output: 32×28×28"
    box = child(panel, QCheckBox, "param_use_bias")
    assert box.isChecked()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    assert scene.graph.nodes[conv].params["use_bias"] is False
    assert panel.params_label.text() == "Parameters: 288"
    assert scene.undo_stack.count() == 2
    scene.undo_stack.undo()
    assert box.isChecked()
    scene.undo_stack.undo()
    assert combo.currentText() == "valid" and scene.undo_stack.count() == 2


def test_small_rates_are_exact_and_bad_ones_are_refused_with_the_reason(qtbot) -> None:
    panel, scene = make(qtbot)
    dropout = node_named(scene, "dropout")
    select(scene, dropout)
    rate = child(panel, QLineEdit, "param_rate")
    old = scene.graph.nodes[dropout].params["rate"]
    assert rate.text() == repr(old)
    messages: list[str] = []
    panel.message.connect(messages.append)
    type_into(qtbot, rate, "1.5")
    assert "below 1" in error_text(panel) and messages == [panel.error_label.text()]
    assert scene.graph.nodes[dropout].params["rate"] == old and scene.undo_stack.count() == 0
    assert rate.text() == repr(old)  # back to the document's value
    type_into(qtbot, rate, "a lot")
    assert "must be a number" in error_text(panel) and scene.undo_stack.count() == 0
    type_into(qtbot, rate, "0.001")
    assert scene.graph.nodes[dropout].params["rate"] == 0.001
    assert rate.text() == "0.001" and error_text(panel) == ""
    assert scene.undo_stack.count() == 1


def test_input_shape_accepts_commas_or_times_signs_and_refuses_a_zero(qtbot) -> None:
    panel, scene = make(qtbot)
    source = node_named(scene, "input")
    select(scene, source)
    shape = child(panel, QLineEdit, "param_shape")
    assert shape.text() == "1, 28, 28"
    type_into(qtbot, shape, "1, 0, 28")
    assert "at least 1" in error_text(panel)
    assert scene.undo_stack.count() == 0 and shape.text() == "1, 28, 28"
    type_into(qtbot, shape, "3×32×32")
    assert scene.graph.nodes[source].params["shape"] == (3, 32, 32)
    assert panel.output_label.text() == "Output: 3×32×32"
    select(scene, node_named(scene, "conv2d"))
    assert panel.output_label.text() == "Output: 32×30×30"
    assert panel.params_label.text() == f"Parameters: {3 * 3 * 3 * 32 + 32:,}"


def test_values_the_layer_rules_refuse_are_never_pushed(qtbot) -> None:
    panel, scene = make(qtbot)
    conv = node_named(scene, "conv2d")
    select(scene, conv)
    type_into(qtbot, child(panel, QSpinBox, "param_groups"), "3")
    assert "multiple of groups" in error_text(panel)
    assert scene.graph.nodes[conv].params["groups"] == 1 and scene.undo_stack.count() == 0
    assert child(panel, QSpinBox, "param_groups").value() == 1


def test_fewer_inputs_than_connected_wires_is_refused(qtbot) -> None:
    graph = Graph()
    source = graph.add_node("Input", {"shape": [8]})
    add = graph.add_node("Add", {"num_inputs": 3})
    for port in range(3):
        graph.connect(source.id, add.id, 0, port)
    panel, scene = make(qtbot, graph)
    select(scene, add.id)
    type_into(qtbot, child(panel, QSpinBox, "param_num_inputs"), "2")
    assert "disconnect it first" in error_text(panel)
    assert graph.nodes[add.id].params["num_inputs"] == 3 and scene.undo_stack.count() == 0


def test_optional_params_can_be_left_empty(qtbot) -> None:
    panel, scene = make(qtbot)
    pool = node_named(scene, "max_pooling2d")
    select(scene, pool)
    default = child(panel, QCheckBox, "param_strides_default")
    first = child(panel, QSpinBox, "param_strides_0")
    assert default.isChecked() and not first.isEnabled()
    qtbot.mouseClick(default, Qt.MouseButton.LeftButton)
    assert scene.graph.nodes[pool].params["strides"] == (1, 1) and first.isEnabled()
    type_into(qtbot, first, "2")
    assert scene.graph.nodes[pool].params["strides"] == (2, 1)
    qtbot.mouseClick(default, Qt.MouseButton.LeftButton)
    assert scene.graph.nodes[pool].params["strides"] is None
    assert scene.undo_stack.count() == 3


def test_rename_and_a_taken_name_is_refused(qtbot) -> None:
    panel, scene = make(qtbot)
    conv = node_named(scene, "conv2d")
    select(scene, conv)
    name = child(panel, QLineEdit, "name_edit")
    type_into(qtbot, name, "edges")
    assert scene.graph.nodes[conv].name == "edges" and scene.undo_stack.count() == 1
    assert scene.nodes[conv].name == "edges"
    type_into(qtbot, name, "conv2d_1")
    assert "already called 'conv2d_1'" in error_text(panel)
    assert name.text() == "edges" and scene.undo_stack.count() == 1
    type_into(qtbot, name, "a/b")
    assert "'/'" in error_text(panel) and scene.undo_stack.count() == 1
    scene.undo_stack.undo()
    assert name.text() == "conv2d" and error_text(panel) == ""


def test_problems_of_the_layer_are_listed(qtbot) -> None:
    graph = Graph()
    dense = graph.add_node("Dense")
    panel, scene = make(qtbot, graph)
    select(scene, dense.id)
    assert panel.problems_label.isVisible()
    assert "Nothing is connected to the input" in panel.problems_label.text()
    assert "unknown" in panel.output_label.text()


def test_several_or_no_layers_show_a_placeholder(qtbot) -> None:
    panel, scene = make(qtbot)
    assert panel.placeholder_label.isVisible()
    assert panel.placeholder_label.text() == NOTHING_SELECTED
    select(scene, "n2", "n3", "n4")
    assert panel.placeholder_label.text().startswith("3 layers selected")
    assert panel.placeholder_label.isVisible() and not panel.kind_label.isVisible()
    select(scene, "n2")
    assert panel.kind_label.isVisible() and panel.kind_label.text() == "Conv2D"
    scene.clearSelection()
    assert panel.placeholder_label.text() == NOTHING_SELECTED


def test_a_removed_layer_leaves_the_placeholder(qtbot) -> None:
    panel, scene = make(qtbot)
    select(scene, "n7")
    scene.delete_selected()
    assert panel.placeholder_label.isVisible()
    assert panel.placeholder_label.text() == NOTHING_SELECTED
    scene.undo_stack.undo()
    panel.show_node("n7")
    assert child(panel, QSpinBox, "param_units").value() == 128
    panel.show_node("no such id")
    assert panel.placeholder_label.isVisible()


def test_the_wheel_changes_a_value_only_with_the_focus(qtbot) -> None:
    panel, scene = make(qtbot)
    select(scene, node_named(scene, "dense"))
    spin = child(panel, QSpinBox, "param_units")
    centre = QPointF(spin.rect().center())
    wheel(spin, centre)
    assert spin.value() == 128 and scene.undo_stack.count() == 0


def test_set_scene_follows_the_new_scene_only(qtbot) -> None:
    panel, old = make(qtbot)
    select(old, "n2")
    new = GraphScene(load_template("mlp"), QUndoStack())
    panel.set_scene(new)
    assert panel.placeholder_label.isVisible()
    select(old, "n3")  # the old scene no longer drives the panel
    assert panel.placeholder_label.isVisible()
    dense = next(n.id for n in new.graph.nodes.values() if n.kind == "Dense")
    select(new, dense)
    assert panel.kind_label.text() == "Dense"
    type_into(qtbot, child(panel, QSpinBox, "param_units"), "7")
    assert new.graph.nodes[dense].params["units"] == 7
    assert new.undo_stack.count() == 1 and old.undo_stack.count() == 0
    old.add_layer("Dense", QPointF(0, 0))
    assert panel.kind_label.text() == "Dense" and new.undo_stack.count() == 1


def test_tab_goes_through_the_form_in_order(qtbot) -> None:
    panel, scene = make(qtbot)
    select(scene, node_named(scene, "conv2d"))
    activate(qtbot, panel)
    name = child(panel, QLineEdit, "name_edit")
    name.setFocus()
    order = []
    for _ in range(4):
        focus = QApplication.focusWidget()
        assert focus is not None
        qtbot.keyClick(focus, Qt.Key.Key_Tab)
        focus = QApplication.focusWidget()
        while focus is not None and not focus.objectName().startswith("param_"):
            focus = focus.parentWidget()
        assert focus is not None
        order.append(focus.objectName())
    assert order == [
        "param_filters",
        "param_kernel_size_0",
        "param_kernel_size_1",
        "param_strides_0",
    ]


def test_an_edit_typed_before_selecting_another_layer_still_lands(qtbot) -> None:
    panel, scene = make(qtbot)
    dense = node_named(scene, "dense")
    select(scene, dense)
    activate(qtbot, panel)
    spin = child(panel, QSpinBox, "param_units")
    spin.setFocus()
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin, "64")
    select(scene, node_named(scene, "conv2d"))
    assert scene.graph.nodes[dense].params["units"] == 64
    assert scene.undo_stack.count() == 1 and panel.kind_label.text() == "Conv2D"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshot_of_a_conv2d(qtbot, theme) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.palette()
    panel, scene = make(qtbot)
    select(scene, node_named(scene, "conv2d"))
    try:
        if theme == "dark":  # switched while the panel shows a layer, as a theme change would
            app.setPalette(QPalette(QColor("#3a3a3a"), QColor("#2b2b2b")))
            app.processEvents()
        suffix = "" if theme == "light" else "_dark"
        assert panel.grab().save(f"/tmp/inspector{suffix}.png")
        error = QColor(panel._colours["error"])
        window = panel.palette().window().color()
        assert abs(error.lightnessF() - window.lightnessF()) > 0.3  # readable on either
        assert (window.lightnessF() < 0.5) == (theme == "dark")
    finally:
        app.setPalette(before)
