"""The Try it panel, driven as a user would: drawing with the mouse, a table form, dropped image
files, and the answers it shows. A fake model records what it is given."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QComboBox, QDoubleSpinBox
from pytestqt.qtbot import QtBot

from core.data.csv_table import read_csv_with_pipeline
from core.evaluation import Predictor, load_image
from ui.evaluation import TryItPanel
from ui.evaluation.chart import TOP
from ui.evaluation.gallery import WRONG

DIGITS = [str(i) for i in range(10)]


class FakeModel:
    """Returns fixed outputs and keeps every batch it was given."""

    def __init__(self, outputs: list[float] | np.ndarray) -> None:
        self.outputs = np.asarray(outputs, np.float32).reshape(1, -1)
        self.inputs: list[np.ndarray] = []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.inputs.append(np.array(batch))
        return self.outputs


def _probabilities(k: int, best: int) -> np.ndarray:
    p = np.linspace(0.01, 0.02, k)
    p[best] = 0.0
    p[best] = 1 - p.sum()
    return p


@pytest.fixture
def panel(qtbot: QtBot) -> TryItPanel:
    widget = TryItPanel()
    qtbot.addWidget(widget)
    widget.resize(900, 520)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _draw(qtbot: QtBot, panel: TryItPanel, points: list[tuple[float, float]]) -> None:
    """Press, move and release the mouse on the canvas through ``points`` (fractions)."""
    canvas = panel.canvas
    square = canvas.square()

    def at(fx: float, fy: float) -> QPointF:
        return QPointF(square.left() + fx * square.width(), square.top() + fy * square.height())

    first = at(*points[0]).toPoint()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=first)
    for fx, fy in points[1:]:
        qtbot.mouseMove(canvas, at(fx, fy).toPoint())
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=at(*points[-1]).toPoint())


def test_drawing_a_stroke_asks_the_model(qtbot: QtBot, panel: TryItPanel) -> None:
    probs = _probabilities(10, best=7)
    model = FakeModel(probs)
    panel.set_model(Predictor(model, (1, 28, 28), "classification", DIGITS))
    assert panel.mode == "drawing" and panel.canvas.isVisible()
    with qtbot.waitSignal(panel.predicted) as answered:
        _draw(qtbot, panel, [(0.2, 0.3), (0.5, 0.3), (0.8, 0.3)])  # a horizontal stroke
    (batch,) = model.inputs
    assert batch.shape == (1, 1, 28, 28) and batch.dtype == np.float32
    image = batch[0, 0]
    assert image.max() == pytest.approx(1.0)
    rows = np.flatnonzero(image.max(axis=1) > 0.2)
    columns = np.flatnonzero(image.max(axis=0) > 0.2)
    assert len(rows) <= 6 and 11 <= rows.mean() <= 16  # one thin band, centred as MNIST
    assert len(columns) >= 16  # long across
    assert answered.args[0] == pytest.approx(probs)
    assert panel.answer.text() == "7"
    bars = panel.chart.bars()
    assert len(bars) == TOP
    order = np.argsort(-probs, kind="stable")
    assert [name for name, _ in bars] == [DIGITS[i] for i in order]
    assert [value for _, value in bars] == pytest.approx(probs[order].tolist())
    np.testing.assert_allclose(panel.chart.bar_item.opts["width"], probs[order], rtol=1e-6)
    # a vertical stroke gives a narrow column instead
    qtbot.mouseClick(panel.clear_button, Qt.MouseButton.LeftButton)
    assert panel.canvas.is_blank() and panel.chart.bars() == []
    assert panel.answer.text() == "–"
    _draw(qtbot, panel, [(0.5, 0.1), (0.5, 0.5), (0.5, 0.9)])
    image = model.inputs[-1][0, 0]
    assert len(np.flatnonzero(image.max(axis=0) > 0.2)) <= 6
    assert len(np.flatnonzero(image.max(axis=1) > 0.2)) >= 16


def test_small_digits_get_the_digits_value_range(qtbot: QtBot, panel: TryItPanel) -> None:
    model = FakeModel(_probabilities(10, best=1))
    panel.set_model(Predictor(model, (1, 8, 8), "classification", DIGITS))
    _draw(qtbot, panel, [(0.5, 0.15), (0.52, 0.5), (0.5, 0.85)])
    (batch,) = model.inputs
    assert batch.shape == (1, 1, 8, 8)
    assert batch.min() >= 0 and batch.max() == pytest.approx(1.0)
    assert (batch[0, 0].max(axis=1) > 0.1).all()  # a digit fills the height, as in the data
    assert panel.preview.pixmap() is not None and not panel.preview.pixmap().isNull()


CSV = """size,city,garden,price_band
50,Paris,yes,high
70,Lyon,no,low
90,Paris,yes,high
110,Nice,no,low
65,Lyon,yes,low
"""


def test_table_form_encodes_raw_values_with_the_pipeline(
    qtbot: QtBot, panel: TryItPanel, tmp_path: Path
) -> None:
    path = tmp_path / "houses.csv"
    path.write_text(CSV)
    data, pipeline = read_csv_with_pipeline(path, "price_band")
    model = FakeModel([0.25, 0.75])
    predictor = Predictor(model, data.input_shapes[0], data.task, data.class_names, None, pipeline)
    panel.set_model(predictor)
    assert panel.mode == "table"
    fields = panel.form.fields
    assert list(fields) == ["size", "city", "garden"]
    size, city, garden = fields["size"], fields["city"], fields["garden"]
    assert isinstance(size, QDoubleSpinBox) and isinstance(city, QComboBox)
    assert isinstance(garden, QComboBox)
    assert [city.itemText(i) for i in range(city.count())] == pipeline.columns[1].levels
    size.lineEdit().selectAll()
    qtbot.keyClicks(size, "120")
    qtbot.keyClick(size, Qt.Key.Key_Return)
    city.setFocus()
    qtbot.keyClick(city, Qt.Key.Key_End)  # the last level
    model.inputs.clear()
    qtbot.mouseClick(panel.predict_button, Qt.MouseButton.LeftButton)
    (batch,) = model.inputs
    row = {"size": 120.0, "city": city.itemText(city.count() - 1), "garden": garden.currentText()}
    assert batch.shape == (1, len(pipeline.feature_names))
    np.testing.assert_allclose(batch[0], pipeline.transform([row])[0], rtol=1e-6)
    assert size.value() == 120.0
    assert panel.answer.text() == data.class_names[1]  # type: ignore[index]
    assert panel.detail.text().startswith("75%")


def test_table_form_without_pipeline_takes_standardised_values(
    qtbot: QtBot, panel: TryItPanel
) -> None:
    names = ["sepal length", "sepal width", "petal length", "petal width"]
    model = FakeModel([0.1, 0.2, 0.7])
    panel.set_model(Predictor(model, (4,), "classification", ["a", "b", "c"], names))
    assert len(model.inputs) == 1  # live: answered at once, at the average
    assert model.inputs[0].tolist() == [[0.0, 0.0, 0.0, 0.0]]
    spin = panel.form.fields["petal width"]
    assert isinstance(spin, QDoubleSpinBox)
    spin.setFocus()
    qtbot.keyClick(spin, Qt.Key.Key_Up)  # one step: 0.1
    assert model.inputs[-1][0].tolist() == pytest.approx([0.0, 0.0, 0.0, 0.1])
    assert panel.answer.text() == "c"


def _drop(panel: TryItPanel, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    where = QPointF(panel.rect().center())
    action = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(
        where.toPoint(), action, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(panel, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        where, action, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(panel, drop)


def test_dropping_an_image_file_predicts_on_it(
    qtbot: QtBot, panel: TryItPanel, tmp_path: Path
) -> None:
    from PIL import Image

    pixels = np.zeros((40, 40, 3), np.uint8)
    pixels[5:20, 5:35] = (200, 40, 40)
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    model = FakeModel([0.6, 0.3, 0.1])
    panel.set_model(Predictor(model, (3, 16, 16), "classification", ["cat", "dog", "fox"]))
    assert panel.mode == "image"
    with qtbot.waitSignal(panel.predicted):
        _drop(panel, tmp_path / "photo.png")
    (batch,) = model.inputs
    assert batch.shape == (1, 3, 16, 16)
    np.testing.assert_allclose(batch[0], load_image(tmp_path / "photo.png", (3, 16, 16)))
    assert panel.answer.text() == "cat"
    assert "photo.png" in panel.detail.text()
    assert not panel.error.isVisible()


def test_a_bad_dropped_file_gives_a_message(
    qtbot: QtBot, panel: TryItPanel, tmp_path: Path
) -> None:
    bad = tmp_path / "notes.png"
    bad.write_text("this is not a picture")
    model = FakeModel(_probabilities(10, best=3))
    panel.set_model(Predictor(model, (1, 28, 28), "classification", DIGITS))
    with qtbot.waitSignal(panel.failed) as failed:
        _drop(panel, bad)
    assert "notes.png could not be read as an image" in failed.args[0]
    assert panel.error.isVisible() and "notes.png" in panel.error.text()
    assert panel.error.palette().color(panel.error.foregroundRole()) == WRONG
    assert model.inputs == []
    assert panel.answer.text() == "–"


def test_a_table_model_refuses_drops(panel: TryItPanel) -> None:
    panel.set_model(Predictor(FakeModel([0.5, 0.5]), (2,), "classification", ["a", "b"]))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile("/tmp/x.png")])
    enter = QDragEnterEvent(
        QPoint(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(panel, enter)
    assert not enter.isAccepted()


def test_regression_shows_the_number(qtbot: QtBot, panel: TryItPanel) -> None:
    model = FakeModel([3.25])
    panel.set_model(Predictor(model, (2,), "regression", None, ["a", "b"], None, ["price"]))
    assert panel.answer.text() == "3.25"
    assert "price" in panel.detail.text()
    assert not panel.chart.isVisible()


def test_a_failing_model_gives_a_message(qtbot: QtBot, panel: TryItPanel) -> None:
    def broken(batch: np.ndarray) -> np.ndarray:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    panel.set_model(Predictor(broken, (1, 28, 28), "classification", DIGITS))
    with qtbot.waitSignal(panel.failed) as failed:
        _draw(qtbot, panel, [(0.3, 0.3), (0.7, 0.7)])
    assert "could not predict" in failed.args[0]
    assert panel.error.isVisible()


def test_without_a_model_it_says_what_to_do(panel: TryItPanel) -> None:
    assert panel.mode == "none"
    assert "Train a model first" in panel.nothing.text()
    panel.set_model(Predictor(FakeModel([1.0]), (5, 7), "classification"))
    assert panel.mode == "unsupported"
    assert "not possible yet" in panel.nothing.text()
