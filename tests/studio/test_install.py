"""What ``pip install layer-studio`` puts on a Linux desktop: a menu entry that starts the
``layer-studio`` command, with the studio's icon; and ``layer-studio desktop-entry``, which
puts one there for an installation in a virtual environment."""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

import pytest
from PySide6.QtGui import QIcon

from studio.cli import main
from studio.desktop import exec_value

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


def exec_words(value: str) -> list[str]:
    """An ``Exec`` value read back as the Desktop Entry spec says: the string's escapes,
    then words split at spaces, where a double-quoted word's backslash escapes " ` $ \\."""
    text = value.replace("\\\\", "\\")
    words: list[str] = []
    word: list[str] | None = None
    quoted = False
    i = 0
    while i < len(text):
        char = text[i]
        if quoted and char == "\\" and text[i + 1] in '"`$\\':
            word = (word or []) + [text[i + 1]]
            i += 2
            continue
        if char == '"':
            quoted = not quoted
            word = word or []
        elif char == " " and not quoted:
            if word is not None:
                words.append("".join(word))
            word = None
        else:
            word = (word or []) + [char]
        i += 1
    assert not quoted, "an unclosed quote"
    if word is not None:
        words.append("".join(word))
    return words


def test_desktop_entry_puts_this_installation_in_the_menu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert main(["desktop-entry"]) == 0
    entry = tmp_path / "share" / "applications" / "layer-studio.desktop"
    icon = tmp_path / "share" / "icons" / "hicolor" / "scalable" / "apps" / "layer-studio.svg"
    assert f"Wrote {entry}" in capsys.readouterr().out
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.optionxform = str  # type: ignore[assignment,method-assign]
    desktop.read(entry, encoding="utf-8")
    section = desktop["Desktop Entry"]
    assert section["Icon"] == str(icon)
    assert icon.read_bytes() == (ROOT / "resources" / "icons" / "layer-studio.svg").read_bytes()
    *command, field = exec_words(section["Exec"])
    assert field == "%f" and Path(command[0]).is_absolute()
    done = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("layer-studio "), done.stderr
    assert main(["desktop-entry", "--remove"]) == 0
    assert not entry.exists() and not icon.exists()
    assert main(["desktop-entry", "--remove"]) == 0
    assert "no menu entry to remove" in capsys.readouterr().out


def test_odd_paths_are_quoted_for_the_desktop() -> None:
    command = ['/home/ada/my envs/$HOME/"x"/back\\slash/50%/layer-studio', "-m", "studio"]
    value = exec_value(command)
    assert value.endswith(" %f") and "%%" in value
    assert exec_words(value.replace("%%", "%")) == [*command, "%f"]


def test_an_unwritable_menu_folder_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "share"
    blocker.write_text("a file, not a folder")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    assert main(["desktop-entry"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("layer-studio: error: Cannot write the menu entry") and "\n" not in err
