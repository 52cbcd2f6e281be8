"""File ▸ Open Recent remembers what was opened and saved; a file dropped on the window opens:
a model as the document, data on the Data page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMenu

from core.compile import compile_graph
from core.h5io import save_model
from core.templates import load_template
from ui.main_window import MainWindow


def model_file(folder: Path, template: str) -> Path:
    graph = load_template(template)
    path = folder / f"{template}.h5"
    save_model(path, graph, compile_graph(graph, seed=0))
    return path


def recent_menu(window: MainWindow) -> QMenu:
    (menu,) = [m for m in window.findChildren(QMenu) if m.title() == "Open &Recent"]
    menu.aboutToShow.emit()
    return menu


def drop(window: MainWindow, path: Path) -> tuple[bool, bool]:
    """(accepted as a drag, opened) for ``path`` dragged onto the window."""
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path))])
    point, action = QPointF(20, 20), Qt.DropAction.CopyAction
    buttons, keys = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(point.toPoint(), action, data, buttons, keys)
    enter.ignore()
    window.dragEnterEvent(enter)
    return enter.isAccepted(), window.take_drop(QDropEvent(point, action, data, buttons, keys))


def test_recent_files_newest_first_and_they_open(qtbot, tmp_path: Path) -> None:
    window = MainWindow(restore_layout=False)
    qtbot.addWidget(window)
    first, second = model_file(tmp_path, "mlp"), model_file(tmp_path, "residual")
    assert window.open_path(first) and window.open_path(second)
    saved = tmp_path / "copy.h5"
    assert window.save_to(saved)
    names = [a.text() for a in recent_menu(window).actions()]
    assert names == ["&1  copy.h5", "&2  residual.h5", "&3  mlp.h5"]
    recent_menu(window).actions()[2].trigger()
    assert window.path == first and window.scene.graph.name == "mlp"
    first.unlink()  # gone since: left out
    assert "&1  mlp.h5" not in [a.text() for a in recent_menu(window).actions()]


def test_dropped_files_open(qtbot, tmp_path: Path) -> None:
    window = MainWindow(restore_layout=False)
    qtbot.addWidget(window)
    window.show()
    assert drop(window, model_file(tmp_path, "mlp")) == (True, True)
    assert window.scene.graph.name == "mlp"
    rows = ["a,b,label"] + [f"{i},{i % 3},{'xy'[i % 2]}" for i in range(30)]
    csv = tmp_path / "table.csv"
    csv.write_text("\n".join(rows) + "\n")
    assert drop(window, csv) == (True, True)
    assert window.current_page() is window.data_panel
    picture = tmp_path / "photo.png"
    picture.write_bytes(np.zeros(8, np.uint8).tobytes())
    assert drop(window, picture) == (False, False)
