"""What ``pip install layer-studio`` puts on a Linux desktop: a menu entry that starts the
``layer-studio`` command, with the studio's icon."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from PySide6.QtGui import QIcon

tomllib = pytest.importorskip("tomllib")  # Python 3.11 and later

ROOT = Path(__file__).resolve().parents[2]


def test_the_desktop_entry_starts_the_command_with_the_icon() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data_files = project["tool"]["setuptools"]["data-files"]
    (entry,) = data_files["share/applications"]
    (icon,) = data_files["share/icons/hicolor/scalable/apps"]
    assert (ROOT / entry).is_file() and (ROOT / icon).is_file()
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.optionxform = str  # type: ignore[assignment,method-assign]
    desktop.read(ROOT / entry, encoding="utf-8")
    section = desktop["Desktop Entry"]
    command = section["Exec"].split()[0]
    assert command in project["project"]["scripts"]
    assert section["Icon"] == Path(icon).stem and section["Type"] == "Application"


def test_the_icon_draws(qapp) -> None:
    from ui.icons import app_icon

    icon = app_icon()
    assert isinstance(icon, QIcon) and not icon.isNull()
    image = icon.pixmap(64, 64).toImage()
    assert image.pixelColor(32, 32).alpha() == 255  # painted, not empty
