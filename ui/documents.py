"""The File menu's work: New (from the gallery), Open, Save and Save As, and the unsaved prompt.

Opening and saving go through :mod:`core.h5io` (studio and Keras ``.h5`` files); every failure
ends in a message box that says why, and the document in the window is never lost to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QMessageBox, QStatusBar, QWidget
from torch import fx

from core.compile import carry_weights, compile_graph
from core.graph import Graph
from core.h5io import ModelFileError, load_model, save_model
from core.optimizer_state import OptimizerState, capture
from core.training_settings import TrainingSettings, suggest_settings
from ui.dashboard import model_key
from ui.data.panel import DataPanel
from ui.editor.scene import GraphScene
from ui.editor.undo_stack import GuardedUndoStack
from ui.recent_files import remember
from ui.recovery import Autosaver, Recovery
from ui.template_gallery import TemplateGalleryDialog
from ui.training.session import TrainingSession

H5_FILTER = "Keras model files (*.h5 *.hdf5)"


class DocumentActions:
    """Files for a window that shows one document (``scene``) with an ``undo_stack``."""

    path: Path | None
    training: TrainingSettings
    module: fx.GraphModule | None
    scene: GraphScene | None
    undo_stack: GuardedUndoStack
    history_values: dict[str, list[float | None]]
    data_record: dict[str, object]
    weights_changed: bool
    module_key: str | None
    session: TrainingSession
    weights_version: int
    data_panel: DataPanel
    autosaver: Autosaver

    if TYPE_CHECKING:  # the window's own

        def statusBar(self) -> QStatusBar: ...
        def set_graph(self, graph: Graph) -> None: ...
        def _update_title(self, *_: object) -> None: ...

    def open_path(self, path: str | Path, *, recent: bool = True) -> bool:
        """Open a studio or Keras ``.h5``; on failure say why and keep the current document.

        ``recent=False`` leaves it out of File ▸ Open Recent (a recovery file)."""
        try:
            opened = load_model(path)
        except ModelFileError as err:
            QMessageBox.warning(self._widget(), "Cannot open this file", str(err))
            return False
        self.path = Path(path)
        if recent:
            remember(self.path)
        self.training = opened.training
        self.module = opened.module
        self.history_values = {k: list(v) for k, v in opened.history.items()}
        self.data_record = dict(opened.data)
        self.weights_changed = False
        self.session.forget()
        self.set_graph(opened.graph)
        self.module_key = model_key(opened.graph) if opened.module is not None else None
        self.weights_version += 1
        spec = opened.data.get("spec")
        if isinstance(spec, str) and spec:  # the data it was trained on, to go on with
            self.data_panel.show_spec(spec)
        if opened.notes:
            self.statusBar().showMessage(" ".join(opened.notes), 15000)
        return True

    def recover(self, recovery: Recovery) -> bool:
        """Open an autosaved document as the unsaved work it was, under its own file name."""
        if not self.open_path(recovery.model, recent=False):
            return False
        self.path = recovery.original
        self.weights_changed = True  # unsaved until the user saves it
        self._update_title()
        self.autosaver.save_now()  # kept by this session before the old file goes
        recovery.discard()
        self.statusBar().showMessage("Recovered your unsaved work; save it to keep it.", 15000)
        return True

    def module_to_save(self) -> fx.GraphModule | None:
        """The module with the document's weights: the trained one when it was trained for
        exactly this graph, else a fresh one keeping the weights of the unchanged layers;
        None while the graph has errors."""
        assert self.scene is not None
        if self.module is not None and self.module_key == model_key(self.scene.graph):
            return self.module  # trained for exactly this graph: saved as it is
        if self.scene.report.errors:
            return None
        module = compile_graph(self.scene.graph, seed=0, report=self.scene.report)
        if self.module is not None:
            carry_weights(self.module, module)
        return module

    def save_to(self, path: str | Path) -> bool:
        """Save the document; layers unchanged since the file was opened keep their weights."""
        assert self.scene is not None
        graph = self.scene.graph
        key = model_key(graph)
        module = self.module_to_save()
        if self.path is None and self.training == TrainingSettings():
            self.training = suggest_settings(graph)[0]
        try:
            problems = save_model(
                path,
                graph,
                module,
                training=self.training,
                history=self.history_values,
                data=self.data_record,
                optimizer=self._optimizer_state(module),
            )
        except ModelFileError as err:
            QMessageBox.warning(self._widget(), "Cannot save", str(err))
            return False
        self.path = Path(path)
        remember(self.path)
        if module is not self.module:
            self.session.forget()
        self.module, self.module_key = module, key if module is not None else None
        self.weights_changed = False
        self.undo_stack.setClean()
        self.autosaver.discard()  # saved: nothing left to recover
        self._update_title()
        note = "Saved; Keras can open it." if not problems else "Saved (studio only): "
        self.statusBar().showMessage(note + " ".join(problems), 8000)
        return True

    def _optimizer_state(self, module: fx.GraphModule | None) -> OptimizerState | None:
        """The optimizer's state when ``module`` is what the last run trained (so that a
        reopened file continues training exactly)."""
        trainer = self.session.trainer
        if module is None or trainer is None or trainer.module is not module:
            return None
        return capture(trainer.optimizer, module)

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
        self.history_values, self.data_record, self.weights_changed = {}, {}, False
        self.session.forget()
        self.set_graph(graph)
        self.module_key = None
        self.weights_version += 1

    def confirm_discard(self, doing: str) -> bool:
        """True when there are no unsaved changes, or the user saved or dropped them."""
        if self.undo_stack.isClean() and not self.weights_changed:
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
