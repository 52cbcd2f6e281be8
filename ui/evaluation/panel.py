"""The Evaluate page: the test metrics on top; the confusion matrix (or, for regression, predicted
against true values) and the per-class scores on the left; sample predictions on the right.
Clicking a cell of the matrix shows its samples in the gallery."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, Qt, QThread, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.data.dataset import Dataset
from core.evaluation import Evaluation
from core.training import Trainer
from ui.evaluation.confusion import ConfusionView
from ui.evaluation.gallery import PredictionGallery
from ui.evaluation.scatter import PredictionScatterView
from ui.evaluation.worker import EvaluationWorker, start

_PERCENT = ("accuracy", "precision", "recall")
_SCORES = ("precision", "recall", "f1")
_TITLES = {"loss": "Loss", "auc": "AUC", "r2_score": "R²", "f1_score": "F1 score"}
# every running thread and its worker, kept until the thread ends, also when the panel goes
# away first (a QThread destroyed while running aborts the program)
_RUNNING: dict[QThread, EvaluationWorker] = {}


def metric_title(name: str) -> str:
    """A Keras metric name in words: ``sparse_categorical_accuracy`` → ``Sparse categorical
    accuracy``, ``r2_score`` → ``R²``."""
    if name in _TITLES:
        return _TITLES[name]
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def metric_text(name: str, value: float) -> str:
    """A metric's value as people read it: accuracies as percentages, others as numbers."""
    if any(name.endswith(p) for p in _PERCENT):
        return f"{value:.1%}"
    return f"{value:.4g}"


class _MetricCard(QFrame):
    def __init__(self, name: str, value: float) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setToolTip(f"Keras name: {name}")
        self.value_label = QLabel(metric_text(name, value))
        font = QFont(self.value_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.value_label.setFont(font)
        caption = QLabel(metric_title(name))
        caption.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.setSpacing(0)
        layout.addWidget(self.value_label)
        layout.addWidget(caption)


def _fill_table(table: QTableWidget, heads: list[str], rows: list[list[str]]) -> None:
    table.clear()
    table.setColumnCount(len(heads))
    table.setRowCount(len(rows))
    table.setHorizontalHeaderLabels(heads)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)
    table.resizeColumnsToContents()
    header = table.horizontalHeader()
    header.setStretchLastSection(False)
    for c in range(len(heads)):
        table.setColumnWidth(c, max(90, table.columnWidth(c) + 16))
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)


class EvaluationPanel(QWidget):
    """Shows an :class:`~core.evaluation.Evaluation`, or evaluates a model off the GUI thread.

    Signals:
        evaluated(Evaluation): An evaluation started by :meth:`evaluate` finished.
        failed(str): An evaluation started by :meth:`evaluate` could not run; why, in words.
    """

    evaluated = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.evaluation: Evaluation | None = None
        self.data: Dataset | None = None
        self._thread: QThread | None = None
        self._worker: EvaluationWorker | None = None
        self.matrix = ConfusionView()
        self.matrix.cellClicked.connect(self._cell_clicked)
        self.scatter = PredictionScatterView()
        self.gallery = PredictionGallery()
        self.gallery.filterChanged.connect(self._filter_changed)
        self.scores = QTableWidget()
        self.scores.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.scores.setAlternatingRowColors(True)
        self.scores.verticalHeader().setVisible(False)
        self.scores.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.scores.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.matrix_note = QLabel()
        self.matrix_note.setWordWrap(True)
        self.matrix_note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.cards = QHBoxLayout()
        self.cards.setSpacing(8)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.message = QLabel("Train a model, then evaluate it on data it has not seen.")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setFixedWidth(320)
        self.busy_label = QLabel()
        self.busy_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self._message_page())
        self.stack.addWidget(self._busy_page())
        self.stack.addWidget(self._results_page())
        layout = QVBoxLayout(self)
        layout.addWidget(self.stack)

    # -- pages ------------------------------------------------------------------------------

    def _message_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        layout.addWidget(self.message)
        layout.addStretch(1)
        return page

    def _busy_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        layout.addWidget(self.busy_label)
        layout.addWidget(self.progress, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)
        return page

    def _results_page(self) -> QWidget:
        self.matrix_hint = QLabel()
        self.matrix_hint.setWordWrap(True)
        self.matrix_hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.plots = QStackedWidget()
        self.plots.addWidget(self.matrix)
        self.plots.addWidget(self.scatter)
        chart_page = QWidget()
        box = QVBoxLayout(chart_page)
        box.addWidget(self.matrix_hint)
        box.addWidget(self.plots, 1)
        box.addWidget(self.matrix_note)
        scores_page = QWidget()
        QVBoxLayout(scores_page).addWidget(self.scores)
        self.tabs = QTabWidget()
        self.tabs.addTab(chart_page, "Confusion matrix")
        self.tabs.addTab(scores_page, "Per class")
        gallery_box = QGroupBox("Sample predictions")
        QVBoxLayout(gallery_box).addWidget(self.gallery)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tabs)
        split.addWidget(gallery_box)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([560, 440])  # scaled to the splitter's width when shown
        split.setChildrenCollapsible(False)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addLayout(self.cards)
        top.addSpacing(12)
        top.addWidget(self.summary, 1)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        return page

    # -- the API ----------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Whether an evaluation is running."""
        return self._thread is not None

    def evaluate(
        self, trainer: Trainer, data: Dataset, output_names: Sequence[str] | None = None
    ) -> None:
        """Evaluate ``trainer``'s model on ``data`` in a worker thread; show it when done.

        Ignored while another evaluation runs (see :attr:`busy`).
        """
        if self._thread is not None:
            return
        self.data = data
        self.busy_label.setText(f"Evaluating on {len(data):,} samples of {data.name}…")
        self.stack.setCurrentIndex(1)
        worker = EvaluationWorker(trainer, data, output_names=output_names)
        worker.finished.connect(self._worker_finished)
        worker.failed.connect(self._worker_failed)
        self._worker = worker
        self._thread = thread = start(worker)
        _RUNNING[thread] = worker
        thread.finished.connect(lambda: _RUNNING.pop(thread, None))

    def wait(self, ms: int = 60_000) -> bool:
        """Block until the running evaluation's thread ends (for tests and shutdown)."""
        thread = self._thread
        return True if thread is None else thread.wait(ms)

    def show_message(self, text: str) -> None:
        """Show ``text`` instead of results (nothing to evaluate, or why it failed)."""
        self.message.setText(text)
        self.stack.setCurrentIndex(0)

    def show_evaluation(self, evaluation: Evaluation, data: Dataset) -> None:
        """Show ``evaluation``, the results on ``data`` (the same samples, in order)."""
        self.evaluation, self.data = evaluation, data
        self._show_metrics(evaluation, data)
        if evaluation.task == "classification" and evaluation.confusion is not None:
            self.tabs.setTabText(0, "Confusion matrix")
            self.matrix_hint.setText(
                "Rows are the right answers, columns the model's. Click a cell to see its samples."
            )
            self.matrix.set_matrix(evaluation.confusion, evaluation.class_names)
            self.matrix_note.setText(self.matrix.note)
            self.matrix_note.setVisible(bool(self.matrix.note))
            self.plots.setCurrentWidget(self.matrix)
            self.tabs.setTabText(1, "Per class")
            rows = [
                [s.name, f"{s.precision:.1%}", f"{s.recall:.1%}", f"{s.f1:.1%}", f"{s.support:,}"]
                for s in evaluation.per_class
            ]
            if len(rows) > 1:
                scores = evaluation.per_class
                mean = [sum(getattr(s, k) for s in scores) / len(scores) for k in _SCORES]
                total = sum(s.support for s in scores)
                rows.append(["Average over classes", *(f"{v:.1%}" for v in mean), f"{total:,}"])
            _fill_table(self.scores, ["Class", "Precision", "Recall", "F1", "Samples"], rows)
        else:
            self.tabs.setTabText(0, "Predicted against true")
            self.matrix_hint.setText("Points on the dashed line are predicted exactly.")
            self.matrix_note.hide()
            self.scatter.show_evaluation(evaluation)
            self.plots.setCurrentWidget(self.scatter)
            self.tabs.setTabText(1, "Per output")
            rows = [[s.name, f"{s.mae:.4g}", f"{s.r2:.3f}"] for s in evaluation.regression]
            _fill_table(self.scores, ["Output", "Mean absolute error", "R²"], rows)
        self.gallery.show_samples(evaluation, data)
        self.stack.setCurrentIndex(2)

    # -- inside -----------------------------------------------------------------------------

    def _show_metrics(self, evaluation: Evaluation, data: Dataset) -> None:
        while self.cards.count():
            item = self.cards.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for name, value in evaluation.metrics.items():
            self.cards.addWidget(_MetricCard(name, value))
        n = len(evaluation)
        text = f"On {n:,} samples of {data.name}"
        if evaluation.task == "classification":
            wrong = int((evaluation.targets != evaluation.predictions).sum())
            text += f": {n - wrong:,} right, {wrong:,} wrong."
        self.summary.setText(text + ("" if text.endswith(".") else "."))

    def _cell_clicked(self, true_class: int, predicted_class: int) -> None:
        self.gallery.show_cell(true_class, predicted_class)

    def _filter_changed(self, mode: str) -> None:
        if mode != "cell":
            self.matrix.select(None)
        elif self.gallery.cell is not None:
            self.matrix.select(self.gallery.cell)

    def _worker_finished(self, evaluation: Evaluation) -> None:
        self._end_run()
        if self.data is not None:
            self.show_evaluation(evaluation, self.data)
        self.evaluated.emit(evaluation)

    def _worker_failed(self, text: str) -> None:
        self._end_run()
        self.show_message(f"Evaluation could not run. {text}")
        self.failed.emit(text)

    def _end_run(self) -> None:
        if self._thread is not None:
            self._thread.wait()
        self._thread = self._worker = None

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self.matrix.update()
        super().changeEvent(event)
