"""Seeing the data: a few pictures of each class, and how many samples each class has.

:class:`ThumbnailPanel` shows one row per class: its name and count, then its pictures.
:class:`ClassBalanceView` draws one bar per class, in the palette's colours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QFontMetrics, QImage, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

#: Pictures are shown in cells this many pixels wide and high.
CELL = 56
#: At most this many classes get a row of pictures (the rest are counted in a line).
MAX_CLASS_ROWS = 40
#: The longest a class's bar is drawn, in pixels.
BAR_MOST = 360


def to_pixmap(picture: np.ndarray, cell: int = CELL) -> QPixmap:
    """A uint8 ``(H, W, 3)`` picture as a pixmap that fits ``cell`` pixels; tiny pictures are
    enlarged by whole pixels, so 8×8 digits stay crisp."""
    pixels = np.ascontiguousarray(picture, dtype=np.uint8)
    height, width = pixels.shape[:2]
    image = QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
    longest = max(height, width)
    if longest * 2 <= cell:
        factor = cell // longest
        return QPixmap.fromImage(
            image.scaled(
                width * factor, height * factor, mode=Qt.TransformationMode.FastTransformation
            )
        )
    if longest > cell:
        image = image.scaled(
            cell,
            cell,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    return QPixmap.fromImage(image)


@dataclass
class ClassPictures:
    """One class's row in the preview: its name, how many samples it has, a few pictures."""

    name: str
    count: int | None
    pictures: list[np.ndarray] = field(default_factory=list)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


class ThumbnailPanel(QWidget):
    """A scrolling grid: a row per class with its name, its count and a few of its pictures."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Pictures")
        self.title.setObjectName("pictures_title")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.more = QLabel()
        self.more.setObjectName("pictures_more")
        self.more.setWordWrap(True)
        self.more.hide()
        self._content = QWidget()
        self._grid = QGridLayout(self._content)
        self._grid.setContentsMargins(4, 4, 4, 4)
        self._grid.setHorizontalSpacing(12)
        self._grid.setVerticalSpacing(8)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidget(self._content)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.StyledPanel)
        self.scroll_area.setBackgroundRole(QPalette.ColorRole.Base)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.scroll_area, 1)
        layout.addWidget(self.more)
        self._rows: list[ClassPictures] = []
        self._labels: list[QWidget] = []

    def set_classes(self, rows: Sequence[ClassPictures], title: str = "Pictures") -> None:
        """Show ``rows`` (one per class) under ``title``."""
        self.clear()
        self.title.setText(title)
        self._rows = list(rows)
        for r, row in enumerate(self._rows[:MAX_CLASS_ROWS]):
            caption = QLabel(
                f"<b>{_escape(row.name)}</b><br>"
                + (_plural(row.count, "sample") if row.count is not None else "")
            )
            caption.setObjectName("class_caption")
            caption.setMinimumWidth(90)
            caption.setMaximumWidth(160)
            caption.setWordWrap(True)
            caption.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            strip = QWidget()
            strip_layout = QHBoxLayout(strip)
            strip_layout.setContentsMargins(0, 0, 0, 0)
            strip_layout.setSpacing(4)
            for picture in row.pictures:
                cell = QLabel()
                cell.setObjectName("thumbnail")
                cell.setFixedSize(CELL + 4, CELL + 4)
                cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
                cell.setFrameShape(QFrame.Shape.Box)
                cell.setPixmap(to_pixmap(picture))
                strip_layout.addWidget(cell)
            if not row.pictures:
                empty = QLabel("(no picture could be shown)")
                empty.setEnabled(False)
                strip_layout.addWidget(empty)
            strip_layout.addStretch(1)
            self._grid.addWidget(caption, r, 0)
            self._grid.addWidget(strip, r, 1)
            self._labels += [caption, strip]
        hidden = len(self._rows) - MAX_CLASS_ROWS
        self.more.setText(f"… and {_plural(hidden, 'more class')} not shown." if hidden > 0 else "")
        self.more.setVisible(hidden > 0)
        self.setVisible(bool(self._rows))

    def clear(self) -> None:
        """Remove every row."""
        for widget in self._labels:
            self._grid.removeWidget(widget)
            widget.deleteLater()
        self._labels = []
        self._rows = []

    def classes(self) -> list[ClassPictures]:
        """The rows shown, in order."""
        return list(self._rows)

    def captions(self) -> list[str]:
        """Each row's caption as plain text (``cats: 12 samples``)."""
        return [
            f"{row.name}: {_plural(row.count, 'sample')}" if row.count is not None else row.name
            for row in self._rows[:MAX_CLASS_ROWS]
        ]

    def thumbnail_labels(self) -> list[QLabel]:
        """The labels that hold pictures (for tests and screenshots)."""
        return self._content.findChildren(QLabel, "thumbnail")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class ClassBalanceView(QWidget):
    """One horizontal bar per class, as long as its share of the samples, with the count."""

    ROW = 20
    MOST = 20

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._names: list[str] = []
        self._counts: list[int] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_counts(self, names: Sequence[str], counts: Sequence[int]) -> None:
        """Show these classes and their sample counts (empty: nothing)."""
        self._names, self._counts = list(names), [int(c) for c in counts]
        self.updateGeometry()
        self.setFixedHeight(self.sizeHint().height())
        self.setVisible(bool(self._names))
        self.update()

    def counts(self) -> dict[str, int]:
        """The classes shown and their counts."""
        return dict(zip(self._names, self._counts, strict=True))

    def _shown(self) -> int:
        return len(self._names) if len(self._names) <= self.MOST else self.MOST - 1

    def sizeHint(self) -> QSize:
        rows = self._shown() + (1 if len(self._names) > self._shown() else 0)
        return QSize(240, max(1, rows) * self.ROW + 4)

    def paintEvent(self, event: object) -> None:
        if not self._names:
            return
        painter = QPainter(self)
        palette = self.palette()
        metrics = QFontMetrics(self.font())
        total = max(1, sum(self._counts))
        top = max(self._counts) or 1
        name_width = min(
            max(metrics.horizontalAdvance(n) for n in self._names) + 14, self.width() // 3
        )
        count_width = max(metrics.horizontalAdvance(f"{c:,} (100%)") for c in self._counts) + 8
        bar_room = max(10, min(BAR_MOST, self.width() - name_width - count_width - 8))
        text = palette.color(QPalette.ColorRole.WindowText)
        bar = palette.color(QPalette.ColorRole.Highlight)
        track = palette.color(QPalette.ColorRole.Midlight)
        for i in range(self._shown()):
            y = 2 + i * self.ROW
            name = metrics.elidedText(self._names[i], Qt.TextElideMode.ElideRight, name_width - 8)
            painter.setPen(text)
            painter.drawText(
                QRect(0, y, name_width - 8, self.ROW),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                name,
            )
            painter.fillRect(QRect(name_width, y + 4, bar_room, self.ROW - 8), track)
            length = round(bar_room * self._counts[i] / top)
            painter.fillRect(QRect(name_width, y + 4, length, self.ROW - 8), bar)
            share = 100 * self._counts[i] / total
            painter.drawText(
                QRect(name_width + bar_room + 8, y, count_width, self.ROW),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                f"{self._counts[i]:,} ({share:.0f}%)",
            )
        rest = len(self._names) - self._shown()
        if rest > 0:
            y = 2 + self._shown() * self.ROW
            painter.setPen(text)
            painter.drawText(
                QRect(name_width, y, self.width() - name_width, self.ROW),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                f"… and {rest:,} more classes",
            )
        painter.end()
