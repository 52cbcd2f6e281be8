"""The File menu's Export: the document as a PyTorch script, Keras code or an ONNX file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from core.compile import python_name
from core.export import ExportRequest
from ui.export_dialog import ExportDialog

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget
    from torch import fx

    from core.training_settings import TrainingSettings
    from ui.editor.scene import GraphScene


class ExportActions:
    """Export for a window with a document (``scene``, ``path``, ``training``, ``data_record``
    and ``module_to_save``, from :class:`ui.documents.DocumentActions`)."""

    if TYPE_CHECKING:
        scene: GraphScene | None
        path: Path | None
        training: TrainingSettings
        data_record: dict[str, object]

        def module_to_save(self) -> fx.GraphModule | None: ...
        def _widget(self) -> QWidget: ...

    def export_request(self) -> ExportRequest:
        """What an export of the document holds now: its graph, weights, settings and data."""
        assert self.scene is not None
        graph = self.scene.graph
        return ExportRequest(graph, self.module_to_save(), self.training, dict(self.data_record))

    def export_dialog(self) -> ExportDialog:
        """Open the Export dialog (not modal: the window stays usable); returns it."""
        assert self.scene is not None
        name = python_name(self.scene.graph.name, set())
        stem = self.path.stem if self.path is not None else name
        folder = self.path.parent if self.path is not None else Path.home()
        dialog = ExportDialog(self.export_request, stem, folder, self._widget())
        dialog.setModal(False)
        dialog.show()
        return dialog
