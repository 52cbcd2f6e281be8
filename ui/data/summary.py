"""What the loaded data holds: its description, the class balance, the split sizes, the notes of
what was done to it on the way in, and a few of its pictures."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget

from core.data.dataset import Description, Splits, describe
from core.data.spec import LoadedData
from ui.data.image_preview import ClassBalanceView, ClassPictures, ThumbnailPanel


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def split_text(splits: Splits, own_test: bool) -> str:
    """``Train 1,078 · validation 360 · test 359 samples`` (test: the file's own, if so)."""
    parts = [f"train {len(splits.train):,}"]
    parts.append(f"validation {len(splits.validation):,}" if splits.validation else "no validation")
    if splits.test is not None:
        parts.append(f"test {len(splits.test):,}" + (" (the file's own)" if own_test else ""))
    else:
        parts.append("no test")
    text = " · ".join(parts) + " samples."
    return text[0].upper() + text[1:]


class SummaryPanel(QWidget):
    """The description of the loaded data (:func:`core.data.describe`), its class balance,
    its notes and, for pictures, a few of each class."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.description: Description | None = None
        self.headline = QLabel("No data yet. Choose some on the left.")
        self.headline.setObjectName("headline")
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.balance_title = QLabel("Samples per class")
        self.balance_title.setObjectName("balance_title")
        self.balance = ClassBalanceView()
        self.balance.setObjectName("balance")
        self.notes = QLabel()
        self.notes.setObjectName("notes")
        self.notes.setWordWrap(True)
        self.notes.setTextFormat(Qt.TextFormat.RichText)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.pictures = ThumbnailPanel()
        self.pictures.setObjectName("pictures")

        about = QGroupBox("The data")
        about_layout = QVBoxLayout(about)
        about_layout.addWidget(self.headline)
        about_layout.addWidget(self.balance_title)
        about_layout.addWidget(self.balance)
        self.notes_box = QGroupBox("What was done to it")
        QVBoxLayout(self.notes_box).addWidget(self.notes)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(about)
        layout.addWidget(self.notes_box)
        layout.addWidget(self.pictures, 1)
        self.stretch = QWidget()
        layout.addWidget(self.stretch, 1)
        self.clear()

    def clear(self) -> None:
        """Show that no data is loaded."""
        self.description = None
        self.headline.setText("No data yet. Choose some on the left.")
        self.balance_title.hide()
        self.balance.set_counts([], [])
        self.notes_box.hide()
        self.pictures.clear()
        self.pictures.hide()
        self.stretch.show()

    def show_data(self, loaded: LoadedData) -> None:
        """Describe ``loaded`` (its training part; a test part of the file is mentioned)."""
        description = describe(loaded.train)
        self.description = description
        lines = description.lines()
        summary = lines[: len(lines) - len(description.notes)]
        if loaded.test is not None:
            summary.append(
                f"The file has its own test set of {_plural(len(loaded.test), 'sample')}."
            )
        first, *rest = (html.escape(line) for line in summary)
        self.headline.setText(f"<b>{first}</b>" + "".join(f"<br>{line}" for line in rest))
        classification = description.task == "classification"
        self.balance_title.setVisible(classification)
        self.balance.set_counts(description.classes, description.counts)
        notes = description.notes
        self.notes.setText(
            "<ul style='margin-left: -20px'>"
            + "".join(f"<li>{html.escape(n)}</li>" for n in notes)
            + "</ul>"
        )
        self.notes_box.setVisible(bool(notes))

    def show_pictures(self, title: str, rows: list[ClassPictures]) -> None:
        """A few pictures per class under ``title`` (none: the preview is hidden)."""
        if rows:
            self.pictures.set_classes(rows, title)
        else:
            self.pictures.clear()
        self.pictures.setVisible(bool(rows))
        self.stretch.setVisible(not rows)

    def lines(self) -> list[str]:
        """What the panel says about the data, as plain text lines (for tests)."""
        return self.description.lines() if self.description is not None else []
