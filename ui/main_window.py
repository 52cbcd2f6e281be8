"""The main window: palette, canvas, inspector, problems, summary and edit history in docks.

Files are :mod:`ui.documents`'s part, the clipboard :mod:`ui.clipboard`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QPointF, Qt
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
    QUndoView,
    QWidget,
)
from torch import fx

from core.graph import Graph
from core.summary import format_summary, summarize
from core.templates import load_template
from core.training_settings import TrainingSettings
from ui.about import show_about
from ui.clipboard import ClipboardActions
from ui.dashboard import DashboardActions
from ui.documents import DocumentActions
from ui.editor.minimap import MinimapView
from ui.editor.scene import GraphScene
from ui.editor.undo_stack import GuardedUndoStack
from ui.editor.view import ZOOM_STEP, GraphView
from ui.export_actions import ExportActions
from ui.inspector import InspectorPanel
from ui.palette import PalettePanel
from ui.preferences import PreferencesDialog
from ui.recent_files import RecentFilesActions
from ui.recovery import Autosaver, RecoveryDialog, autosave_interval, offer_recovery
from ui.settings import studio_settings
from ui.welcome import ShortcutSheet, WelcomeDialog

_NODE_ROLE = Qt.ItemDataRole.UserRole
Slot = Callable[[], object]
#: Bumped when the docks change, so that an older saved layout is not restored onto them.
LAYOUT_VERSION = 1


class MainWindow(
    DocumentActions,
    ClipboardActions,
    DashboardActions,
    ExportActions,
    RecentFilesActions,
    QMainWindow,
):
    """One model document in a window."""

    def __init__(
        self,
        graph: Graph | None = None,
        parent: QWidget | None = None,
        *,
        restore_layout: bool = True,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("main_window")
        self.path: Path | None = None
        self.training = TrainingSettings()
        self.module: fx.GraphModule | None = None  # the weights of the opened file
        self.history_values: dict[str, list[float | None]] = {}  # per epoch, over every run
        self.data_record: dict[str, object] = {}  # what the model was last trained on
        self.weights_changed = False  # trained since the last save
        self.undo_stack = GuardedUndoStack(self)
        self.palette_panel = PalettePanel()
        self.problems = QListWidget()
        self.problems.setObjectName("problems")
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.summary.setFont(QFont("monospace"))
        self.summary.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.history = QUndoView(self.undo_stack)
        self.history.setEmptyLabel("Opened")
        self.inspector = InspectorPanel()
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        left, right, bottom = (
            Qt.DockWidgetArea.LeftDockWidgetArea,
            Qt.DockWidgetArea.RightDockWidgetArea,
            Qt.DockWidgetArea.BottomDockWidgetArea,
        )
        layers = self._dock("Layers", self.palette_panel, left)
        inspector = self._dock("Inspector", self.inspector, right)
        history = self._dock("History", self.history, right)
        problems = self._dock("Problems", self.problems, bottom)
        summary = self._dock("Summary", self.summary, bottom)
        self.tabifyDockWidget(problems, summary)
        problems.raise_()
        self.resizeDocks([layers, inspector], [240, 330], Qt.Orientation.Horizontal)
        self.resizeDocks([inspector, history], [640, 160], Qt.Orientation.Vertical)
        self.resizeDocks([problems], [110], Qt.Orientation.Vertical)
        self.scene: GraphScene | None = None
        self.view: GraphView | None = None
        self.setCentralWidget(self._build_pages())
        self._actions()
        self.palette_panel.kind_activated.connect(self.add_at_centre)
        self.problems.itemActivated.connect(self._show_problem)
        self.problems.itemClicked.connect(self._show_problem)
        self.undo_stack.cleanChanged.connect(self._update_title)
        self.inspector.message.connect(self._say)
        self.set_graph(graph or load_template("mnist_cnn"))
        self.resize(1400, 900)
        if restore_layout:
            self._restore_layout()
        self.autosaver = Autosaver(self, autosave_interval())
        self.setAcceptDrops(True)  # a model or data file dropped on the window opens

    # -- building ----------------------------------------------------------------------------

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _actions(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        edit_menu = self.menuBar().addMenu("&Edit")
        view_menu = self.menuBar().addMenu("&View")
        help_menu = self.menuBar().addMenu("&Help")
        self._entries: list[tuple[QMenu, str, QKeySequence | QKeySequence.StandardKey, Slot]] = [
            (file_menu, "&New…", QKeySequence.StandardKey.New, self.new_dialog),
            (file_menu, "&Open…", QKeySequence.StandardKey.Open, self.open_dialog),
            (file_menu, "&Save", QKeySequence.StandardKey.Save, self.save),
            (file_menu, "Save &As…", QKeySequence.StandardKey.SaveAs, self.save_as_dialog),
            (file_menu, "&Export…", QKeySequence("Ctrl+E"), self.export_dialog),
            (file_menu, "Recover Unsaved &Work…", QKeySequence(), self.show_recovery),
            (edit_menu, "Cu&t", QKeySequence.StandardKey.Cut, self.cut),
            (edit_menu, "&Copy", QKeySequence.StandardKey.Copy, self.copy),
            (edit_menu, "&Paste", QKeySequence.StandardKey.Paste, self.paste),
            (edit_menu, "D&uplicate", QKeySequence("Ctrl+D"), self.duplicate),
            (edit_menu, "&Delete", QKeySequence.StandardKey.Delete, self._delete),
            (edit_menu, "Select &All", QKeySequence.StandardKey.SelectAll, self.select_all),
            (edit_menu, "&Add Layer…  (Tab)", QKeySequence(), self.quick_add),
            (edit_menu, "A&rrange Layers", QKeySequence("Ctrl+L"), self.arrange),
            (edit_menu, "Pre&ferences…", QKeySequence("Ctrl+,"), self.preferences),
            (view_menu, "&Fit to View", QKeySequence("F"), self.fit_view),
            (view_menu, "Zoom &In", QKeySequence.StandardKey.ZoomIn, self.zoom_in),
            (view_menu, "Zoom &Out", QKeySequence.StandardKey.ZoomOut, self.zoom_out),
            (view_menu, "Go to &Canvas", QKeySequence("Ctrl+1"), self.focus_canvas),
            (view_menu, "Find &Layer Kind", QKeySequence("Ctrl+F"), self.focus_palette),
            (view_menu, "Go to &Inspector", QKeySequence("Ctrl+I"), self.focus_inspector),
            (help_menu, "&Welcome", QKeySequence(), lambda: WelcomeDialog(self).open()),
            (help_menu, "&Keyboard Shortcuts", QKeySequence("F1"), self.shortcut_sheet),
            (help_menu, "&About Layer Studio", QKeySequence(), lambda: show_about(self)),
        ]
        self._edit_actions: list[QAction] = []
        for menu, text, keys, slot in self._entries:
            action = QAction(text, self)
            if (menu is edit_menu and text != "Pre&ferences…") or text in (
                "&New…",
                "&Open…",
                "Recover Unsaved &Work…",
            ):
                self._edit_actions.append(action)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(slot)
            menu.addAction(action)
            if text in ("&Paste", "&Export…", "Recover Unsaved &Work…"):
                menu.addSeparator()
        recent = QMenu("Open &Recent", self)
        recent.aboutToShow.connect(lambda: self.fill_recent_menu(recent))
        save = next(a for a in file_menu.actions() if a.text() == "&Save")
        file_menu.insertMenu(save, recent)
        undo = self.undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts(
            list(
                dict.fromkeys(  # the platform's, and both common ones everywhere
                    [
                        *QKeySequence.keyBindings(QKeySequence.StandardKey.Redo),
                        QKeySequence("Ctrl+Shift+Z"),
                        QKeySequence("Ctrl+Y"),
                    ]
                )
            )
        )
        self.undo_stack.canUndoChanged.connect(self._keep_undo_locked)
        self.undo_stack.canRedoChanged.connect(self._keep_undo_locked)
        first = edit_menu.actions()[0]
        edit_menu.insertActions(first, [undo, redo])
        edit_menu.insertSeparator(first)
        self.minimap_action = QAction("&Minimap", self, checkable=True, checked=True)
        self.minimap_action.toggled.connect(lambda on: self.minimap.setVisible(on))
        view_menu.addAction(self.minimap_action)
        view_menu.addSeparator()
        for dock in self.findChildren(QDockWidget):
            view_menu.addAction(dock.toggleViewAction())

    def _say(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _restore_layout(self) -> None:
        """Put the docks where the user left them last time (when the layout was saved)."""
        settings = studio_settings()
        geometry, state = settings.value("window/geometry"), settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state, LAYOUT_VERSION)

    def save_layout(self) -> None:
        """Remember the window's size and the docks' places for the next start."""
        self.show_page(self.model_page)  # its docks shown, as they were left
        settings = studio_settings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        settings.sync()

    def set_graph(self, graph: Graph) -> None:
        """Show ``graph`` as the window's document (the edit history starts afresh)."""
        if self.scene is not None:
            self.scene.close()
        self.undo_stack.clear()
        self.scene = GraphScene(graph, self.undo_stack)
        self.scene.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.scene.document_changed.connect(self._refresh_panels)
        self.inspector.set_scene(self.scene)
        self.view = GraphView(self.scene)
        self.minimap = MinimapView(self.view, corner=Qt.Corner.BottomRightCorner)
        self.minimap.setVisible(self.minimap_action.isChecked())
        self.show_canvas(self.view)
        self._refresh_panels()
        self._update_title()
        self.view.fit()

    # -- panels -----------------------------------------------------------------------------

    def _refresh_panels(self, *_: object) -> None:
        assert self.scene is not None
        self.model_changed()
        graph, report = self.scene.graph, self.scene.report
        self.problems.clear()
        for diagnostic in report.diagnostics:
            item = QListWidgetItem(f"{diagnostic.severity.title()}: {diagnostic.text(graph)}")
            item.setData(_NODE_ROLE, diagnostic.node)
            self.problems.addItem(item)
        if not report.diagnostics:
            self.problems.addItem("No problems: the model is complete.")
        self.summary.setPlainText(format_summary(summarize(graph, report)))

    def _show_problem(self, item: QListWidgetItem) -> None:
        """Select the layer a problem is about and bring it into view."""
        node_id = item.data(_NODE_ROLE)
        if self.scene is None or self.view is None or node_id not in self.scene.nodes:
            return
        self.scene.clearSelection()
        node = self.scene.nodes[node_id]
        node.setSelected(True)
        self.view.centerOn(node)

    def add_at_centre(self, kind: str) -> None:
        """Add a layer in the middle of what the canvas shows (Enter in the palette)."""
        if self.scene is not None and self.view is not None:
            centre = self.view.mapToScene(self.view.viewport().rect().center())
            self.scene.add_layer(kind, QPointF(centre.x() - 95, centre.y() - 26))

    def _delete(self) -> None:
        if self.scene is not None:
            self.scene.delete_selected()

    def select_all(self) -> None:
        if self.scene is not None:
            self.scene.select_all()

    def quick_add(self) -> None:
        if self.view is not None:
            self.view.setFocus()
            self.view.open_quick_add()

    def arrange(self) -> None:
        """Lay the model out automatically (one undoable step) and show all of it."""
        if self.scene is not None:
            self.scene.arrange()
            self.fit_view()

    def zoom_in(self) -> None:
        if self.view is not None:
            self.view.zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        if self.view is not None:
            self.view.zoom_by(1 / ZOOM_STEP)

    # -- focus, for the keyboard (Tab on the canvas adds a layer, so these move between panels)

    def focus_canvas(self) -> None:
        if self.view is not None:
            self.view.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def focus_palette(self) -> None:
        self._show_dock("dock_layers")
        self.palette_panel.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.palette_panel.search.selectAll()

    def focus_inspector(self) -> None:
        self._show_dock("dock_inspector")
        self.inspector.focus_first()

    def _show_dock(self, name: str) -> None:
        dock = self.findChild(QDockWidget, name)
        if dock is not None:
            dock.show()
            dock.raise_()

    def select_layer(self, name: str) -> bool:
        """Select the layer called ``name`` and bring it into view (False when there is none)."""
        node = self.scene.graph.node_by_name(name) if self.scene is not None else None
        if node is None or self.scene is None or self.view is None:
            return False
        self.scene.select([node.id])
        self.view.centerOn(self.scene.nodes[node.id])
        return True

    def show_top(self, zoom: float) -> None:
        """Show the model at ``zoom`` (1.0 is 100 %), centred across, from its top."""
        if self.scene is None or self.view is None:
            return
        self.view.resetTransform()
        self.view.zoom_by(zoom)
        rect = self.scene.itemsBoundingRect()
        height = self.view.viewport().height() / zoom
        self.view.centerOn(rect.center().x(), rect.top() - 30 + height / 2)

    def fit_view(self) -> None:
        """Show the whole model on the canvas."""
        if self.view is not None:
            self.view.fit()

    def _update_title(self, *_: object) -> None:
        name = self.path.name if self.path else "untitled.h5"
        self.setWindowTitle(f"{name}[*] — Layer Studio")  # Qt shows [*] as * when modified
        self.setWindowModified(self.has_unsaved_changes())

    def has_unsaved_changes(self) -> bool:
        """Edits or training since the document was opened or saved."""
        return not self.undo_stack.isClean() or self.weights_changed

    def edit_widgets(self) -> list[QWidget]:
        """What edits the document, disabled while a training run goes."""
        return [self.inspector, self.palette_panel, self.history]

    def edit_actions(self) -> list[QAction]:
        return self._edit_actions

    def show_recovery(self) -> RecoveryDialog | None:
        """File ▸ Recover Unsaved Work…: what crashed sessions left, to recover or discard."""
        return offer_recovery(self, at_start=False)

    def preferences(self) -> PreferencesDialog:
        """Edit ▸ Preferences: colours, autosave, the device to train on."""
        dialog = PreferencesDialog(self)
        dialog.open()
        return dialog

    def shortcut_sheet(self) -> ShortcutSheet:
        """Help ▸ Keyboard Shortcuts: every menu action's keys and the canvas's."""
        actions = [a for menu in self.menuBar().findChildren(QMenu) for a in menu.actions()]
        sheet = ShortcutSheet(list(dict.fromkeys(actions)), self)
        sheet.open()
        return sheet

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self.accept_drag(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self.accept_drag(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self.take_drop(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.confirm_stop_training() or not self.confirm_discard("closing"):
            event.ignore()
            return
        self.save_layout()
        self.autosaver.discard()  # closed on purpose: nothing to recover
        self.evaluation_panel.wait()  # a QThread destroyed while it runs ends the program
        self.inspector.set_scene(None)
        if self.scene is not None:
            self.scene.close()
        super().closeEvent(event)
