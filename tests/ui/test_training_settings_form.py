"""The compile-and-fit form: Keras's settings in, checked settings out, with the reasons."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from core.training_settings import SettingsError, TrainingSettings
from ui.training.settings_form import TrainingSettingsForm


@pytest.fixture
def form(qtbot) -> TrainingSettingsForm:
    widget = TrainingSettingsForm()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_settings_round_trip_and_reasons_show(form) -> None:
    settings = TrainingSettings(
        optimizer="rmsprop", learning_rate=0.01, loss="mean_squared_error",
        metrics=["mean_absolute_error", "r2_score"], epochs=7, batch_size=64, seed=3,
    )  # fmt: skip
    form.set_settings(settings, ["Because the data has numbers to predict."])
    assert form.settings() == settings
    assert form.why.isVisible() and "numbers to predict" in form.why.text()
    assert form.metrics.text() == "mean_absolute_error, r2_score"


def test_typing_into_the_fields_changes_the_settings(form, qtbot) -> None:
    form.set_settings(TrainingSettings(), [])
    changed = []
    form.changed.connect(lambda: changed.append(1))
    form.epochs.selectAll()
    qtbot.keyClicks(form.epochs, "25")
    form.rate.lineEdit().selectAll()
    qtbot.keyClicks(form.rate.lineEdit(), "0.0005")
    form.batch.lineEdit().selectAll()
    qtbot.keyClicks(form.batch.lineEdit(), "128")
    form.optimizer.setFocus()
    qtbot.keyClick(form.optimizer, Qt.Key.Key_Home)  # SGD comes first
    qtbot.mouseClick(form.random, Qt.MouseButton.LeftButton)
    form.metric_actions["precision"].trigger()
    got = form.settings()
    assert (got.epochs, got.learning_rate, got.batch_size) == (25, 0.0005, 128)
    assert got.optimizer == "sgd" and got.seed is None and not form.seed.isEnabled()
    assert got.metrics == ["accuracy", "precision"]
    assert changed


def test_changing_the_optimizer_restores_its_keras_defaults(form) -> None:
    form.set_settings(TrainingSettings(optimizer="sgd", optimizer_options={"momentum": 0.9}), [])
    form.optimizer.setCurrentIndex(form.optimizer.findData("adam"))
    form.rate.setCurrentText("default")
    got = form.settings()
    assert got.optimizer == "adam" and got.optimizer_options == {}
    assert got.learning_rate == 0.001  # Keras's default for Adam


def test_bad_values_are_explained_under_the_form(form) -> None:
    form.set_settings(TrainingSettings(), [])
    form.rate.setCurrentText("fast")
    form.batch.setCurrentText("lots")
    with pytest.raises(SettingsError):
        form.settings()
    assert form.problem.isVisible()
    assert "learning rate" in form.problem.text() and "batch size" in form.problem.text()
    form.rate.setCurrentText("-1")
    form.batch.setCurrentText("32")
    with pytest.raises(SettingsError):
        form.settings()
    assert "learning" in form.problem.text().lower()
    form.rate.setCurrentText("0.01")
    assert form.settings().learning_rate == 0.01 and not form.problem.isVisible()


def test_the_device_line_says_where_training_runs(form) -> None:
    form.device.setCurrentIndex(form.device.findData("cpu"))
    assert form.device_note.text() == "Trains on the CPU."


def test_several_losses_are_kept_and_the_loss_box_is_off(form) -> None:
    settings = TrainingSettings(
        loss={"out_a": "mean_squared_error", "out_b": "binary_crossentropy"}
    )
    form.set_settings(settings, [])
    assert not form.loss.isEnabled() and "out_a: mean_squared_error" in form.loss.toolTip()
    assert form.settings().loss == settings.loss
