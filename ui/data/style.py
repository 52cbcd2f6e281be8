"""Message colours that read well on the light and the dark palette alike."""

from __future__ import annotations

from typing import Literal

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLabel, QWidget

Tone = Literal["plain", "error", "good"]

_COLOURS = {  # (on a light window, on a dark one)
    "error": ("#c62828", "#ff6b68"),
    "good": ("#2e7d32", "#7bc47f"),
}


def is_dark() -> bool:
    """Whether the application's palette has a dark window colour."""
    return QApplication.palette().color(QPalette.ColorRole.Window).lightnessF() < 0.5


def tone_colour(tone: Tone) -> str | None:
    """The text colour of ``tone`` on the application's palette (None: the palette's own)."""
    if tone == "plain":
        return None
    light, dark = _COLOURS[tone]
    return dark if is_dark() else light


def set_tone(label: QLabel, tone: Tone) -> None:
    """Colour ``label``'s text for ``tone``; call again when the palette changes."""
    label.setProperty("tone", tone)
    colour = tone_colour(tone)
    label.setStyleSheet(f"color: {colour};" if colour else "")


def refresh_tones(root: QWidget) -> None:
    """Recolour every label under ``root`` that :func:`set_tone` coloured (a theme switch)."""
    for label in root.findChildren(QLabel):
        tone = label.property("tone")
        if tone in ("plain", "error", "good"):
            set_tone(label, tone)
