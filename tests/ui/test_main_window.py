"""The main window: docks that follow the document, open and save, problems that lead to layers."""

from __future__ import annotations

from pathlib import Path

import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMessageBox, QSpinBox

from core.compile import compile_graph, model_info
from core.h5io import load_model, save_model
from core.templates import load_template
from ui.editor.commands import SetParamCommand
from ui.main_window import MainWindow
from ui.template_gallery import TemplateGalleryDialog


def make(qtbot, graph=None) -> MainWindow:
    window = MainWindow(graph)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def problem_texts(window: MainWindow) -> list[str]:
    return [window.problems.item(i).text() for i in range(window.problems.count())]


def test_the_window_shows_the_model_its_summary_and_no_problems(qtbot) -> None:
    window = make(qtbot)
    assert {d.windowTitle() for d in window.findChildren(QDockWidget)} >= {
        "Layers",
        "Problems",
        "Summary",
        "History",
    }
    assert "1,199,882" in window.summary.toPlainText()  # the tutorial CNN's parameter count
    assert problem_texts(window) == ["No problems: the model is complete."]
    assert window.windowTitle().startswith("untitled.h5")


def test_a_layer_added_from_the_palette_shows_up_in_problems_and_undo_removes_it(qtbot) -> None:
    window = make(qtbot)
    graph = window.scene.graph
    before = graph.to_dict()
    qtbot.keyClicks(window.palette_panel.search, "dense")
    qtbot.keyClick(window.palette_panel.search, Qt.Key.Key_Return)
    assert len(graph.nodes) == len(before["nodes"]) + 1
    assert any("dense_2" in text for text in problem_texts(window))
    assert window.isWindowModified()
    window.undo_stack.undo()
    assert graph.to_dict() == before
    assert problem_texts(window) == ["No problems: the model is complete."]


def test_clicking_a_problem_selects_its_layer(qtbot) -> None:
    window = make(qtbot)
    qtbot.keyClicks(window.palette_panel.search, "flatten")
    qtbot.keyClick(window.palette_panel.search, Qt.Key.Key_Return)
    item = next(
        window.problems.item(i)
        for i in range(window.problems.count())
        if "flatten_1" in window.problems.item(i).text()
    )
    rect = window.problems.visualItemRect(item)
    qtbot.mouseClick(window.problems.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    selected = [i.name for i in window.scene.selectedItems()]
    assert selected == ["flatten_1"]


def test_save_and_open_keep_the_document_and_trained_weights(qtbot, tmp_path: Path) -> None:
    graph = load_template("mlp")
    trained = compile_graph(graph, seed=3)
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(0.5)  # as if trained
    path = tmp_path / "trained.h5"
    save_model(path, graph, trained)
    window = make(qtbot)
    assert window.open_path(path)
    assert window.scene.graph.to_dict() == graph.to_dict()
    assert window.windowTitle().startswith("trained.h5")
    last = [n for n in window.scene.graph.nodes.values() if n.kind == "Dense"][-1]
    window.undo_stack.push(SetParamCommand(window.scene.graph, last.id, "units", 5))
    assert window.save()
    reopened = load_model(path)
    assert reopened.graph.nodes[last.id].params["units"] == 5
    assert not window.isWindowModified()
    old, new = model_info(trained).modules, model_info(reopened.module).modules
    for node_id in old:
        a = trained.get_submodule(old[node_id]).state_dict()
        b = reopened.module.get_submodule(new[node_id]).state_dict()
        if node_id == last.id:
            assert b["layer.kernel"].shape[1] == 5
        else:
            assert all(torch.equal(a[k], b[k]) for k in a)  # untouched layers keep their weights


def test_a_broken_file_says_why_and_keeps_the_document(qtbot, tmp_path: Path, monkeypatch) -> None:
    said = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: said.append(args[2]))
    window = make(qtbot)
    before = window.scene.graph.to_dict()
    broken = tmp_path / "broken.h5"
    broken.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    assert not window.open_path(broken)
    assert said and "damaged" in said[0]
    assert window.scene.graph.to_dict() == before


def test_the_inspector_follows_the_selection_and_its_edits_reach_the_canvas(qtbot) -> None:
    window = make(qtbot)
    scene, graph = window.scene, window.scene.graph
    dense = graph.node_by_name("dense").id
    scene.select([dense])
    field = window.inspector.findChild(QSpinBox, "param_units")
    assert field is not None and field.value() == 128
    field.selectAll()
    qtbot.keyClicks(field, "64")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert graph.nodes[dense].params["units"] == 64
    wire = next(e for e in graph.edges if e.src == dense)
    assert scene.edges[wire].text == "64"  # the canvas's wire label follows
    assert "(None, 64)" in window.summary.toPlainText()
    assert problem_texts(window) == ["No problems: the model is complete."]
    window.undo_stack.undo()
    assert field.value() == 128 and scene.edges[wire].text == "128"


def test_new_from_the_gallery_asks_before_dropping_changes(qtbot, monkeypatch, questions) -> None:
    window = make(qtbot)
    monkeypatch.setattr(TemplateGalleryDialog, "pick", lambda parent: load_template("residual"))
    window.new_dialog()
    assert questions == [] and window.scene.graph.name == "residual"  # nothing to lose
    window.scene.select_all()
    window.scene.delete_selected()
    answers = iter([QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Discard])
    monkeypatch.setattr(QMessageBox, "question", lambda *args: next(answers))
    window.new_dialog()  # cancelled: the edited document stays
    assert not window.scene.graph.nodes and window.isWindowModified()
    window.new_dialog()
    assert window.scene.graph.name == "residual" and len(window.scene.graph.nodes) == 16
    assert not window.isWindowModified() and window.path is None
    assert window.undo_stack.count() == 0


def test_closing_with_changes_can_be_cancelled(qtbot, monkeypatch) -> None:
    window = make(qtbot)
    window.scene.select_all()
    window.scene.delete_selected()
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Cancel)
    assert not window.close()
    assert window.isVisible()
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Discard)
    assert window.close()


def test_the_dock_layout_is_remembered(qtbot) -> None:
    window = make(qtbot)
    history = window.findChild(QDockWidget, "dock_history")
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, history)
    assert window.dockWidgetArea(history) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert window.close()
    again = make(qtbot)
    moved = again.findChild(QDockWidget, "dock_history")
    assert again.dockWidgetArea(moved) == Qt.DockWidgetArea.LeftDockWidgetArea


def test_the_minimap_sits_in_the_canvas_corner_and_can_be_hidden(qtbot) -> None:
    window = make(qtbot)
    minimap, viewport = window.minimap, window.view.viewport()
    assert minimap.isVisible() and minimap.parent() is window.view
    corner = minimap.geometry().bottomRight()
    assert viewport.geometry().contains(corner) or window.view.rect().contains(corner)
    window.minimap_action.trigger()
    assert not minimap.isVisible()
    window.set_graph(load_template("residual"))  # a new canvas keeps the choice
    assert not window.minimap.isVisible()
    window.minimap_action.trigger()
    qtbot.waitUntil(window.minimap.isVisible)  # the new canvas is shown by the event loop
