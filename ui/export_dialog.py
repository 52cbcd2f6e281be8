"""The Export dialog: pick a format, read the code (highlighted), copy it or save it.

The preview is what the file will hold: the PyTorch script, the Keras code, or for ONNX (a
binary file) a description of its inputs and outputs with how to run it.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QPalette,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.export import FORMATS, ExportError, ExportRequest, export_files, write_export

#: Colours of each kind of token, for light and for dark backgrounds.
_COLOURS = {
    "keyword": ("#8839ef", "#cba6f7"),
    "string": ("#40a02b", "#a6e3a1"),
    "comment": ("#7c7f93", "#9399b2"),
    "number": ("#d2640f", "#fab387"),
    "name": ("#1e66f5", "#89b4fa"),
}
_RULES = [
    ("keyword", r"\b(?:" + "|".join(keyword.kwlist) + r")\b"),
    ("number", r"\b\d+(?:\.\d+)?(?:e-?\d+)?\b"),
    ("name", r"(?<=\bdef )\w+|(?<=\bclass )\w+|@\w+"),
    ("string", r"\"[^\"\n]*\"|'[^'\n]*'"),
    ("comment", r"#[^\n]*"),
]
_DOCSTRING = 1  # block state: inside a triple-quoted string


class PythonHighlighter(QSyntaxHighlighter):
    """Keywords, strings, docstrings, comments, numbers and defined names, in colours that
    read well on the palette's background (light or dark)."""

    def __init__(self, document: QTextDocument, palette: QPalette) -> None:
        super().__init__(document)
        dark = palette.color(QPalette.ColorRole.Base).lightness() < 128
        self.formats: dict[str, QTextCharFormat] = {}
        for kind, (light_colour, dark_colour) in _COLOURS.items():
            style = QTextCharFormat()
            style.setForeground(QColor(dark_colour if dark else light_colour))
            if kind == "keyword":
                style.setFontWeight(QFont.Weight.DemiBold)
            if kind == "comment":
                style.setFontItalic(True)
            self.formats[kind] = style
        self.rules = [(kind, re.compile(pattern)) for kind, pattern in _RULES]

    def highlightBlock(self, text: str) -> None:
        for kind, pattern in self.rules:
            for match in pattern.finditer(text):
                self.setFormat(match.start(), match.end() - match.start(), self.formats[kind])
        inside = self.previousBlockState() == _DOCSTRING
        begin, start = 0, 0  # where the open docstring began in this line; where to look
        self.setCurrentBlockState(0)
        while True:
            found = text.find('"""', start)
            if not inside and found < 0:
                return
            if not inside:
                inside, begin, start = True, found, found + 3
                continue
            end = len(text) if found < 0 else found + 3
            self.setFormat(begin, end - begin, self.formats["string"])
            if found < 0:
                self.setCurrentBlockState(_DOCSTRING)
                return
            inside, start = False, end


class ExportDialog(QDialog):
    """The preview of an export in each format, with Copy and Save.

    Args:
        request: Gives what to export (called when the dialog opens and before saving, so
            the preview shows the document as it is).
        stem: The suggested file name without its suffix (the document's name).
        folder: Where the save dialog starts.
    """

    def __init__(
        self,
        request: Callable[[], ExportRequest],
        stem: str,
        folder: Path,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export the model")
        self.request_of = request
        self.stem, self.folder = stem, folder
        self.format_box = QComboBox()
        for key, (_, title) in FORMATS.items():
            self.format_box.addItem(title, key)
        self.code = QPlainTextEdit()
        self.code.setReadOnly(True)
        self.code.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.code.setFont(font)
        self.code.setMinimumSize(640, 420)
        self.highlighter = PythonHighlighter(self.code.document(), self.palette())
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_button = QPushButton("Copy")
        self.save_button = QPushButton("Save…")
        close = QPushButton("Close")
        self.save_button.setDefault(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Format:"))
        top.addWidget(self.format_box)
        top.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        for button in (self.copy_button, self.save_button, close):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.code, 1)
        layout.addLayout(buttons)
        self.format_box.currentIndexChanged.connect(self.refresh)
        self.copy_button.clicked.connect(self.copy)
        self.save_button.clicked.connect(self.save)
        close.clicked.connect(self.reject)
        self.resize(860, 640)
        self.refresh()

    def current_format(self) -> str:
        """The chosen format's key (``"pytorch"``)."""
        return str(self.format_box.currentData())

    def refresh(self) -> None:
        """Show the chosen format's preview, or why the model cannot be exported so."""
        try:
            files = export_files(self.request_of(), self.current_format(), self.stem)
        except ExportError as err:
            self.code.setPlainText("")
            self._say(str(err), error=True)
            self.copy_button.setEnabled(False)
            self.save_button.setEnabled(False)
            return
        self.code.setPlainText(files.text)
        self._say("")
        self.copy_button.setEnabled(True)
        self.save_button.setEnabled(True)

    def copy(self) -> None:
        """Put the whole preview on the clipboard."""
        QGuiApplication.clipboard().setText(self.code.toPlainText())
        self._say("Copied to the clipboard.")

    def save(self) -> None:
        """Ask where, then write the file and its companions."""
        fmt = self.current_format()
        suffix, title = FORMATS[fmt]
        ending = "_keras" if fmt == "keras" else ""
        suggested = self.folder / f"{self.stem}{ending}{suffix}"
        path, _ = QFileDialog.getSaveFileName(
            self, f"Save the {title}", str(suggested), f"{title} (*{suffix})"
        )
        if not path:
            return
        try:
            written = write_export(self.request_of(), fmt, path)
        except ExportError as err:
            self._say(str(err), error=True)
            return
        extra = f", with {', '.join(p.name for p in written[1:])} beside it" if written[1:] else ""
        self._say(f"Wrote {written[0]}{extra}.")

    def _say(self, text: str, *, error: bool = False) -> None:
        palette = self.palette()
        colour = palette.color(QPalette.ColorRole.WindowText).name()
        if error:
            dark = palette.color(QPalette.ColorRole.Window).lightness() < 128
            colour = "#f38ba8" if dark else "#d20f39"
        self.message.setStyleSheet(f"color: {colour};")
        self.message.setText(text)
