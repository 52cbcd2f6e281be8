"""The live curves: runs, per-batch and per-epoch points, smoothing, log scale, the hover
readout, dimmed earlier runs, values that are not numbers, and the hints underneath."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from core.training_hints import smooth
from tests.ui.events import hover
from ui.theme import apply_theme
from ui.training.curves import CurvesPanel


@pytest.fixture
def panel(qtbot) -> CurvesPanel:
    p = CurvesPanel()
    qtbot.addWidget(p)
    p.resize(900, 600)
    p.show()
    qtbot.waitExposed(p)
    return p


def record(epoch: int, **extra: float) -> dict[str, float]:
    loss = 1.0 / (epoch + 1)
    values = {"loss": loss, "val_loss": loss * 1.1, "accuracy": 1 - loss / 2}
    values |= {"val_accuracy": 1 - loss / 1.8, "learning_rate": 0.01, "seconds": 1.0}
    return values | extra


def train(panel: CurvesPanel, epochs: int, batches: int = 10, label: str = "Run") -> None:
    panel.start_run(label, ["accuracy"], batches)
    for e in range(epochs):
        points = [(e + (s + 1) / batches, 2.0 / (e + 1) + 0.1 * (s % 3)) for s in range(batches)]
        panel.add_batches(points[:4])
        panel.add_batches(points[4:])
        panel.add_epoch(e, record(e))


def pen(item):
    return item.opts["pen"]


def test_batches_and_epochs_make_curves(panel) -> None:
    train(panel, 3)
    x, y = panel.curve_data(0, "batch_loss")
    assert len(x) == 30
    assert x[0] == pytest.approx(0.1) and x[-1] == pytest.approx(3.0)
    assert y[0] == pytest.approx(2.0) and y[-1] == pytest.approx(2 / 3 + 0.0)
    x, y = panel.curve_data(0, "loss")
    np.testing.assert_allclose(x, [1, 2, 3])  # an epoch's value sits where the epoch ends
    np.testing.assert_allclose(y, [1, 1 / 2, 1 / 3])
    np.testing.assert_allclose(panel.curve_data(0, "val_loss")[1], [1.1, 0.55, 1.1 / 3])
    np.testing.assert_allclose(panel.curve_data(0, "learning_rate")[1], [0.01] * 3)
    # the items draw that data
    np.testing.assert_allclose(panel.item(0, "loss").yData, [1, 1 / 2, 1 / 3])
    assert panel.metric_box.currentText() == "accuracy"
    np.testing.assert_allclose(panel.item(0, "metric").yData, [0.5, 0.75, 1 - 1 / 6])
    np.testing.assert_allclose(
        panel.item(0, "val_metric").yData, panel.curve_data(0, "val_accuracy")[1]
    )
    assert panel.hints_text() == []  # three epochs: too early to say anything
    panel.add_batches([(3 + i / 5000, 0.1) for i in range(1, 5001)])  # more than the buffer
    x, y = panel.curve_data(0, "batch_loss")
    assert len(x) == 5030 and x[29] == pytest.approx(3.0) and x[-1] == pytest.approx(4.0)
    assert y[30:].tolist() == [0.1] * 5000 and y[0] == pytest.approx(2.0)
    low, high = panel.rate_plot.getViewBox().viewRange()[1]
    assert low <= 0 and 0.01 < high < 0.02  # a constant rate: a line above 0, not mid-axis


def test_a_second_run_dims_the_first_and_both_stay(panel, qtbot) -> None:
    train(panel, 2, label="Run 1: adam")
    first = panel.item(0, "batch_loss_smoothed")
    bright = pen(first)
    assert bright.widthF() == 2 and bright.color().alpha() == 255
    assert not panel.clear_button.isEnabled()
    train(panel, 3, label="Run 2: sgd")
    assert len(panel.runs) == 2
    dimmed, current = pen(first), pen(panel.item(1, "batch_loss_smoothed"))
    assert dimmed.widthF() < current.widthF() and dimmed.color().alpha() < 128
    assert current.color().alpha() == 255
    assert pen(panel.item(0, "val_loss")).color().alpha() < 128
    assert dimmed.color().rgb() != current.color().rgb()  # each run its colour
    assert len(panel.curve_data(0, "loss")[0]) == 2 and len(panel.curve_data(1, "loss")[0]) == 3
    labels = [label.text for _, label in panel.legend.items]
    assert "Run 1: adam" in labels and "Run 2: sgd" in labels
    assert labels[-2:] == ["training", "validation"]
    assert first.isVisible()
    qtbot.mouseClick(panel.clear_button, Qt.MouseButton.LeftButton)
    assert [r.label for r in panel.runs] == ["Run 2: sgd"]
    assert first not in panel.loss_plot.getPlotItem().items
    assert "Run 1: adam" not in [label.text for _, label in panel.legend.items]
    assert not panel.clear_button.isEnabled()


def test_the_smoothing_slider_smooths_the_batch_loss(panel, qtbot) -> None:
    train(panel, 4)
    raw = panel.curve_data(0, "batch_loss")[1]
    panel.slider.setFocus()
    qtbot.keyClick(panel.slider, Qt.Key.Key_Home)
    assert panel.slider_value.text() == "0.00"
    np.testing.assert_allclose(panel.curve_data(0, "batch_loss_smoothed")[1], raw)
    qtbot.keyClick(panel.slider, Qt.Key.Key_End)
    assert panel.slider_value.text() == "0.99"
    smoothed = panel.curve_data(0, "batch_loss_smoothed")[1]
    np.testing.assert_allclose(smoothed, smooth(raw, 0.99)[0])
    assert np.std(np.diff(smoothed)) < np.std(np.diff(raw)) / 3
    np.testing.assert_allclose(panel.item(0, "batch_loss_smoothed").yData, smoothed)
    # points that come later continue the same smoothing
    panel.add_batches([(4.1, 0.5), (4.2, 0.4)])
    raw = panel.curve_data(0, "batch_loss")[1]
    np.testing.assert_allclose(
        panel.curve_data(0, "batch_loss_smoothed")[1], smooth(raw, 0.99)[0], rtol=1e-12
    )


def test_the_log_scale_box_sets_a_log_loss_axis(panel, qtbot) -> None:
    train(panel, 2)
    panel.add_batches([(2.1, 0.0)])  # log of 0 must not break the drawing
    qtbot.mouseClick(panel.log_box, Qt.MouseButton.LeftButton)
    assert panel.log_box.isChecked()
    assert panel.item(0, "batch_loss").opts["logMode"] == [False, True]
    assert panel.item(0, "learning_rate").opts["logMode"] == [False, False]
    panel.grab()
    qtbot.mouseClick(panel.log_box, Qt.MouseButton.LeftButton)
    assert panel.item(0, "loss").opts["logMode"] == [False, False]


def test_per_epoch_view_hides_the_batches_and_draws_epoch_lines(panel, qtbot) -> None:
    train(panel, 3)
    batch, epoch = panel.item(0, "batch_loss"), panel.item(0, "loss")
    assert batch.isVisible() and pen(epoch).style() == Qt.PenStyle.NoPen  # points on the batches
    qtbot.mouseClick(panel.per_epoch, Qt.MouseButton.LeftButton)
    assert panel.per_epoch.isChecked()
    assert not batch.isVisible() and not panel.item(0, "batch_loss_smoothed").isVisible()
    assert epoch.isVisible() and pen(epoch).style() == Qt.PenStyle.SolidLine
    assert pen(panel.item(0, "val_loss")).style() == Qt.PenStyle.DashLine
    assert not panel.slider.isEnabled()  # smoothing is for batches
    panel.add_batches([(3.1, 0.3)])  # arriving while hidden, drawn when shown again
    qtbot.mouseClick(panel.per_batch, Qt.MouseButton.LeftButton)
    assert batch.isVisible() and panel.slider.isEnabled()
    assert len(batch.xData) == 31


def test_values_that_are_not_numbers_do_not_break_the_plots(panel) -> None:
    panel.start_run("Run", ["accuracy"], 4)
    panel.add_batches([(0.25, 1.0), (0.5, math.nan), (0.75, math.inf), (1.0, 0.8)])
    x, y = panel.curve_data(0, "batch_loss")
    np.testing.assert_allclose(x, [0.25, 1.0])
    np.testing.assert_allclose(y, [1.0, 0.8])
    panel.add_epoch(0, {"loss": math.nan, "val_loss": math.inf, "accuracy": 0.5, "auc": None})
    assert len(panel.curve_data(0, "loss")[0]) == 0
    assert np.all(np.isfinite(panel.curve_data(0, "accuracy")[1]))
    assert any("no longer a number" in text for text in panel.hints_text())
    panel.log_box.setChecked(True)
    panel.grab()  # painting with nothing finite to draw


def test_hints_appear_at_an_epochs_end(panel) -> None:
    panel.start_run("Run", [], 5)
    losses = [1.0, 0.7, 0.5, 0.4, 0.33, 0.28, 0.24, 0.21, 0.19]
    vals = [1.05, 0.8, 0.65, 0.6, 0.58, 0.6, 0.64, 0.7, 0.77]
    for e, (loss, val) in enumerate(zip(losses, vals, strict=True)):
        panel.add_epoch(e, {"loss": loss, "val_loss": val})
    assert len(panel.hints_text()) == 1 and "Dropout" in panel.hints_text()[0]
    assert not panel.metric_plot.isVisibleTo(panel)  # no metric: no metric plot
    panel.start_run("Run 2", [], 5)
    assert panel.hints_text() == []  # a new run starts without hints


def test_the_metric_chooser_switches_the_metric_plot(panel, qtbot) -> None:
    panel.start_run("Run", ["accuracy", "precision"], 5)
    for e in range(3):
        panel.add_epoch(e, record(e, precision=0.1 * e, val_precision=0.05 * e))
    assert [panel.metric_box.itemText(i) for i in range(panel.metric_box.count())] == [
        "accuracy",
        "precision",
    ]
    panel.metric_box.setFocus()
    qtbot.keyClick(panel.metric_box, Qt.Key.Key_Down)
    assert panel.metric_box.currentText() == "precision"
    np.testing.assert_allclose(panel.item(0, "metric").yData, [0, 0.1, 0.2])
    np.testing.assert_allclose(panel.item(0, "val_metric").yData, [0, 0.05, 0.1])
    panel.add_epoch(3, record(3, recall=0.5))  # a metric the run did not announce
    assert panel.metric_box.findText("recall") >= 0


def test_hovering_a_plot_shows_the_values_under_the_cursor(panel, qtbot) -> None:
    train(panel, 4, label="Run 1")
    plot = panel.loss_plot
    box = plot.getViewBox()
    box.setRange(xRange=(0, 4), yRange=(0, 2.5), padding=0)
    qtbot.wait(10)
    at = plot.mapFromScene(box.mapViewToScene(QPointF(2.31, 1.0)))
    hover(plot.viewport(), at)
    qtbot.waitUntil(lambda: panel.readout.isVisible(), timeout=2000)
    text = panel.readout_text()
    assert text.startswith("epoch 2.3")
    # the nearest batch, at 2.3: 2 / 3 + 0.1 * (2 % 3), and the nearest epoch's values
    assert "Run 1: batch loss 0.8667 (smoothed " in text
    assert "epoch 2: loss 0.5 · val_loss 0.55" in text
    assert all(line.isVisible() for line in panel.crosshairs)
    assert panel.crosshairs[1].value() == pytest.approx(2.31, abs=0.02)  # on every plot
    qtbot.mouseClick(panel.per_epoch, Qt.MouseButton.LeftButton)
    rate = panel.rate_plot
    at = rate.mapFromScene(rate.getViewBox().mapViewToScene(QPointF(3.0, 0.01)))
    hover(rate.viewport(), at)
    qtbot.waitUntil(lambda: panel.readout_text().startswith("epoch 3"), timeout=2000)
    assert "learning_rate 0.01" in panel.readout_text()


def test_clicking_a_run_in_the_legend_hides_it(panel, qtbot) -> None:
    train(panel, 2, label="Run 1")
    train(panel, 2, label="Run 2")
    sample = next(s for s, label in panel.legend.items if label.text == "Run 1")
    view = panel.loss_plot
    at = view.mapFromScene(sample.mapToScene(sample.boundingRect().center()))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert not panel.item(0, "val_loss").isVisible()
    assert panel.item(1, "val_loss").isVisible()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert panel.item(0, "val_loss").isVisible()


def test_in_the_batch_view_the_epoch_means_give_way_to_the_batch_curve(panel, qtbot) -> None:
    train(panel, 3)
    assert not panel.item(-1, "loss").isVisible()  # the batch curve shows the training loss
    assert panel.item(-1, "val_loss").isVisible()
    qtbot.mouseClick(panel.per_epoch, Qt.MouseButton.LeftButton)
    assert panel.item(-1, "loss").isVisible()


def test_the_plots_follow_the_theme(panel, qtbot, restore_palette) -> None:
    app = QApplication.instance()
    apply_theme(app, "dark")
    base = app.palette().color(QPalette.ColorRole.Base)
    assert base.lightnessF() < 0.5
    qtbot.waitUntil(lambda: panel.loss_plot.backgroundBrush().color() == base, timeout=2000)
    text = app.palette().color(QPalette.ColorRole.Text)
    assert panel.legend.opts["labelTextColor"] == text
    apply_theme(app, "light")
    qtbot.waitUntil(lambda: panel.loss_plot.backgroundBrush().color().lightnessF() > 0.5)


def test_twenty_thousand_batch_points_stay_cheap(panel, qtbot) -> None:
    panel.start_run("Run", ["accuracy"], 100)
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for call in range(200):
        x = call + (np.arange(100) + 1) / 100
        panel.add_batches(list(zip(x.tolist(), rng.random(100).tolist(), strict=True)))
        if call % 10 == 0:
            QApplication.processEvents()  # paint now and then, as the event loop would
    spent = time.perf_counter() - started
    print(f"\n20,000 batch points in 200 calls: {spent * 1000:.0f} ms")
    assert len(panel.curve_data(0, "batch_loss")[0]) == 20_000
