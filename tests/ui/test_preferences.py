"""Edit ▸ Preferences: each choice applies at once and is kept."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from core.templates import load_template
from ui.main_window import MainWindow
from ui.preferences import preferred_device, saved_theme


@pytest.mark.usefixtures("restore_palette")
def test_preferences_apply_at_once_and_are_kept(qtbot) -> None:
    window = MainWindow(load_template("mlp"), restore_layout=False)
    qtbot.addWidget(window)
    dialog = window.preferences()
    qtbot.addWidget(dialog)
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    assert app.palette().color(QPalette.ColorRole.Window).lightness() < 128
    assert saved_theme() == "dark"
    dialog.autosave.setValue(5)
    assert window.autosaver.timer.interval() == 5000 and window.autosaver.timer.isActive()
    dialog.autosave.setValue(0)
    assert not window.autosaver.timer.isActive()  # "never"
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    assert preferred_device() == "cpu"
    other = MainWindow(load_template("mlp"), restore_layout=False)
    qtbot.addWidget(other)
    assert other.training_panel.form.settings().device == "cpu"  # new models start on it
    assert other.autosaver.timer.isActive() is False
