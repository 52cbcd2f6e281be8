"""Where the studio keeps what it remembers between runs (``QSettings``, an INI file per user).

Tests point :func:`QSettings.setPath` at a temporary folder, so they never touch a user's file.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

ORGANISATION = "layer-studio"
APPLICATION = "layer-studio"


def studio_settings() -> QSettings:
    """The user's settings file (``~/.config/layer-studio/layer-studio.ini`` on Linux)."""
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION
    )
