"""The column of settings boxes on the left of the Data and Train pages."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget


def side_column(
    boxes: Sequence[QWidget], width: tuple[int, int], right_margin: int = 0
) -> QScrollArea:
    """``boxes`` stacked from the top in a scroll area ``width`` = (least, most) pixels wide,
    which scrolls down (never across) when the page is too short for them."""
    column = QWidget()
    layout = QVBoxLayout(column)
    layout.setContentsMargins(0, 0, right_margin, 0)
    for box in boxes:
        layout.addWidget(box)
    layout.addStretch(1)
    scroll = QScrollArea()
    scroll.setWidget(column)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setMinimumWidth(width[0])
    scroll.setMaximumWidth(width[1])
    return scroll
