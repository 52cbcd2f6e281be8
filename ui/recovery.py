"""Autosave to a recovery file, and the offer to recover after a crash.

While a window has unsaved changes, :class:`Autosaver` writes the document every interval to
``recovery/<pid>-<n>.h5`` in the studio's data folder (a full model file: the graph, the
weights, the settings, the history), with a ``.json`` beside it saying which process wrote it,
for which file, and when. A window that closes normally, or whose document is saved, removes
its recovery file. At the next start, :func:`left_behind` finds the files of processes that are
gone: the work a crash would have lost.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QStandardPaths, QTimer

from core.h5io import ModelFileError, save_model

if TYPE_CHECKING:
    from ui.main_window import MainWindow

#: Seconds between autosaves unless the settings say otherwise.
DEFAULT_INTERVAL = 60
_COUNTER = itertools.count(1)


def autosave_interval() -> float:
    """Seconds between autosaves, from the settings (``autosave/seconds``; 0 is off)."""
    from ui.settings import studio_settings

    value = studio_settings().value("autosave/seconds", DEFAULT_INTERVAL)
    try:
        return max(0.0, float(str(value)))
    except ValueError:
        return float(DEFAULT_INTERVAL)


def recovery_folder() -> Path:
    """Where recovery files go: ``LAYER_STUDIO_DATA`` if set (tests), else the user's data
    folder (``~/.local/share/layer-studio`` on Linux)."""
    base = os.environ.get("LAYER_STUDIO_DATA") or QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.GenericDataLocation
    )
    folder = Path(base) / "layer-studio" / "recovery"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass(frozen=True)
class Recovery:
    """Work a crashed session left behind.

    Attributes:
        model: The autosaved model file.
        original: The file the document was opened from or saved to, or None if untitled.
        name: The model's name.
        saved_at: When it was autosaved (seconds since the epoch).
    """

    model: Path
    original: Path | None
    name: str
    saved_at: float

    def discard(self) -> None:
        """Delete the recovery files."""
        self.model.unlink(missing_ok=True)
        self.model.with_suffix(".json").unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but another user's
        return True
    return True


def left_behind() -> list[Recovery]:
    """The recovery files of sessions that are not running any more, newest first."""
    found = []
    for info in recovery_folder().glob("*.json"):
        try:
            record = json.loads(info.read_text(encoding="utf-8"))
            pid, saved_at = int(record["pid"]), float(record["saved_at"])
            original = Path(record["original"]) if record.get("original") else None
            name = str(record.get("name", "model"))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not ours, or half-written: a file the user never needs
        model = info.with_suffix(".h5")
        if not _alive(pid) and model.exists():
            found.append(Recovery(model, original, name, saved_at))
    return sorted(found, key=lambda r: r.saved_at, reverse=True)


class Autosaver(QObject):
    """Writes a window's unsaved document to its recovery file every ``interval`` seconds."""

    def __init__(self, window: MainWindow, interval: float = DEFAULT_INTERVAL) -> None:
        super().__init__(window)
        self.window = window
        self.path = recovery_folder() / f"{os.getpid()}-{next(_COUNTER)}.h5"
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.save_now)
        self.set_interval(interval)

    def set_interval(self, seconds: float) -> None:
        """Autosave every ``seconds`` (0 turns autosave off)."""
        self.timer.stop()
        if seconds > 0:
            self.timer.start(int(seconds * 1000))

    def save_now(self) -> bool:
        """Write the recovery file if the document has unsaved changes; True when written."""
        window = self.window
        if window.scene is None or not window.has_unsaved_changes():
            self.discard()
            return False
        if window.session.running:  # the weights change under our feet; next time
            return False
        graph = window.scene.graph
        try:
            save_model(
                self.path,
                graph,
                window.module_to_save(),
                training=window.training,
                history=window.history_values,
                data=window.data_record,
            )
        except (ModelFileError, OSError, ValueError):
            return False  # a full disk must not disturb the user's work; the next try may do
        record = {
            "pid": os.getpid(),
            "original": str(window.path) if window.path is not None else None,
            "name": graph.name,
            "saved_at": time.time(),
        }
        info = self.path.with_suffix(".json")
        temporary = info.with_suffix(".tmp")
        try:
            temporary.write_text(json.dumps(record), encoding="utf-8")
            temporary.replace(info)
        except OSError:
            return False  # as above: the next try may do
        return True

    def discard(self) -> None:
        """Remove this window's recovery files (closed normally, or saved)."""
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)
            self.path.with_suffix(".json").unlink(missing_ok=True)


def offer_recovery(window: MainWindow) -> Recovery | None:
    """Ask whether to recover the newest work a crashed session left; recover it into
    ``window`` when the user says so. Older files stay for the next start; Discard deletes
    the newest only after asking."""
    from PySide6.QtWidgets import QMessageBox

    found = left_behind()
    if not found:
        return None
    newest = found[0]
    when = time.strftime("%H:%M on %d %B", time.localtime(newest.saved_at))
    where = f" ({newest.original.name})" if newest.original else ""
    answer = QMessageBox.question(
        window,
        "Recover your work?",
        f"Layer Studio did not close properly last time. Your unsaved work on "
        f"'{newest.name}'{where} was kept at {when}. Recover it?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard,
        QMessageBox.StandardButton.Yes,
    )
    if answer == QMessageBox.StandardButton.Discard:
        newest.discard()
        return None
    if window.recover(newest):
        return newest
    return None
