"""``layer-studio desktop-entry``: the studio in this user's application menu (Linux and other
freedesktop.org desktops), starting this very installation.

``pip install --user`` already puts a menu entry under ``~/.local/share``; an install into a
virtual environment or an editable one puts it nowhere a desktop looks. This command writes
the entry and the icon into ``$XDG_DATA_HOME`` (``~/.local/share``), with the full path of the
``layer-studio`` command of this environment; ``--remove`` takes them away again.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from studio.cli_common import CliError

ENTRY = "layer-studio.desktop"
ICON = "layer-studio.svg"
#: Characters that make an argument of ``Exec`` need quotes (Desktop Entry spec, "Exec key").
_RESERVED = re.compile(r"[\s\"'\\><~|&;$*?#()`]")


def data_home() -> Path:
    """Where a user's menu entries and icons go."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def launcher() -> list[str]:
    """The command that starts this installation: the ``layer-studio`` script beside this
    Python, else the first on the PATH, else ``python -m studio``."""
    beside = Path(sys.executable).parent / "layer-studio"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside.absolute())]
    found = shutil.which("layer-studio")
    if found:
        return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "studio"]


def exec_value(command: list[str]) -> str:
    """``command`` as the value of an ``Exec`` key, opening the file it is given (``%f``)."""
    words = []
    for word in command:
        if _RESERVED.search(word):
            word = '"' + re.sub(r'(["`$\\])', r"\\\1", word) + '"'
        words.append(word.replace("%", "%%"))
    # A desktop file's string values escape backslashes once more.
    return " ".join(words).replace("\\", "\\\\") + " %f"


def entry_text(command: list[str], icon: Path) -> str:
    """The shipped entry, pointed at ``command`` and ``icon``."""
    shipped = resources.files("resources").joinpath(ENTRY).read_text(encoding="utf-8")
    lines = []
    for line in shipped.splitlines():
        if line.startswith("Exec="):
            line = f"Exec={exec_value(command)}"
        elif line.startswith("Icon="):
            line = f"Icon={icon}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _paths(home: Path) -> tuple[Path, Path]:
    return (
        home / "applications" / ENTRY,
        home / "icons" / "hicolor" / "scalable" / "apps" / ICON,
    )


def install(home: Path | None = None, command: list[str] | None = None) -> list[Path]:
    """Write the menu entry and its icon; returns the files written."""
    entry, icon = _paths(home or data_home())
    svg = resources.files("resources").joinpath("icons").joinpath(ICON).read_bytes()
    try:
        icon.parent.mkdir(parents=True, exist_ok=True)
        icon.write_bytes(svg)
        entry.parent.mkdir(parents=True, exist_ok=True)
        entry.write_text(entry_text(command or launcher(), icon), encoding="utf-8")
    except OSError as err:
        raise CliError(f"Cannot write the menu entry: {err}") from None
    _refresh(entry.parent)
    return [entry, icon]


def remove(home: Path | None = None) -> list[Path]:
    """Remove the menu entry and its icon; returns the files removed."""
    removed = []
    for path in _paths(home or data_home()):
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as err:
            raise CliError(f"Cannot remove {path}: {err}") from None
        removed.append(path)
    _refresh(_paths(home or data_home())[0].parent)
    return removed


def _refresh(applications: Path) -> None:
    """Tell the desktop the menu changed, where the tool for it is installed."""
    tool = shutil.which("update-desktop-database")
    if tool and applications.is_dir():
        subprocess.run([tool, str(applications)], capture_output=True, check=False, timeout=30)


def cmd_desktop_entry(args: argparse.Namespace) -> int:
    if sys.platform in ("win32", "darwin"):
        raise CliError(
            "Menu entries are made for Linux desktops; on this system, start the studio with "
            "the layer-studio command."
        )
    if args.remove:
        removed = remove()
        for path in removed:
            print(f"Removed {path}")
        if not removed:
            print("There was no menu entry to remove.")
        return 0
    entry, icon = install()
    print(f"Wrote {entry}")
    print(f"Wrote {icon}")
    print("Layer Studio is now in the application menu (some desktops show it after a re-login).")
    return 0


def add_desktop_command(sub: Any) -> None:
    """The ``desktop-entry`` subcommand."""
    p = sub.add_parser(
        "desktop-entry", help="put the studio in this user's application menu (Linux)"
    )
    p.add_argument("--remove", action="store_true", help="take the menu entry away again")
    p.set_defaults(func=cmd_desktop_entry)
