"""The Evaluate page, driven as a user would: metrics, the confusion matrix, its cells, the
gallery's filters, the worker thread, and regression."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from core.compile import compile_graph
from core.data.dataset import Dataset
from core.data.samples import load_sample
from core.evaluation import Evaluation, evaluate_model, regression_scores
from core.fit_checks import adapt
from core.metrics import confusion_matrix, per_class_report
from core.templates import load_template
from core.training import Trainer
from core.training_settings import TrainingSettings
from ui.evaluation import EvaluationPanel
from ui.evaluation.confusion import MAX_CLASSES, ConfusionView
from ui.evaluation.gallery import PAGE, WRONG
from ui.theme import dark_palette


@pytest.fixture(scope="module")
def iris() -> Dataset:
    return load_sample("iris")


@pytest.fixture(scope="module")
def trainer(iris: Dataset) -> Trainer:
    """An MLP trained for a few epochs: good, not perfect, so some cells are mistakes."""
    settings = TrainingSettings(epochs=4, batch_size=32, device="cpu", learning_rate=0.01)
    graph = adapt(load_template("mlp"), iris, settings).graph
    model = Trainer(compile_graph(graph, seed=0), settings)
    model.fit(iris)
    return model


@pytest.fixture
def panel(qtbot: QtBot) -> Iterator[EvaluationPanel]:
    widget = EvaluationPanel()
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    yield widget
    widget.wait()


def _worst_mistake(cm: np.ndarray) -> tuple[int, int]:
    off = cm - np.diag(np.diag(cm))
    t, p = np.unravel_index(np.argmax(off), off.shape)
    return int(t), int(p)


def _click_cell(qtbot: QtBot, view: ConfusionView, t: int, p: int) -> None:
    rect = view.cell_rect(t, p)
    assert not rect.isEmpty()
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())


def test_evaluation_shows_metrics_matrix_and_scores(
    qtbot: QtBot, panel: EvaluationPanel, trainer: Trainer, iris: Dataset
) -> None:
    ev = evaluate_model(trainer, iris)
    panel.show_evaluation(ev, iris)
    qtbot.waitExposed(panel)
    texts = [w.text() for w in panel.findChildren(QLabel) if w.isVisible()]
    assert "Accuracy" in texts and "Loss" in texts
    assert f"{ev.metrics['accuracy']:.1%}" in texts
    expected = confusion_matrix(trainer.predict(iris.x).argmax(1), iris.y, 3)
    assert np.array_equal(panel.matrix.matrix, expected)
    assert panel.matrix.class_names == iris.class_names
    scores = per_class_report(expected, iris.class_names or [])
    table = panel.scores
    assert table.rowCount() == 4  # the classes and their average
    for row, s in enumerate(scores):
        assert table.item(row, 0).text() == s.name
        assert table.item(row, 2).text() == f"{s.recall:.1%}"
        assert table.item(row, 4).text() == str(s.support)
    mean_f1 = sum(s.f1 for s in scores) / 3
    assert table.item(3, 3).text() == f"{mean_f1:.1%}"
    assert table.item(3, 4).text() == "150"
    assert panel.gallery.mode == "all"
    assert panel.gallery.table.rowCount() == PAGE  # a table of feature rows, one page
    assert panel.gallery.table.horizontalHeaderItem(4).text() == iris.feature_names[0]  # type: ignore[index]


def test_clicking_a_cell_filters_the_gallery(
    qtbot: QtBot, panel: EvaluationPanel, trainer: Trainer, iris: Dataset
) -> None:
    ev = evaluate_model(trainer, iris)
    assert ev.confusion is not None
    panel.show_evaluation(ev, iris)
    qtbot.waitExposed(panel)
    t, p = _worst_mistake(ev.confusion)
    assert t != p and ev.confusion[t, p] > 0, "the fixture model should make some mistakes"
    with qtbot.waitSignal(panel.matrix.cellClicked) as clicked:
        _click_cell(qtbot, panel.matrix, t, p)
    assert clicked.args == [t, p]
    shown = panel.gallery.shown_indices()
    want = np.flatnonzero((iris.y == t) & (trainer.predict(iris.x).argmax(1) == p))
    assert sorted(shown.tolist()) == want.tolist()
    assert panel.gallery.mode == "cell"
    assert panel.gallery.table.rowCount() == ev.confusion[t, p]
    names = iris.class_names or []
    assert {panel.gallery.table.item(r, 2).text() for r in range(len(shown))} == {names[t]}
    assert {panel.gallery.table.item(r, 1).text() for r in range(len(shown))} == {names[p]}
    assert panel.gallery.table.item(0, 1).foreground().color() == WRONG
    assert panel.matrix.selected == (t, p)
    # a right answer's cell: the diagonal
    _click_cell(qtbot, panel.matrix, 0, 0)
    assert len(panel.gallery.shown_indices()) == ev.confusion[0, 0]
    # back to every sample with the filter box, by keyboard
    box = panel.gallery.filter_box
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_Home)
    assert panel.gallery.mode == "all"
    assert len(panel.gallery.indices) == len(iris)
    assert "120 of 150 samples" in panel.gallery.count_label.text()
    assert panel.matrix.selected is None
    qtbot.keyClick(box, Qt.Key.Key_Down)
    assert panel.gallery.mode == "wrong"
    assert sorted(panel.gallery.shown_indices().tolist()) == sorted(ev.wrong().tolist())


def test_evaluation_runs_in_a_worker_with_a_busy_state(
    qtbot: QtBot, panel: EvaluationPanel, trainer: Trainer, iris: Dataset
) -> None:
    with qtbot.waitSignal(panel.evaluated, timeout=30_000) as done:
        panel.evaluate(trainer, iris)
        assert panel.busy
        assert panel.stack.currentIndex() == 1
        assert "150 samples" in panel.busy_label.text()
    assert not panel.busy
    assert isinstance(done.args[0], Evaluation)
    assert panel.stack.currentIndex() == 2
    assert panel.evaluation is done.args[0]
    assert panel.matrix.matrix.sum() == len(iris)


def test_evaluation_that_cannot_run_says_why(
    qtbot: QtBot, panel: EvaluationPanel, trainer: Trainer
) -> None:
    digits = load_sample("digits").subset(np.arange(20))
    with qtbot.waitSignal(panel.failed, timeout=30_000) as failed:
        panel.evaluate(trainer, digits)
    assert "shape" in failed.args[0]
    assert panel.stack.currentIndex() == 0
    assert panel.message.text().startswith("Evaluation could not run.")
    assert not panel.busy


def _digits_evaluation(data: Dataset) -> Evaluation:
    """Made-up predictions for the digits: every tenth sample is called a 0."""
    targets = data.y.astype(np.int64)
    predictions = targets.copy()
    predictions[::10] = 0
    probs = np.full((len(data), 10), 0.05, np.float32)
    probs[np.arange(len(data)), predictions] = 0.55
    cm = confusion_matrix(predictions, targets, 10)
    names = data.class_names or []
    return Evaluation(
        "classification", {"loss": 0.3, "accuracy": 0.9}, targets, predictions, probs, names,
        cm, per_class_report(cm, names),
    )  # fmt: skip


def test_image_gallery_marks_mistakes_and_pages(qtbot: QtBot, panel: EvaluationPanel) -> None:
    data = load_sample("digits").subset(np.arange(300))
    ev = _digits_evaluation(data)
    panel.show_evaluation(ev, data)
    gallery = panel.gallery
    assert gallery.stack.currentWidget() is gallery.images
    assert gallery.images.count() == PAGE
    assert gallery.more_button.isVisible()
    qtbot.mouseClick(gallery.more_button, Qt.MouseButton.LeftButton)
    assert gallery.images.count() == min(2 * PAGE, len(data))
    first = gallery.images.item(0)  # sample 0 is wrong unless it is a 0
    wrong = ev.targets[0] != ev.predictions[0]
    assert (first.foreground().color() == WRONG) == wrong
    right = gallery.images.item(1)
    assert right.foreground().color() != WRONG and "✓" in right.text()
    gallery.show_wrong()
    wrong_ones = [i for i in range(0, 300, 10) if data.y[i] != 0]
    assert sorted(gallery.shown_indices().tolist()) == wrong_ones
    assert all("true:" in text for text in gallery.item_texts())


def test_many_classes_show_the_largest_and_a_note(qtbot: QtBot) -> None:
    view = ConfusionView()
    qtbot.addWidget(view)
    k = 30
    matrix = np.zeros((k, k), np.int64)
    matrix[np.arange(k), np.arange(k)] = np.arange(k) + 1  # class 29 is the largest
    view.set_matrix(matrix, [f"class {i}" for i in range(k)])
    view.resize(600, 600)
    assert view.shown == list(range(k - MAX_CLASSES, k))
    assert "20 classes" in view.note and "30" in view.note
    assert view.cell_rect(0, 0).isEmpty()
    assert not view.cell_rect(29, 29).isEmpty()
    assert view.cell_at(view.cell_rect(15, 20).center()) == (15, 20)
    view.grab()  # paints without error


def test_regression_shows_a_scatter(qtbot: QtBot, panel: EvaluationPanel) -> None:
    data = load_sample("sine")
    targets = np.asarray(data.y, np.float32).reshape(len(data), -1)
    predictions = targets * 0.9 + 0.05
    ev = Evaluation(
        "regression",
        {"loss": 0.01, "mean_absolute_error": 0.05},
        targets,
        predictions,
        regression=regression_scores(predictions, targets, ["y"]),
    )
    panel.show_evaluation(ev, data)
    assert panel.plots.currentWidget() is panel.scatter
    assert panel.tabs.tabText(0) == "Predicted against true"
    x, y = panel.scatter.point_data()
    assert np.allclose(x, targets[: len(x), 0]) and np.allclose(y, predictions[: len(y), 0])
    assert panel.scores.item(0, 0).text() == "y"
    assert panel.scores.item(0, 2).text() == f"{ev.regression[0].r2:.3f}"
    panel.gallery.show_wrong()
    errors = np.abs(predictions - targets).mean(axis=1)
    shown = panel.gallery.shown_indices()
    assert errors[shown[0]] == pytest.approx(errors.max())


@pytest.mark.usefixtures("restore_palette")
def test_plots_follow_the_palette(qtbot: QtBot, panel: EvaluationPanel) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.setPalette(dark_palette())
    qtbot.wait(10)
    base = dark_palette().color(QPalette.ColorRole.Base)
    background = panel.scatter.plot.backgroundBrush().color()
    assert QColor(background).name() == base.name()


class LazyImages:
    """Images read on demand, as a folder too big for memory gives them."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.reads = 0

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    def __len__(self) -> int:
        return len(self.array)

    def take(self, indices: np.ndarray) -> np.ndarray:
        self.reads += len(indices)
        return self.array[indices]


def test_gallery_reads_only_the_shown_images_of_lazy_data(panel: EvaluationPanel) -> None:
    digits = load_sample("digits")
    source = LazyImages(np.asarray(digits.x[0]))
    data = Dataset("folder", [source], digits.y, "classification", digits.class_names)
    ev = _digits_evaluation(data)
    panel.show_evaluation(ev, data)
    assert panel.gallery.images.count() == PAGE
    assert source.reads == PAGE
    assert "✓" in panel.gallery.images.item(1).text()
