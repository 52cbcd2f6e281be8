"""The layer palette: every kind by category, searchable, dragged onto the canvas.

A drag carries :data:`KIND_MIME_TYPE` with the kind's name, so the canvas accepts only layers
from the palette. Everything works from the keyboard too: type to search, Down to move into the
list, Enter (or a double click) adds the layer through :attr:`PalettePanel.kind_activated`.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.catalog import by_category, tooltip
from ui.icons import kind_icon

#: The MIME type of a layer kind dragged from the palette (the data is the kind's name).
KIND_MIME_TYPE = "application/x-layer-studio-kind"
_KIND_ROLE = Qt.ItemDataRole.UserRole


def kind_mime_data(kind: str) -> QMimeData:
    """What a drag of ``kind`` carries."""
    data = QMimeData()
    data.setData(KIND_MIME_TYPE, kind.encode("utf-8"))
    data.setText(kind)
    return data


def kind_from_mime(data: QMimeData) -> str | None:
    """The kind a drop carries, or None when it is not a layer from the palette."""
    if not data.hasFormat(KIND_MIME_TYPE):
        return None
    return bytes(data.data(KIND_MIME_TYPE).data()).decode("utf-8", "replace") or None


class _KindTree(QTreeWidget):
    """The tree of categories and kinds; dragging a kind carries our MIME type."""

    def mimeTypes(self) -> list[str]:
        return [KIND_MIME_TYPE]

    def mimeData(self, items: Sequence[QTreeWidgetItem]) -> QMimeData:
        kinds = [item.data(0, _KIND_ROLE) for item in items if item.data(0, _KIND_ROLE)]
        return kind_mime_data(kinds[0]) if kinds else QMimeData()


class PalettePanel(QWidget):
    """Search field above a tree of layer kinds grouped by category."""

    #: A kind chosen with Enter or a double click (the editor adds it at the view's centre).
    kind_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("palette")
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search layers (Dense, conv, pooling…)")
        self.search.setClearButtonEnabled(True)
        self.tree = _KindTree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setIconSize(QSize(22, 22))
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setUniformRowHeights(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self._fill()
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._activate_first)
        self.search.installEventFilter(self)
        self.tree.itemActivated.connect(self._activate_item)

    def _fill(self) -> None:
        for category, specs in by_category().items():
            group = QTreeWidgetItem(self.tree, [category])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            for spec in specs:
                item = QTreeWidgetItem(group, [spec.kind])
                item.setData(0, _KIND_ROLE, spec.kind)
                item.setIcon(0, kind_icon(spec.kind))
                item.setToolTip(0, tooltip(spec.kind))
                item.setStatusTip(0, spec.help)
                flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                item.setFlags(flags | Qt.ItemFlag.ItemIsDragEnabled)
        self.tree.expandAll()

    # -- reading it ------------------------------------------------------------------------

    def groups(self) -> list[QTreeWidgetItem]:
        """The category items, in palette order."""
        root = self.tree.invisibleRootItem()
        return [group for i in range(root.childCount()) if (group := root.child(i)) is not None]

    @staticmethod
    def _children(group: QTreeWidgetItem) -> list[QTreeWidgetItem]:
        return [item for j in range(group.childCount()) if (item := group.child(j)) is not None]

    def kind_items(self) -> list[QTreeWidgetItem]:
        """Every kind's item, in palette order."""
        return [item for group in self.groups() for item in self._children(group)]

    def visible_kinds(self) -> list[str]:
        """The kinds the search leaves visible, in palette order."""
        return [
            item.data(0, _KIND_ROLE)
            for group in self.groups()
            if not group.isHidden()
            for item in self._children(group)
            if not item.isHidden()
        ]

    # -- searching -------------------------------------------------------------------------

    def filter(self, text: str) -> None:
        """Show the kinds whose name, category or help contains every word of ``text``."""
        words = text.lower().split()
        first: QTreeWidgetItem | None = None  # the best match: by name before by help
        by_name: QTreeWidgetItem | None = None
        for group in self.groups():
            shown = 0
            for item in self._children(group):
                kind = item.data(0, _KIND_ROLE)
                haystack = f"{kind} {group.text(0)} {item.statusTip(0)}".lower()
                match = all(w in haystack for w in words)
                item.setHidden(not match)
                shown += match
                if match and first is None:
                    first = item
                if match and by_name is None and all(w in kind.lower() for w in words):
                    by_name = item
            group.setHidden(shown == 0)
            group.setExpanded(True)
        best = by_name or first
        self.tree.setCurrentItem(best) if best is not None else self.tree.clearSelection()

    def _activate_first(self) -> None:
        visible = self.visible_kinds()
        current = self.tree.currentItem()
        kind = current.data(0, _KIND_ROLE) if current is not None else None
        if kind in visible:
            self.kind_activated.emit(kind)
        elif visible:
            self.kind_activated.emit(visible[0])

    def _activate_item(self, item: QTreeWidgetItem, column: int = 0) -> None:
        kind = item.data(0, _KIND_ROLE)
        if kind:
            self.kind_activated.emit(kind)

    def eventFilter(self, watched: object, event: object) -> bool:
        """Down in the search field moves into the list, so the keyboard alone suffices."""
        down = (
            watched is self.search
            and isinstance(event, QKeyEvent)
            and event.type() == QKeyEvent.Type.KeyPress
            and event.key() == Qt.Key.Key_Down
        )
        if down:
            self.tree.setFocus()
            if self.tree.currentItem() is None and self.visible_kinds():
                first = next(i for i in self.kind_items() if not i.isHidden())
                self.tree.setCurrentItem(first)
            return True
        return super().eventFilter(watched, event)  # type: ignore[arg-type]
