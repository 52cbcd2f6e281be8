"""File ▸ Export…: the preview follows the format, Copy copies it, Save writes what the
command line writes, and a model that cannot be exported says why."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QFileDialog

from core.export import export_files
from core.templates import load_template
from ui.export_dialog import ExportDialog
from ui.main_window import MainWindow
from ui.theme import apply_theme

SHOTS = Path("/tmp/shots")


@pytest.fixture
def window(qtbot) -> MainWindow:
    w = MainWindow(load_template("mnist_cnn"), restore_layout=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def open_from_menu(window: MainWindow, qtbot) -> ExportDialog:
    (action,) = [a for a in window.findChildren(type(window.undo_action)) if a.text() == "&Export…"]
    assert action.shortcut().toString() == "Ctrl+E"
    action.trigger()
    dialog = window.findChild(ExportDialog)
    assert isinstance(dialog, ExportDialog)
    qtbot.addWidget(dialog)
    qtbot.waitExposed(dialog)
    return dialog


def choose(dialog: ExportDialog, qtbot, fmt: str) -> None:
    """Pick a format with the keyboard, as a user would."""
    box = dialog.format_box
    box.setFocus()
    target = box.findData(fmt)
    while box.currentIndex() != target:
        key = Qt.Key.Key_Down if box.currentIndex() < target else Qt.Key.Key_Up
        qtbot.keyClick(box, key)


def test_the_preview_follows_the_format_and_copies(window: MainWindow, qtbot) -> None:
    dialog = open_from_menu(window, qtbot)
    assert dialog.current_format() == "pytorch"
    assert "class MnistCnn(nn.Module):" in dialog.code.toPlainText()
    choose(dialog, qtbot, "keras")
    text = dialog.code.toPlainText()
    assert "keras.Sequential(" in text and "name='conv2d'" in text
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == text
    choose(dialog, qtbot, "onnx")
    assert (
        "onnxruntime" in dialog.code.toPlainText()
        and "batch × 1×28×28" in dialog.code.toPlainText()
    )


def test_save_writes_the_files_of_the_format(
    window: MainWindow, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "cnn.py"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    dialog = open_from_menu(window, qtbot)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    expected = export_files(window.export_request(), "pytorch", "cnn")
    assert target.read_bytes() == expected.main
    assert str(target) in dialog.message.text()


def test_a_model_that_cannot_be_exported_says_why(window: MainWindow, qtbot) -> None:
    graph = window.scene.graph
    dense = next(n for n in graph.nodes.values() if n.kind == "Dense")
    window.scene.graph.remove_node(dense.id)
    dialog = open_from_menu(window, qtbot)
    assert "not complete yet" in dialog.message.text()
    assert not dialog.save_button.isEnabled() and not dialog.copy_button.isEnabled()
    choose(dialog, qtbot, "onnx")
    assert "not complete yet" in dialog.message.text()


@pytest.mark.usefixtures("restore_palette")
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshots(window: MainWindow, qtbot, theme: str) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, theme)  # type: ignore[arg-type]
    dialog = open_from_menu(window, qtbot)
    SHOTS.mkdir(exist_ok=True)
    assert dialog.grab().save(str(SHOTS / f"export_pytorch_{theme}.png"))
    choose(dialog, qtbot, "keras")
    assert dialog.grab().save(str(SHOTS / f"export_keras_{theme}.png"))
