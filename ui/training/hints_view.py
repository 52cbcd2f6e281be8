"""The hints under the training curves (:mod:`core.training_hints`), an icon and a sentence or
two each."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QStyle, QVBoxLayout, QWidget

from core.training_hints import Hint

_ALARMS = ("diverging", "overfitting", "noisy")


class HintsView(QFrame):
    """The hints under the curves: an icon and a sentence or two each."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.rows: list[QWidget] = []
        self.hints: list[Hint] = []
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(8, 6, 8, 6)
        self.show_hints([], waiting=True)

    def show_hints(self, found: Sequence[Hint], waiting: bool = False) -> None:
        """Show ``found``; when there are none, say why (too early, or all looks well)."""
        self.hints = list(found)
        for row in self.rows:
            row.hide()
            row.deleteLater()
        icon = QStyle.StandardPixmap
        lines = [
            (
                icon.SP_MessageBoxWarning if h.kind in _ALARMS else icon.SP_MessageBoxInformation,
                f"<b>{h.title}.</b> {h.text}",
            )
            for h in found
        ]
        if not lines:
            waiting_text = "Hints about how the training goes appear here after a few epochs."
            quiet = "No problems spotted so far: the curves look healthy."
            lines = [(icon.SP_MessageBoxInformation, waiting_text if waiting else quiet)]
        self.rows = []
        for pixmap, text in lines:
            row = QWidget()
            box = QHBoxLayout(row)
            box.setContentsMargins(0, 0, 0, 0)
            picture = QLabel()
            picture.setPixmap(self.style().standardIcon(pixmap).pixmap(18, 18))
            picture.setAlignment(Qt.AlignmentFlag.AlignTop)
            words = QLabel(text)
            words.setWordWrap(True)
            words.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            box.addWidget(picture)
            box.addWidget(words, 1)
            self.column.addWidget(row)
            self.rows.append(row)

    def texts(self) -> list[str]:
        """The hints' texts."""
        return [h.text for h in self.hints]
