"""Edit ▸ Preferences: each choice applies at once and is kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from core.data import cache
from core.data.images import read_image_folder
from core.templates import load_template
from ui.main_window import MainWindow
from ui.preferences import preferred_device, saved_theme
from ui.settings import apply_cache_settings, studio_settings


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


@pytest.fixture
def chosen_cache(tmp_path, monkeypatch) -> Iterator[Path]:
    """No LAYER_STUDIO_CACHE, so Preferences choose; the default configuration afterwards."""
    monkeypatch.delenv(cache.ENVIRONMENT, raising=False)
    yield tmp_path / "my cache"
    cache.configure()


def test_the_data_cache_folder_limit_and_emptying(qtbot, tmp_path, chosen_cache: Path) -> None:
    window = MainWindow(load_template("mlp"), restore_layout=False)
    qtbot.addWidget(window)
    dialog = window.preferences()
    qtbot.addWidget(dialog)
    rows = dialog.cache
    assert rows.folder.isEnabled() and rows.folder.placeholderText() == str(
        cache.default_cache_folder()
    )
    rows.folder.setFocus()
    qtbot.keyClicks(rows.folder, str(chosen_cache))
    qtbot.keyClick(rows.folder, Qt.Key.Key_Return)
    assert cache.cache_folder() == chosen_cache
    assert studio_settings().value("data/cache_folder") == str(chosen_cache)
    pictures = tmp_path / "pictures"
    for name, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
        (pictures / name).mkdir(parents=True)
        Image.new("RGB", (8, 8), colour).save(pictures / name / "a.png")
    read_image_folder(pictures, size=(4, 4))
    assert len(list(chosen_cache.glob("*.npz"))) == 1
    again = window.preferences()
    qtbot.addWidget(again)
    assert again.cache.folder.text() == str(chosen_cache)  # kept
    assert "(1 folder)" in again.cache.usage.text()
    qtbot.mouseClick(again.cache.empty, Qt.MouseButton.LeftButton)
    assert again.cache.usage.text().startswith("Freed") and cache.usage() == (0, 0)
    again.cache.limit.setValue(0.5)
    assert cache.cache_limit() == 500_000_000
    qtbot.mouseClick(again.cache.enabled, Qt.MouseButton.LeftButton)  # off
    assert cache.cache_folder() is None and not again.cache.folder.isEnabled()
    assert "Off" in again.cache.usage.text()
    apply_cache_settings()  # as at the next start
    assert cache.cache_folder() is None and cache.cache_limit() == 500_000_000
    dialog.grab().save(str(tmp_path / "preferences.png"))


def test_the_environment_variable_fixes_the_folder(qtbot, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(cache.ENVIRONMENT, str(tmp_path / "from-env"))
    window = MainWindow(load_template("mlp"), restore_layout=False)
    qtbot.addWidget(window)
    dialog = window.preferences()
    qtbot.addWidget(dialog)
    assert not dialog.cache.folder.isEnabled() and not dialog.cache.choose.isEnabled()
    assert cache.cache_folder() == tmp_path / "from-env"
