"""Cut, copy, paste and duplicate layers, also between windows of the studio.

Copied layers travel on the system clipboard as :data:`FRAGMENT_MIME_TYPE` (the JSON of a
fragment, see :mod:`core.fragment`), read back with every check a model file gets; anything
else on the clipboard is refused in a sentence on the status bar.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QCursor, QGuiApplication
from PySide6.QtWidgets import QStatusBar

from core.fragment import read_fragment
from core.graph import GraphLoadError
from ui.editor.scene import GraphScene
from ui.editor.view import GraphView

#: The MIME type of copied layers (JSON of a fragment: see :mod:`core.fragment`).
FRAGMENT_MIME_TYPE = "application/x-layer-studio-layers"


class ClipboardActions:
    """The Edit menu's clipboard commands, for a window with a ``scene`` and a ``view``."""

    scene: GraphScene | None
    view: GraphView | None

    if TYPE_CHECKING:

        def statusBar(self) -> QStatusBar: ...  # QMainWindow's

    def copy(self) -> bool:
        """Put the selected layers (and the wires between them) on the clipboard."""
        text = self.scene.copy_selected() if self.scene is not None else None
        if text is None:
            self.statusBar().showMessage("Select the layers to copy first.", 5000)
            return False
        data = QMimeData()
        data.setData(FRAGMENT_MIME_TYPE, text.encode("utf-8"))
        QGuiApplication.clipboard().setMimeData(data)
        return True

    def cut(self) -> None:
        if self.copy() and self.scene is not None:
            self.scene.delete_selected("Cut")

    def paste(self) -> None:
        """Add the layers on the clipboard: at the cursor when it is on the canvas."""
        data = QGuiApplication.clipboard().mimeData()
        if self.scene is None or self.view is None or data is None:
            return
        if not data.hasFormat(FRAGMENT_MIME_TYPE):
            self.statusBar().showMessage("The clipboard holds no layers.", 5000)
            return
        try:
            fragment = read_fragment(bytes(data.data(FRAGMENT_MIME_TYPE).data()).decode("utf-8"))
        except (UnicodeDecodeError, GraphLoadError) as err:
            self.statusBar().showMessage(f"Cannot paste: {err}", 8000)
            return
        inside = self.view.viewport().mapFromGlobal(QCursor.pos())
        at = None
        if self.view.viewport().rect().contains(inside) and self.view.underMouse():
            at = self.view.mapToScene(inside)
        self.scene.paste(fragment, at)

    def duplicate(self) -> None:
        """Copy the selected layers next to themselves (the clipboard is left alone)."""
        text = self.scene.copy_selected() if self.scene is not None else None
        if self.scene is not None and text is not None:
            self.scene.paste(read_fragment(text), None, "Duplicate")
