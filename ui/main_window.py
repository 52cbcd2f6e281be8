"""The main window: palette, canvas, problems, summary and edit history in docks.

Opening and saving go through :mod:`core.h5io` (studio and Keras ``.h5`` files); every failure
ends in a message box that says why, and the document in the window is never lost to it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QCursor,
    QFont,
    QGuiApplication,
    QKeySequence,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QUndoView,
    QWidget,
)
from torch import fx

from core.compile import compile_graph, model_info
from core.fragment import read_fragment
from core.graph import Graph, GraphLoadError
from core.h5io import ModelFileError, load_model, save_model
from core.summary import format_summary, summarize
from core.templates import load_template
from core.training_settings import TrainingSettings, suggest_settings
from ui.editor.scene import GraphScene
from ui.editor.view import ZOOM_STEP, GraphView
from ui.palette import PalettePanel

_NODE_ROLE = Qt.ItemDataRole.UserRole
H5_FILTER = "Keras model files (*.h5 *.hdf5)"
#: The MIME type of copied layers (JSON of a fragment: see :mod:`core.fragment`).
FRAGMENT_MIME_TYPE = "application/x-layer-studio-layers"


def carry_weights(old: fx.GraphModule, new: fx.GraphModule) -> None:
    """Copy into ``new`` the weights of every layer that ``old`` has with the same shapes."""
    before, after = model_info(old).modules, model_info(new).modules
    for node_id, attr in after.items():
        if node_id not in before:
            continue
        source = old.get_submodule(before[node_id]).state_dict()
        target = new.get_submodule(attr).state_dict()
        if list(source) == list(target) and all(source[k].shape == target[k].shape for k in source):
            new.get_submodule(attr).load_state_dict(source)


class MainWindow(QMainWindow):
    """One model document in a window."""

    def __init__(self, graph: Graph | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("main_window")
        self.path: Path | None = None
        self.training = TrainingSettings()
        self.module: fx.GraphModule | None = None  # the weights of the opened file
        self.undo_stack = QUndoStack(self)
        self.palette_panel = PalettePanel()
        self.problems = QListWidget()
        self.problems.setObjectName("problems")
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.summary.setFont(QFont("monospace"))
        self.summary.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.history = QUndoView(self.undo_stack)
        self.history.setEmptyLabel("Opened")
        layers = self._dock("Layers", self.palette_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        problems = self._dock("Problems", self.problems, Qt.DockWidgetArea.BottomDockWidgetArea)
        summary = self._dock("Summary", self.summary, Qt.DockWidgetArea.RightDockWidgetArea)
        self._dock("History", self.history, Qt.DockWidgetArea.RightDockWidgetArea)
        self.resizeDocks([layers, summary], [250, 480], Qt.Orientation.Horizontal)
        self.resizeDocks([problems], [130], Qt.Orientation.Vertical)
        self.scene: GraphScene | None = None
        self.view: GraphView | None = None
        self._actions()
        self.palette_panel.kind_activated.connect(self.add_at_centre)
        self.problems.itemActivated.connect(self._show_problem)
        self.problems.itemClicked.connect(self._show_problem)
        self.undo_stack.cleanChanged.connect(self._update_title)
        self.set_graph(graph or load_template("mnist_cnn"))
        self.resize(1400, 900)

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
        self._entries = [
            (file_menu, "&Open…", QKeySequence.StandardKey.Open, self.open_dialog),
            (file_menu, "&Save", QKeySequence.StandardKey.Save, self.save),
            (file_menu, "Save &As…", QKeySequence.StandardKey.SaveAs, self.save_as_dialog),
            (edit_menu, "Cu&t", QKeySequence.StandardKey.Cut, self.cut),
            (edit_menu, "&Copy", QKeySequence.StandardKey.Copy, self.copy),
            (edit_menu, "&Paste", QKeySequence.StandardKey.Paste, self.paste),
            (edit_menu, "D&uplicate", QKeySequence("Ctrl+D"), self.duplicate),
            (edit_menu, "&Delete", QKeySequence.StandardKey.Delete, self._delete),
            (edit_menu, "Select &All", QKeySequence.StandardKey.SelectAll, self.select_all),
            (edit_menu, "&Add Layer…  (Tab)", QKeySequence(), self.quick_add),
            (edit_menu, "A&rrange Layers", QKeySequence("Ctrl+L"), self.arrange),
            (view_menu, "&Fit to View", QKeySequence("F"), self.fit_view),
            (view_menu, "Zoom &In", QKeySequence.StandardKey.ZoomIn, self.zoom_in),
            (view_menu, "Zoom &Out", QKeySequence.StandardKey.ZoomOut, self.zoom_out),
        ]
        for menu, text, keys, slot in self._entries:
            action = QAction(text, self)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(slot)
            menu.addAction(action)
            if text == "&Paste" or text == "Save &As…":
                menu.addSeparator()
        undo = self.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts(
            [QKeySequence(QKeySequence.StandardKey.Redo), QKeySequence("Ctrl+Shift+Z")]
        )
        first = edit_menu.actions()[0]
        edit_menu.insertActions(first, [undo, redo])
        edit_menu.insertSeparator(first)
        view_menu.addSeparator()
        for dock in self.findChildren(QDockWidget):
            view_menu.addAction(dock.toggleViewAction())

    def set_graph(self, graph: Graph) -> None:
        """Show ``graph`` as the window's document (the edit history starts afresh)."""
        if self.scene is not None:
            self.scene.close()
        self.undo_stack.clear()
        self.scene = GraphScene(graph, self.undo_stack)
        self.scene.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.scene.document_changed.connect(self._refresh_panels)
        self.view = GraphView(self.scene)
        self.setCentralWidget(self.view)
        self._refresh_panels()
        self._update_title()
        self.view.fit()

    # -- panels -----------------------------------------------------------------------------

    def _refresh_panels(self, *_: object) -> None:
        assert self.scene is not None
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

    # -- the clipboard (works between windows: the layers travel as our own MIME type) --------

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

    def fit_view(self) -> None:
        """Show the whole model on the canvas."""
        if self.view is not None:
            self.view.fit()

    def _update_title(self, *_: object) -> None:
        name = self.path.name if self.path else "untitled.h5"
        self.setWindowTitle(f"{name}[*] — Layer Studio")  # Qt shows [*] as * when modified
        self.setWindowModified(not self.undo_stack.isClean())

    # -- files ------------------------------------------------------------------------------

    def open_path(self, path: str | Path) -> bool:
        """Open a studio or Keras ``.h5``; on failure say why and keep the current document."""
        try:
            opened = load_model(path)
        except ModelFileError as err:
            QMessageBox.warning(self, "Cannot open this file", str(err))
            return False
        self.path = Path(path)
        self.training = opened.training
        self.module = opened.module
        self.set_graph(opened.graph)
        if opened.notes:
            self.statusBar().showMessage(" ".join(opened.notes), 15000)
        return True

    def save_to(self, path: str | Path) -> bool:
        """Save the document; layers unchanged since the file was opened keep their weights."""
        assert self.scene is not None
        graph = self.scene.graph
        module = None
        if not self.scene.report.errors:
            module = compile_graph(graph, seed=0, report=self.scene.report)
            if self.module is not None:
                carry_weights(self.module, module)
        if self.path is None and self.training == TrainingSettings():
            self.training = suggest_settings(graph)[0]
        try:
            problems = save_model(path, graph, module, training=self.training)
        except ModelFileError as err:
            QMessageBox.warning(self, "Cannot save", str(err))
            return False
        self.path = Path(path)
        self.module = module
        self.undo_stack.setClean()
        self._update_title()
        note = "Saved; Keras can open it." if not problems else "Saved (studio only): "
        self.statusBar().showMessage(note + " ".join(problems), 8000)
        return True

    def save(self) -> bool:
        return self.save_to(self.path) if self.path else self.save_as_dialog()

    def save_as_dialog(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self, "Save model", "model.h5", H5_FILTER)
        return bool(path) and self.save_to(path)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", "", H5_FILTER)
        if path:
            self.open_path(path)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.scene is not None:
            self.scene.close()
        super().closeEvent(event)
