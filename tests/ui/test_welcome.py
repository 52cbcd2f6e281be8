"""The welcome shows once, in three steps; the shortcut sheet lists the window's real keys."""

from __future__ import annotations

from PySide6.QtWidgets import QMenu

from core.templates import load_template
from ui.main_window import MainWindow
from ui.welcome import ShortcutSheet, WelcomeDialog, show_welcome_once


def test_the_welcome_shows_at_the_first_start_only(qtbot) -> None:
    window = MainWindow(load_template("mlp"), restore_layout=False)
    qtbot.addWidget(window)
    first = show_welcome_once(window)
    assert isinstance(first, WelcomeDialog) and first.isVisible()
    text = first.text.text()
    for step in ("1. Pick a template", "2. Pick your data", "3. Press Train"):
        assert step in text
    first.accept()
    assert show_welcome_once(window) is None


def test_the_shortcut_sheet_lists_the_menu_keys(qtbot) -> None:
    window = MainWindow(load_template("mlp"), restore_layout=False)
    qtbot.addWidget(window)
    (help_menu,) = [m for m in window.menuBar().findChildren(QMenu) if m.title() == "&Help"]
    (entry,) = [a for a in help_menu.actions() if a.text() == "&Keyboard Shortcuts"]
    entry.trigger()
    (sheet,) = window.findChildren(ShortcutSheet)
    rows = dict(sheet.rows)
    assert rows["Ctrl+E"] == "Export" and rows["Ctrl+S"] == "Save" and rows["F1"]
    assert rows["Ctrl+Z"] == "Undo" and rows["Tab"].startswith("Add a layer")
    text = sheet.table.toPlainText()
    assert "Ctrl+E" in text and "Export" in text
