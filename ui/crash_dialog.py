"""What happens to an error nobody caught: it goes to the log file and to a dialog with the
details and a button that copies them, and the window stays alive.

:func:`install` replaces ``sys.excepthook`` (PySide6 calls it for an exception raised in a
slot, then carries on); :func:`log_file` is where the studio's log goes.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QStandardPaths
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

LOG = logging.getLogger("layer_studio")
_SHOWN: list[CrashDialog] = []


def log_file() -> Path:
    """The log file: ``LAYER_STUDIO_DATA`` (tests) or the user's data folder, ``logs/``."""
    base = os.environ.get("LAYER_STUDIO_DATA") or QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.GenericDataLocation
    )
    folder = Path(base) / "layer-studio" / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "studio.log"


def start_logging() -> Path:
    """Log to :func:`log_file` (1 MB, then the older half rotates out); returns its path."""
    path = log_file()
    if not any(isinstance(h, logging.handlers.RotatingFileHandler) for h in LOG.handlers):
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=1_000_000, backupCount=1, encoding="utf-8"
        )
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        LOG.addHandler(handler)
        LOG.setLevel(logging.INFO)
    return path


class CrashDialog(QDialog):
    """ "Something went wrong", what the user can do, and the details to copy for a report."""

    def __init__(self, summary: str, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Something went wrong")
        message = QLabel(
            f"<b>{_escape(summary)}</b><br><br>Your model is still open: save it under a new "
            "name to be safe. If this happens again, copy the details below into a bug report."
        )
        message.setWordWrap(True)
        self.details = QPlainTextEdit(details)
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setMinimumSize(560, 220)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy details")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(message)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)

    def copy(self) -> None:
        """The details on the clipboard."""
        QGuiApplication.clipboard().setText(self.details.toPlainText())
        self.copy_button.setText("Copied")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def report(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> CrashDialog | None:
    """Log an uncaught error and show it; returns the dialog (None without a window)."""
    details = "".join(traceback.format_exception(kind, error, trace))
    LOG.error("Uncaught error:\n%s", details)
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        sys.__excepthook__(kind, error, trace)
        return None
    summary = f"{kind.__name__}: {error}" if str(error) else kind.__name__
    parent = app.activeWindow()
    dialog = CrashDialog(summary, f"Log: {log_file()}\n\n{details}", parent)
    dialog.setModal(True)
    _SHOWN.append(dialog)  # kept alive while shown, whether or not it has a parent
    dialog.finished.connect(lambda _: _SHOWN.remove(dialog))
    dialog.open()  # shown at once, without a nested event loop
    return dialog


def install() -> None:
    """Route uncaught errors to :func:`report`; Ctrl+C still ends the program."""

    def hook(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, trace)
            return
        report(kind, error, trace)

    sys.excepthook = hook
