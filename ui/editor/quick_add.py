"""The quick-add popup: Tab or a right click on the canvas, type a few letters, Enter.

It lists every layer kind (the palette's words and icons), filters as the user types (by name,
then by category and help), and sends the chosen kind through :attr:`QuickAddPopup.chosen`.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.catalog import by_category, tooltip
from ui.icons import kind_icon

_KIND_ROLE = Qt.ItemDataRole.UserRole


def kind_rank(kind: str, category: str, help_text: str, query: str) -> int | None:
    """How well ``query`` matches a kind (lower is better), or None when it does not."""
    q = query.strip().lower()
    if not q:
        return 3
    name = kind.lower()
    if name.startswith(q):
        return 0
    if q in name:
        return 1
    if q in category.lower() or q in help_text.lower():
        return 2
    return None


class QuickAddPopup(QFrame):
    """A search field over the list of kinds, shown as a popup at a point on the canvas."""

    #: The kind the user picked (Enter, a click or a double click).
    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("quick_add")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel("Add a layer")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Type to search, Enter to add")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setIconSize(QSize(20, 20))
        self.list.setUniformItemSizes(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        for widget in (self.title, self.search, self.list):
            layout.addWidget(widget)
        self._entries: list[tuple[str, str, str]] = []
        for category, specs in by_category().items():
            for spec in specs:
                self._entries.append((spec.kind, category, spec.help))
        self.search.textChanged.connect(self._filter)
        self.search.installEventFilter(self)
        self.list.itemActivated.connect(self._choose)
        self.list.itemClicked.connect(self._choose)
        self.resize(280, 340)
        self._filter("")

    def open_at(self, where: QPoint, title: str = "Add a layer") -> None:
        """Show the popup with its top-left corner at global point ``where``, search empty."""
        self.title.setText(title)
        self.search.clear()
        self._filter("")
        self.move(where)
        self.show()
        self.search.setFocus()

    def visible_kinds(self) -> list[str]:
        return [self.list.item(i).data(_KIND_ROLE) for i in range(self.list.count())]

    def _filter(self, text: str) -> None:
        ranked = []
        for order, (kind, category, help_text) in enumerate(self._entries):
            rank = kind_rank(kind, category, help_text, text)
            if rank is not None:
                ranked.append((rank, order, kind))
        self.list.clear()
        for _, _, kind in sorted(ranked):
            item = QListWidgetItem(kind_icon(kind), kind)
            item.setData(_KIND_ROLE, kind)
            item.setToolTip(tooltip(kind))
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def _choose(self, item: QListWidgetItem) -> None:
        kind = item.data(_KIND_ROLE)
        self.hide()
        if kind:
            self.chosen.emit(kind)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Up, Down and Enter in the search field move in and pick from the list."""
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
                self.list.keyPressEvent(event)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                current = self.list.currentItem()
                if current is not None:
                    self._choose(current)
                return True
            if key == Qt.Key.Key_Escape:
                self.hide()
                return True
        return super().eventFilter(watched, event)
