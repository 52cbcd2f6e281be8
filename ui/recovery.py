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

from PySide6.QtCore import QObject, QStandardPaths, Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
)

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


def _describe(recovery: Recovery) -> str:
    when = time.strftime("%H:%M on %d %B", time.localtime(recovery.saved_at))
    where = recovery.original.name if recovery.original else "never saved"
    return f"{recovery.name} — {where} — kept at {when}"


class RecoveryDialog(QDialog):
    """The work crashed sessions left, newest first: Recover one into the window, Discard
    the chosen one, or decide Later (everything stays for the next start)."""

    def __init__(self, window: MainWindow, found: list[Recovery], *, at_start: bool) -> None:
        super().__init__(window)
        self.window_ = window
        self.found = list(found)
        self.recovered: Recovery | None = None
        self.setWindowTitle("Recover your work?")
        intro = (
            "Layer Studio did not close properly last time. This unsaved work was kept:"
            if at_start
            else "Unsaved work kept by sessions that did not close properly:"
        )
        text = QLabel(intro)
        text.setWordWrap(True)
        self.choices = QListWidget()
        self.choices.setAlternatingRowColors(True)
        for recovery in self.found:
            item = QListWidgetItem(_describe(recovery))
            if recovery.original:
                item.setToolTip(str(recovery.original))
            self.choices.addItem(item)
        self.choices.setCurrentRow(0)
        self.choices.itemDoubleClicked.connect(lambda _: self.recover_chosen())
        buttons = QDialogButtonBox()
        self.recover_button = buttons.addButton("Recover", QDialogButtonBox.ButtonRole.AcceptRole)
        self.discard_button = buttons.addButton(
            "Discard", QDialogButtonBox.ButtonRole.DestructiveRole
        )
        self.later_button = buttons.addButton("Later", QDialogButtonBox.ButtonRole.RejectRole)
        self.recover_button.setDefault(True)
        self.recover_button.clicked.connect(self.recover_chosen)
        self.discard_button.clicked.connect(self.discard_chosen)
        self.later_button.clicked.connect(self.reject)
        note = QLabel("Later keeps it all; File ▸ Recover Unsaved Work… shows this again.")
        note.setWordWrap(True)
        note.setEnabled(False)  # greyed: a hint, not a question
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.choices)
        layout.addWidget(note)
        layout.addWidget(buttons)
        rows = min(6, max(3, len(self.found)))
        self.choices.setFixedHeight(
            self.choices.sizeHintForRow(0) * rows + 2 * self.choices.frameWidth() + 4
        )
        self.resize(max(480, self.choices.sizeHintForColumn(0) + 60), self.sizeHint().height())

    def chosen(self) -> Recovery | None:
        row = self.choices.currentRow()
        return self.found[row] if 0 <= row < len(self.found) else None

    def recover_chosen(self) -> bool:
        """Open the chosen work in the window (after the unsaved question, if any)."""
        recovery = self.chosen()
        window = self.window_
        if recovery is None or not window.confirm_discard("recovering other work"):
            return False
        if not window.recover(recovery):
            return False
        self.recovered = recovery
        rest = len(self.found) - 1
        if rest:
            more = "one more piece" if rest == 1 else f"{rest} more pieces"
            window.statusBar().showMessage(
                f"Recovered '{recovery.name}'; {more} of unsaved work wait in "
                "File ▸ Recover Unsaved Work…",
                15000,
            )
        self.accept()
        return True

    def discard_chosen(self) -> None:
        """Delete the chosen work; the dialog closes when nothing is left."""
        row = self.choices.currentRow()
        if not 0 <= row < len(self.found):
            return
        self.found.pop(row).discard()
        self.choices.takeItem(row)
        if not self.found:
            self.reject()


def offer_recovery(window: MainWindow, *, at_start: bool = True) -> RecoveryDialog | None:
    """Show the work crashed sessions left behind, if any (a window-modal dialog, opened and
    returned); None when there is none."""
    found = left_behind()
    if not found:
        if not at_start:
            window.statusBar().showMessage("There is no unsaved work to recover.", 8000)
        return None
    dialog = RecoveryDialog(window, found, at_start=at_start)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
