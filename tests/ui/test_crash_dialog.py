"""An error nobody caught: a dialog with the details and a Copy button, the log file has it,
and the window goes on working. Help ▸ About shows the versions."""

from __future__ import annotations

import sys

import pytest
import torch
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from core.devices import choose_device
from core.templates import load_template
from ui.about import about_text, versions
from ui.crash_dialog import CrashDialog, install, log_file, start_logging
from ui.main_window import MainWindow


@pytest.mark.qt_no_exception_capture
def test_an_uncaught_error_is_shown_logged_and_survived(
    qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # given back after the test
    start_logging()
    install()
    window = MainWindow(load_template("mlp"), restore_layout=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)

    def broken() -> None:
        raise RuntimeError("a bug in a slot")

    QTimer.singleShot(0, broken)

    def shown() -> list[CrashDialog]:
        return [
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, CrashDialog) and w.isVisible()
        ]

    qtbot.waitUntil(lambda: len(shown()) == 1)
    (dialog,) = shown()
    qtbot.addWidget(dialog)
    assert "RuntimeError: a bug in a slot" in dialog.details.toPlainText()
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert "a bug in a slot" in QGuiApplication.clipboard().text()
    assert "a bug in a slot" in log_file().read_text(encoding="utf-8")
    dialog.close()
    before = len(window.scene.graph.nodes)
    assert window.scene.add_layer("Dense", QPointF(0, 600)) is not None  # still working
    assert len(window.scene.graph.nodes) == before + 1


def test_about_names_the_versions_and_the_device() -> None:
    found = versions()
    assert found["PyTorch"] == torch.__version__
    assert found["Training uses"] == choose_device("auto").name
    text = about_text()
    for key in ("Layer Studio", "PyTorch", "Qt", "Training uses", "Log file"):
        assert key in text
