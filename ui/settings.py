"""Where the studio keeps what it remembers between runs (``QSettings``, an INI file per user).

Tests point :func:`QSettings.setPath` at a temporary folder, so they never touch a user's file.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

from core.data import cache

ORGANISATION = "layer-studio"
APPLICATION = "layer-studio"


def studio_settings() -> QSettings:
    """The user's settings file (``~/.config/layer-studio/layer-studio.ini`` on Linux)."""
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION
    )


GB = 1e9  # the cache's limit is chosen in (decimal) gigabytes


def flag(value: object, default: bool) -> bool:
    """A yes/no from the settings file (an INI file gives the text ``true``/``false``)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("false", "0", "no", "off", "")


def cache_limit_gb() -> float:
    """The most the data cache keeps, in GB (2 unless Preferences say otherwise)."""
    value = studio_settings().value("data/cache_limit_gb", cache.DEFAULT_LIMIT / GB)
    try:
        return min(1000.0, max(0.1, float(str(value))))
    except ValueError:
        return cache.DEFAULT_LIMIT / GB


def cache_enabled() -> bool:
    """Whether decoded data is cached (on unless Preferences turned it off)."""
    return flag(studio_settings().value("data/cache_enabled"), True)


def apply_cache_settings() -> None:
    """Give the saved cache choices to the data layer (at start, and after each change)."""
    settings = studio_settings()
    cache.configure(
        str(settings.value("data/cache_folder", "") or "") or None,
        enabled=cache_enabled(),
        limit=round(cache_limit_gb() * GB),
    )
