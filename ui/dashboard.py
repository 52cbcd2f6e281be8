"""The window's pages beyond the canvas: Data, Train and Evaluate, and what ties them to the
document: which weights train, the canvas locked while they do, and the history they leave.

The model that trains is the window's :attr:`module`, compiled from the document and carrying
the weights it had. The canvas is read-only while a run goes (every edit is refused with a
sentence, and the editing widgets are disabled), so the module can never disagree with the
graph under it. Closing the window during a run asks first, then stops the run cleanly.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMessageBox,
    QScrollArea,
    QStatusBar,
    QTabWidget,
    QUndoView,
    QVBoxLayout,
    QWidget,
)
from torch import fx

from core.compile import carry_weights, compile_graph, model_info
from core.data.dataset import Dataset
from core.fit_checks import Adapted, check_fit
from core.graph import Graph
from core.shapes import ShapeReport
from core.training import TrainingError
from core.training_defaults import suggest_for_data
from core.training_settings import SettingsError, TrainingSettings
from ui.data.panel import DataPanel
from ui.editor.commands import apply_graph
from ui.editor.undo_stack import GuardedUndoStack
from ui.evaluation.panel import EvaluationPanel
from ui.evaluation.try_it import TryItPanel
from ui.evaluation_actions import EvaluationActions
from ui.training.panel import TrainingPanel
from ui.training.session import TrainingSession
from ui.training.worker import Outcome

if TYPE_CHECKING:
    from ui.editor.scene import GraphScene
    from ui.editor.view import GraphView

LOCKED = (
    "Training is running: the model cannot be changed until it stops. Press Stop on the "
    "Train page (what was learnt is kept)."
)


def model_key(graph: Graph) -> str:
    """What a compiled module depends on: kinds, params and wires (not positions or notes)."""
    nodes = sorted((n.id, n.kind, n.name, n.params) for n in graph.nodes.values())
    edges = sorted((e.src, e.src_port, e.dst, e.dst_port) for e in graph.edges)
    return json.dumps([nodes, edges], sort_keys=True, default=str)


class DashboardActions(EvaluationActions):
    """Data, Train and Evaluate pages for a :class:`~ui.main_window.MainWindow`."""

    scene: GraphScene | None
    view: GraphView | None
    module: fx.GraphModule | None
    training: TrainingSettings
    undo_stack: GuardedUndoStack
    history: QUndoView
    history_values: dict[str, list[float | None]]
    weights_changed: bool
    data_record: dict[str, object]

    if TYPE_CHECKING:  # the window's own

        def statusBar(self) -> QStatusBar: ...
        def _update_title(self, *_: object) -> None: ...
        def edit_widgets(self) -> list[QWidget]: ...
        def edit_actions(self) -> list[QAction]: ...

    def _build_pages(self) -> QTabWidget:
        self.session = TrainingSession(self._owner())
        self.module_key: str | None = None
        self.runs = 0
        self.lock_banner = QLabel(LOCKED)
        self.lock_banner.setObjectName("lock_banner")
        self.lock_banner.setWordWrap(True)
        self.lock_banner.setStyleSheet(
            "QLabel { background: palette(highlight); color: palette(highlighted-text);"
            " padding: 6px 10px; }"
        )
        self.lock_banner.hide()
        self.model_page = QWidget()
        self.model_layout = QVBoxLayout(self.model_page)
        self.model_layout.setContentsMargins(0, 0, 0, 0)
        self.model_layout.setSpacing(0)
        self.model_layout.addWidget(self.lock_banner)
        self.training_panel = TrainingPanel(self.session)
        self.data_panel = DataPanel()
        self.pages = QTabWidget()
        self.pages.setObjectName("pages")
        self.pages.setDocumentMode(True)
        self.evaluation_panel = EvaluationPanel()
        self.try_panel = TryItPanel()
        self.pages.addTab(self.model_page, "Model")
        self._scrolled: dict[QWidget, QScrollArea] = {}
        for page, title in (
            (self.data_panel, "Data"),
            (self.training_panel, "Train"),
            (self.evaluation_panel, "Evaluate"),
            (self.try_panel, "Try it"),
        ):
            self.pages.addTab(self._scroller(page), title)
        self.evaluated_state: tuple[int, int] | None = None  # what the pages last showed
        self.weights_version = 0  # bumped by every run and every new module
        self.data_panel.dataChanged.connect(self._data_changed)
        self.data_panel.adaptRequested.connect(self.apply_adapted)
        self.pages.currentChanged.connect(self._page_changed)
        self._hidden_docks: list[QDockWidget] = []
        self.training_panel.trainRequested.connect(self.train)
        self.session.runningChanged.connect(self._lock)
        self.session.epochEnded.connect(self._epoch_ended)
        self.session.finished.connect(self._run_finished)
        self.undo_stack.refused.connect(self._refused)
        return self.pages

    def _scroller(self, page: QWidget) -> QScrollArea:
        """``page`` in a scroll area: a small window scrolls it instead of growing past the
        screen to fit the page's smallest size."""
        area = QScrollArea()
        area.setWidget(page)
        area.setWidgetResizable(True)
        area.setFrameShape(QScrollArea.Shape.NoFrame)
        self._scrolled[page] = area
        return area

    def show_page(self, page: QWidget) -> None:
        """Bring ``page`` (the Model page or a panel) to the front."""
        self.pages.setCurrentWidget(self._scrolled.get(page, page))

    def current_page(self) -> QWidget:
        """The page in front (the panel, not the scroll area around it)."""
        shown = self.pages.currentWidget()
        inner = shown.widget() if isinstance(shown, QScrollArea) else shown
        assert inner is not None
        return inner

    def _page_changed(self, index: int) -> None:
        """The editor's docks belong to the Model page: the other pages get the room. The
        Evaluate and Try it pages catch up with the model when they are shown."""
        window = self._owner()
        if self.current_page() in (self.evaluation_panel, self.try_panel):
            self.refresh_evaluation()
        if self.current_page() is self.model_page:
            for dock in self._hidden_docks:
                dock.show()
            self._hidden_docks = []
            return
        for dock in window.findChildren(QDockWidget):
            if dock.isVisible() and not dock.isFloating():
                self._hidden_docks.append(dock)
                dock.hide()

    def _owner(self) -> QWidget:
        assert isinstance(self, QWidget)
        return self

    def show_canvas(self, view: QWidget) -> None:
        """Put the document's canvas on the Model page (replacing the previous one)."""
        item = self.model_layout.takeAt(1) if self.model_layout.count() > 1 else None
        old = item.widget() if item is not None else None
        if old is not None:  # as setCentralWidget did: the old canvas goes for good
            old.hide()
            old.deleteLater()
        self.model_layout.addWidget(view, 1)

    # -- training -----------------------------------------------------------------------------

    def training_data(self) -> tuple[Dataset, Dataset | None] | None:
        """(train, validation) datasets to train on, or None before any data is chosen."""
        splits = self.data_panel.splits()
        return None if splits is None else (splits.train, splits.validation)

    def model_changed(self) -> None:
        """The document changed: the Data page checks the data against it again."""
        if self.scene is not None:
            self.data_panel.set_model(self.scene.graph, self.training)

    def _data_changed(self) -> None:
        """New data: settings suggested for it (with the reasons), and a line on the Train page."""
        loaded, splits = self.data_panel.loaded(), self.data_panel.splits()
        if loaded is None or splits is None or self.scene is None:
            return
        settings, reasons = suggest_for_data(self.scene.graph, loaded.train, self.training.seed)
        self.training_panel.set_settings(settings, reasons)
        parts = [f"{len(splits.train):,} to train on"]
        if splits.validation is not None:
            parts.append(f"{len(splits.validation):,} to validate")
        if splits.test is not None:
            parts.append(f"{len(splits.test):,} to test")
        self.training_panel.set_data_line(f"{loaded.train.name}: " + ", ".join(parts) + ".")

    def apply_adapted(self, adapted: Adapted) -> None:
        """Change the document into ``adapted.graph`` (the Data page's fix) as one undo step."""
        if self.scene is None:
            return
        if apply_graph(
            self.undo_stack, self.scene.graph, adapted.graph, "Fit the model to the data"
        ):
            self.statusBar().showMessage(" ".join(adapted.changes), 10000)

    def train(self) -> bool:
        """Train was pressed: check everything, then start a run. False (saying why) if not."""
        panel = self.training_panel
        if self.session.running or self.scene is None:
            return False
        if self.evaluation_panel.busy:
            panel.say("Wait a moment: the model is being evaluated.", error=True)
            return False
        graph, report = self.scene.graph, self.scene.report
        if report.errors:
            panel.say(
                "The model has problems to fix first (see Problems): "
                + report.errors[0].text(graph),
                error=True,
            )
            return False
        data = self.training_data()
        if data is None:
            panel.say("Choose the data to train on first, on the Data page.", error=True)
            return False
        train, validation = data
        try:
            settings = panel.form.settings()
            validation_share = self.data_panel.split_args()[0]
            settings = dataclasses.replace(settings, validation_split=validation_share)
        except SettingsError:
            return False  # the form shows the problems
        problems = check_fit(graph, train, settings)
        if problems:
            panel.say(
                " ".join(problems) + " The Data page can change the model to fit the data.",
                error=True,
            )
            return False
        module = self._training_module(graph, report, settings)
        outputs = [graph.nodes[i].name for i in model_info(module).outputs]
        try:
            self.session.start(module, settings, train, validation, outputs)
        except TrainingError as err:
            panel.say(str(err), error=True)
            return False
        self.training = settings
        loaded, spec = self.data_panel.loaded(), self.data_panel.spec()
        if loaded is not None and spec is not None:
            self.data_record = loaded.record(spec)
        self.runs += 1
        rate = (
            "default rate"
            if settings.learning_rate != settings.learning_rate
            else (f"lr {settings.learning_rate:g}")
        )
        label = f"Run {self.runs}: {settings.optimizer}, {rate}, batch {settings.batch_size}"
        if self.session.continued:
            label += " (continued)"
        batches = max(1, -(-len(train) // settings.batch_size))
        panel.begin_run(label, list(settings.metrics), batches)
        return True

    def _training_module(
        self, graph: Graph, report: ShapeReport, settings: TrainingSettings
    ) -> fx.GraphModule:
        """The window's module when it was compiled from this graph; else a new one that
        carries every weight whose layer kept its shape (a new run starts afresh)."""
        key = model_key(graph)
        if self.module is not None and self.module_key == key:
            return self.module
        module = compile_graph(graph, seed=settings.seed or 0, report=report)
        if self.module is not None:
            carry_weights(self.module, module)
        self.module, self.module_key = module, key
        self.weights_version += 1
        self.session.forget()
        return module

    def _epoch_ended(self, epoch: int, record: dict[str, float]) -> None:
        values = self.history_values
        length = len(next(iter(values.values()), []))
        for name in record:
            if name not in values:
                values[name] = [None] * length
        for name, column in values.items():
            column.append(record.get(name))
        self.weights_changed = True
        self._update_title()

    def _run_finished(self, outcome: Outcome) -> None:
        if outcome.epochs_done:
            self.statusBar().showMessage(outcome.message, 8000)
            self.weights_version += 1

    # -- the lock -----------------------------------------------------------------------------

    def _lock(self, running: bool) -> None:
        self.undo_stack.locked = LOCKED if running else None
        self.lock_banner.setVisible(running)
        if self.view is not None:
            self.view.setInteractive(not running)
        for widget in self.edit_widgets():
            widget.setEnabled(not running)
        for action in self.edit_actions():
            action.setEnabled(not running)
        if not running:  # the undo actions follow the stack again
            self.undo_action.setEnabled(self.undo_stack.canUndo())
            self.redo_action.setEnabled(self.undo_stack.canRedo())
            self.refresh_evaluation()  # the run's thread is gone: the model is free

    def _refused(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _keep_undo_locked(self, *_: object) -> None:
        if self.undo_stack.locked is not None:
            self.undo_action.setEnabled(False)
            self.redo_action.setEnabled(False)

    undo_action: QAction
    redo_action: QAction

    def confirm_stop_training(self) -> bool:
        """Before closing: True when no run goes, or the user agreed and it stopped."""
        if not self.session.running:
            return True
        answer = QMessageBox.question(
            self._owner(),
            "Training is running",
            "A training run is still going. Stop it and close? What it learnt so far is kept "
            "in the model (you are asked about saving next).",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        if not self.session.stop_and_wait():
            self.statusBar().showMessage("The training run did not stop; try again.", 8000)
            return False
        return True
