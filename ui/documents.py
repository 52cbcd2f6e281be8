"""The File menu's work: New (from the gallery), Open, Save and Save As, and the unsaved prompt.

Opening and saving go through :mod:`core.h5io` (studio and Keras ``.h5`` files); every failure
ends in a message box that says why, and the document in the window is never lost to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QFileDialog, QMessageBox, QStatusBar, QWidget
from torch import fx

from core.compile import carry_weights, compile_graph
from core.graph import Graph
from core.h5io import ModelFileError, load_model, save_model
from core.training_settings import TrainingSettings, suggest_settings
from ui.editor.scene import GraphScene
from ui.template_gallery import TemplateGalleryDialog

H5_FILTER = "Keras model files (*.h5 *.hdf5)"


class DocumentActions:
    """Files for a window that shows one document (``scene``) with an ``undo_stack``."""

    path: Path | None
    training: TrainingSettings
    module: fx.GraphModule | None
    scene: GraphScene | None
    undo_stack: QUndoStack

    if TYPE_CHECKING:  # the window's own

        def statusBar(self) -> QStatusBar: ...
        def set_graph(self, graph: Graph) -> None: ...
        def _update_title(self, *_: object) -> None: ...

    def open_path(self, path: str | Path) -> bool:
        """Open a studio or Keras ``.h5``; on failure say why and keep the current document."""
        try:
            opened = load_model(path)
        except ModelFileError as err:
            QMessageBox.warning(self._widget(), "Cannot open this file", str(err))
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
            QMessageBox.warning(self._widget(), "Cannot save", str(err))
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
        path, _ = QFileDialog.getSaveFileName(self._widget(), "Save model", "model.h5", H5_FILTER)
        return bool(path) and self.save_to(path)

    def open_dialog(self) -> None:
        if not self.confirm_discard("opening another model"):
            return
        path, _ = QFileDialog.getOpenFileName(self._widget(), "Open model", "", H5_FILTER)
        if path:
            self.open_path(path)

    def new_dialog(self) -> None:
        """File ▸ New: pick a template (or an empty model) in the gallery."""
        if not self.confirm_discard("starting a new model"):
            return
        graph = TemplateGalleryDialog.pick(self._widget())
        if graph is not None:
            self.new_document(graph)

    def new_document(self, graph: Graph) -> None:
        """Make ``graph`` the window's new, unsaved document."""
        self.path, self.module, self.training = None, None, TrainingSettings()
        self.set_graph(graph)

    def confirm_discard(self, doing: str) -> bool:
        """True when there are no unsaved changes, or the user saved or dropped them."""
        if self.undo_stack.isClean():
            return True
        answer = QMessageBox.question(
            self._widget(),
            "Unsaved changes",
            f"The model has changes that are not saved. Save them before {doing}?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def _widget(self) -> QWidget:
        assert isinstance(self, QWidget)
        return self
