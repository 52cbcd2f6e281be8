"""Nothing is lost to a crash: unsaved work is autosaved, a killed studio offers it back at the
next start, and a normal close or a save leaves nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from core.compile import compile_graph
from core.h5io import save_model
from core.templates import load_template
from ui.main_window import MainWindow
from ui.recovery import left_behind, offer_recovery

CRASHING = textwrap.dedent(
    """
    import os, signal
    from PySide6.QtCore import QPointF, QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from ui.main_window import MainWindow
    window = MainWindow(restore_layout=False)
    window.autosaver.set_interval(0.2)
    window.scene.add_layer("Dense", QPointF(600, 900))  # an edit, never saved
    window.scene.graph.rename(window.scene.graph.topological_order()[-1], "unsaved_dense")
    window.show()
    QTimer.singleShot(2000, lambda: os.kill(os.getpid(), signal.SIGKILL))
    app.exec()
    """
)


@pytest.fixture
def data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LAYER_STUDIO_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


def test_killed_mid_edit_the_work_is_offered_back(
    qtbot, data_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**os.environ, "LAYER_STUDIO_DATA": str(data_folder), "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", CRASHING], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == -9, done.stderr  # killed, as a crash would
    (recovery,) = left_behind()
    assert recovery.original is None and recovery.name == "mnist_cnn"
    window = MainWindow(restore_layout=False)
    qtbot.addWidget(window)
    window.show()
    dialog = offer_recovery(window)
    assert dialog is not None and dialog.isVisible()
    assert "did not close properly" in dialog.findChild(QLabel).text()
    assert dialog.choices.count() == 1 and "mnist_cnn" in dialog.choices.item(0).text()
    qtbot.keyClick(dialog.choices, Qt.Key.Key_Return)  # Recover is the default button
    assert dialog.recovered == recovery and not dialog.isVisible()
    names = {node.name for node in window.scene.graph.nodes.values()}
    assert "unsaved_dense" in names
    assert window.isWindowModified() and window.path is None
    assert left_behind() == []  # now this session's own autosave keeps it
    window.close()
    assert list(data_folder.glob("*.h5")) == []  # closed on purpose: nothing to recover


def test_autosave_only_with_unsaved_changes_and_never_after_a_save(
    qtbot, data_folder: Path, tmp_path: Path
) -> None:
    window = MainWindow(load_template("mlp"), restore_layout=False)
    qtbot.addWidget(window)
    assert not window.autosaver.save_now() and not window.autosaver.path.exists()
    window.weights_changed = True  # as training leaves it
    assert window.autosaver.save_now() and window.autosaver.path.exists()
    assert window.save_to(tmp_path / "saved.h5")
    assert not window.autosaver.path.exists()


def test_discard_deletes_the_left_work(qtbot, data_folder: Path, monkeypatch) -> None:
    window = MainWindow(load_template("mlp"), restore_layout=False)
    qtbot.addWidget(window)
    window.weights_changed = True
    assert window.autosaver.save_now()
    info = window.autosaver.path.with_suffix(".json")
    record = json.loads(info.read_text())
    info.write_text(json.dumps({**record, "pid": 999_999_999}))  # a process that is gone
    other = MainWindow(load_template("mlp"), restore_layout=False)
    qtbot.addWidget(other)
    dialog = other.show_recovery()  # File ▸ Recover Unsaved Work…
    assert dialog is not None
    qtbot.mouseClick(dialog.discard_button, Qt.MouseButton.LeftButton)
    assert left_behind() == [] and not window.autosaver.path.exists()
    assert not dialog.isVisible()  # nothing left to show
    assert other.show_recovery() is None
    assert "no unsaved work" in other.statusBar().currentMessage()


def left_by_a_crash(folder: Path, name: str, saved_at: float, original: Path | None) -> Path:
    """A recovery file as a killed studio leaves it."""
    model = folder / f"{abs(hash(name))}-1.h5"
    graph = load_template("mlp")
    graph.name = name
    save_model(model, graph, compile_graph(graph, seed=0))
    record = {
        "pid": 999_999_999,  # a process that is gone
        "original": str(original) if original else None,
        "name": name,
        "saved_at": saved_at,
    }
    model.with_suffix(".json").write_text(json.dumps(record))
    return model


def test_several_left_behind_are_listed_and_each_can_be_recovered(
    qtbot, data_folder: Path, tmp_path: Path, questions: list[str]
) -> None:
    folder = data_folder / "layer-studio" / "recovery"
    folder.mkdir(parents=True)
    left_by_a_crash(folder, "older", 1_700_000_000, tmp_path / "older.h5")
    left_by_a_crash(folder, "newer", 1_700_003_600, None)
    window = MainWindow(load_template("mlp"), restore_layout=False)
    qtbot.addWidget(window)
    window.show()
    dialog = offer_recovery(window)
    assert dialog is not None
    rows = [dialog.choices.item(i).text() for i in range(dialog.choices.count())]
    assert rows[0].startswith("newer — never saved — kept at ")
    assert rows[1].startswith("older — older.h5 — kept at ")
    dialog.choices.setCurrentRow(1)
    qtbot.mouseClick(dialog.recover_button, Qt.MouseButton.LeftButton)
    assert window.scene.graph.name == "older" and window.path == tmp_path / "older.h5"
    assert "one more piece" in window.statusBar().currentMessage()
    (rest,) = left_behind()
    assert rest.name == "newer"
    later = window.show_recovery()
    assert later is not None and later.choices.count() == 1
    qtbot.mouseClick(later.later_button, Qt.MouseButton.LeftButton)
    assert [r.name for r in left_behind()] == ["newer"]  # Later keeps it
    again = window.show_recovery()
    assert again is not None
    qtbot.mouseClick(again.recover_button, Qt.MouseButton.LeftButton)
    assert "recovering other work" in questions[-1]  # "older" is unsaved: asked first
    assert window.scene.graph.name == "newer" and left_behind() == []
