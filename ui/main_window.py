"""The main window: palette, canvas, problems, summary and edit history in docks.

Opening and saving go through :mod:`core.h5io` (studio and Keras ``.h5`` files); every failure
ends in a message box that says why, and the document in the window is never lost to it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QAction, QCloseEvent, QFont, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QUndoView,
    QWidget,
)
from torch import fx

from core.compile import compile_graph, model_info
from core.graph import Graph
from core.h5io import ModelFileError, load_model, save_model
from core.summary import format_summary, summarize
from core.templates import load_template
from core.training_settings import TrainingSettings, suggest_settings
from ui.editor.scene import GraphScene
from ui.editor.view import GraphView
from ui.palette import PalettePanel

_NODE_ROLE = Qt.ItemDataRole.UserRole
H5_FILTER = "Keras model files (*.h5 *.hdf5)"


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
        entries = [
            (file_menu, "&Open…", QKeySequence.StandardKey.Open, self.open_dialog),
            (file_menu, "&Save", QKeySequence.StandardKey.Save, self.save),
            (file_menu, "Save &As…", QKeySequence.StandardKey.SaveAs, self.save_as_dialog),
            (edit_menu, "&Delete", QKeySequence.StandardKey.Delete, self._delete),
            (view_menu, "&Fit to view", QKeySequence("F"), self.fit_view),
        ]
        keyed: list[tuple[QMenu, str, QKeySequence, Callable[[], object]]] = [
            (menu, text, QKeySequence(keys), slot) for menu, text, keys, slot in entries
        ]
        for menu, text, keys, slot in keyed:
            action = QAction(text, self)
            action.setShortcut(keys)
            action.triggered.connect(slot)
            menu.addAction(action)
        undo = self.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts(
            [QKeySequence(QKeySequence.StandardKey.Redo), QKeySequence("Ctrl+Shift+Z")]
        )
        edit_menu.insertActions(edit_menu.actions()[0], [undo, redo])
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

    def fit_view(self) -> None:
        """Show the whole model on the canvas."""
        if self.view is not None:
            self.view.fit()

    def _update_title(self, *_: object) -> None:
        name = self.path.name if self.path else "untitled.h5"
        mark = "" if self.undo_stack.isClean() else " •"
        self.setWindowTitle(f"{name}{mark} — Layer Studio")
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
