"""Icons for layer kinds, painted from the catalog: a colour per category and a short label.

Painting them (rather than shipping one SVG per kind) means a new kind gets an icon with no
extra file, and every icon is sharp at any screen scale.
"""

from __future__ import annotations

import re
from functools import cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

from core.catalog import CATEGORY_ORDER
from core.layers import get_spec

#: One calm colour per palette category (readable in light and dark themes).
CATEGORY_COLOURS: dict[str, str] = dict(
    zip(
        CATEGORY_ORDER,
        ("#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#9d755d", "#72b7b2", "#eeca3b"),
        strict=True,
    )
)
_OTHER = "#888888"


def category_colour(category: str) -> QColor:
    """The colour of a category (grey for one the palette does not list)."""
    return QColor(CATEGORY_COLOURS.get(category, _OTHER))


def kind_label(kind: str) -> str:
    """Two or three characters that stand for a kind: ``Conv2D`` -> ``C2``, ``Dense`` -> ``De``,
    ``MaxPooling2D`` -> ``MP2``."""
    dims = re.search(r"([123])D", kind)
    base = kind.replace(dims.group(0), "") if dims else kind
    initials = re.findall(r"[A-Z]", base)
    start = "".join(initials[:2]) if len(initials) >= 2 else base[: 1 if dims else 2]
    return start + (dims.group(1) if dims else "")


@cache
def kind_icon(kind: str, size: int = 64) -> QIcon:
    """The icon of a layer kind: a rounded square in its category's colour with its label."""
    colour = category_colour(get_spec(kind).category)
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    margin = size * 0.06
    rect = QRectF(margin, margin, size - 2 * margin, size - 2 * margin)
    painter.drawRoundedRect(rect, size * 0.2, size * 0.2)
    text = kind_label(kind)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(int(size * (0.42 if len(text) <= 2 else 0.34)))
    painter.setFont(font)
    light = colour.lightnessF() > 0.62
    painter.setPen(QColor("#202020") if light else QColor("#ffffff"))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return QIcon(pixmap)


def app_icon() -> QIcon:
    """The studio's own icon (``resources/icons/layer-studio.svg``), for windows and menus."""
    from importlib.resources import as_file, files

    with as_file(files("resources") / "icons" / "layer-studio.svg") as path:
        return QIcon(QPixmap(str(path)))
