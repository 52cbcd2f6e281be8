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
from PySide6.QtWidgets import QMessageBox

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
    asked: list[str] = []

    def recover(*args: object, **kwargs: object) -> QMessageBox.StandardButton:
        asked.append(str(args[2]))
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", recover)
    window = MainWindow(restore_layout=False)
    qtbot.addWidget(window)
    assert offer_recovery(window) is not None
    assert "did not close properly" in asked[0]
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
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    other = MainWindow(load_template("mlp"), restore_layout=False)
    qtbot.addWidget(other)
    assert offer_recovery(other) is None
    assert left_behind() == [] and not window.autosaver.path.exists()
