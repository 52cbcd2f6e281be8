"""First-run help: a welcome in three steps, and the sheet of keyboard shortcuts.

The welcome shows at the first start (``welcome/shown`` in the settings) and from Help ▸
Welcome; the shortcut sheet (Help ▸ Keyboard Shortcuts, F1) lists the window's menu actions
with their keys, so it can never disagree with them, plus the canvas's own keys.
"""

from __future__ import annotations

import html

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ui.settings import studio_settings

STEPS = (
    (
        "Pick a template",
        "File ▸ New… opens the gallery. The <b>MNIST CNN</b> is the tutorial's digit "
        "recogniser; drag more layers from the palette on the left, or press Tab on the canvas.",
    ),
    (
        "Pick your data",
        "On the <b>Data</b> page choose a built-in sample (the <b>digits</b> are small "
        "handwritten numbers), a CSV file or a folder of images. If the model does not fit "
        "the data, <b>Fix the model for this data</b> changes it for you.",
    ),
    (
        "Press Train",
        "On the <b>Train</b> page press <b>Train</b> and watch the curves. Then see how good it "
        "is on <b>Evaluate</b>, try your own input on <b>Try it</b>, and File ▸ Save keeps it "
        "as a .h5 file that Keras opens too.",
    ),
)

#: Keys of the canvas that are not menu actions.
CANVAS_KEYS = (
    ("Tab", "Add a layer (after the selected one)"),
    ("Arrows", "Walk along the wires"),
    ("Shift+Arrows", "Extend the selection"),
    ("C", "Connect the two selected layers"),
    ("Ctrl+Arrows", "Move the selected layers"),
    ("Middle button", "Pan"),
    ("Shift+Tab", "Leave the canvas"),
)


class WelcomeDialog(QDialog):
    """Three steps from nothing to a trained model."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to Layer Studio")
        parts = [
            "<h2>Welcome to Layer Studio</h2>"
            "<p>Build a neural network without writing code, in three steps:</p>"
        ]
        for number, (title, text) in enumerate(STEPS, start=1):
            parts.append(f"<h3>{number}. {title}</h3><p>{text}</p>")
        parts.append("<p>Help ▸ Keyboard Shortcuts (F1) lists every key.</p>")
        self.text = QLabel("".join(parts))
        self.text.setWordWrap(True)
        self.text.setMinimumWidth(480)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start")
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        layout.addWidget(self.text)
        layout.addWidget(buttons)


def shortcut_rows(actions: list[QAction]) -> list[tuple[str, str]]:
    """(keys, what they do) for every action with a shortcut, then the canvas's keys."""
    rows = []
    for action in actions:
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if keys:
            rows.append((keys, action.text().replace("&", "").replace("…", "").strip()))
    return rows + list(CANVAS_KEYS)


class ShortcutSheet(QDialog):
    """Every keyboard shortcut, in a table."""

    def __init__(self, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.rows = shortcut_rows(actions)
        cells = "".join(
            f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;&nbsp;</td><td>{html.escape(w)}</td></tr>"
            for k, w in self.rows
        )
        self.table = QTextBrowser()
        self.table.setHtml(f"<table cellpadding='3'>{cells}</table>")
        self.table.setMinimumSize(420, 480)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)


def show_welcome_once(parent: QWidget) -> WelcomeDialog | None:
    """The welcome at the first start only; returns it when shown."""
    settings = studio_settings()
    if str(settings.value("welcome/shown", "false")).lower() == "true":
        return None
    settings.setValue("welcome/shown", "true")
    dialog = WelcomeDialog(parent)
    dialog.open()
    return dialog
