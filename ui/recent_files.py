"""File ▸ Open Recent, and files dropped onto the window.

The recent list lives in the settings (``recent/files``, newest first, at most
:data:`MOST`); files that have gone are left out when the menu is shown. A ``.h5`` dropped on
the window opens as the document (after the unsaved-changes question); a CSV, a ``.npz`` or a
folder of data opens on the Data page.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QMenu, QWidget

from ui.settings import studio_settings

if TYPE_CHECKING:
    from ui.data.panel import DataPanel

MOST = 8
MODEL_SUFFIXES = (".h5", ".hdf5")
DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".npz")


def recent_files() -> list[Path]:
    """The recent model files, newest first, that still exist."""
    value = studio_settings().value("recent/files", [])
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [Path(str(n)) for n in names if str(n) and Path(str(n)).is_file()][:MOST]


def remember(path: Path) -> None:
    """Put ``path`` first in the recent list."""
    path = path.resolve()
    others = [p for p in recent_files() if p.resolve() != path]
    studio_settings().setValue("recent/files", [str(p) for p in [path, *others][:MOST]])


def dropped_path(event: QDropEvent) -> Path | None:
    """The one local file or folder being dragged in, if the studio can open it."""
    urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
    if len(urls) != 1 or not urls[0].isLocalFile():
        return None
    path = Path(urls[0].toLocalFile())
    if path.is_dir() or path.suffix.lower() in MODEL_SUFFIXES + DATA_SUFFIXES:
        return path
    return None


class RecentFilesActions:
    """The Open Recent menu and dropping files, for the main window."""

    if TYPE_CHECKING:
        data_panel: DataPanel

        def open_path(self, path: str | Path) -> bool: ...
        def confirm_discard(self, doing: str) -> bool: ...
        def show_page(self, page: QWidget) -> None: ...

    def fill_recent_menu(self, menu: QMenu) -> None:
        """Rebuild Open Recent from the settings (called as the menu opens)."""
        menu.clear()
        files = recent_files()
        for index, path in enumerate(files, start=1):
            action = QAction(f"&{index}  {path.name}", menu)
            action.setToolTip(str(path))
            action.setStatusTip(str(path))
            action.triggered.connect(lambda _=False, p=path: self.open_recent(p))
            menu.addAction(action)
        if not files:
            menu.addAction("No recent models").setEnabled(False)

    def open_recent(self, path: Path) -> bool:
        """Open a recent file, after the unsaved-changes question."""
        return self.confirm_discard("opening another model") and self.open_path(path)

    def accept_drag(self, event: QDragMoveEvent) -> None:
        """Take a drag of one model file, data file or folder."""
        if dropped_path(event) is not None:
            event.acceptProposedAction()

    def take_drop(self, event: QDropEvent) -> bool:
        """Open what was dropped: a model as the document, data on the Data page."""
        path = dropped_path(event)
        if path is None:
            return False
        event.acceptProposedAction()
        if path.suffix.lower() in MODEL_SUFFIXES:
            return self.open_recent(path)
        self.show_page(self.data_panel)
        self.data_panel.show_spec(str(path))
        return True
