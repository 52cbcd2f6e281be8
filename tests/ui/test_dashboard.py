"""Training from the window: the Train page's controls, curves and progress, the canvas locked
while a run goes, the trained weights kept and saved, and failures that end in a message."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from core.data import split
from core.data.samples import load_sample
from core.h5io import load_model
from core.templates import load_template
from ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, monkeypatch) -> MainWindow:
    """The MLP template in a window whose data is iris (the Data page is tested on its own)."""
    w = MainWindow(load_template("mlp"), restore_layout=False)
    qtbot.addWidget(w)
    parts = split(load_sample("iris"), 0.2, seed=0)
    monkeypatch.setattr(w, "training_data", lambda: (parts.train, parts.validation))
    w.show()
    qtbot.waitExposed(w)
    w.show_page(w.training_panel)
    return w


def set_epochs(window: MainWindow, qtbot, epochs: int) -> None:
    spin = window.training_panel.form.epochs
    spin.selectAll()
    qtbot.keyClicks(spin, str(epochs))
    assert spin.value() == epochs


def wait_done(qtbot, window: MainWindow, timeout: int = 60_000) -> None:
    qtbot.waitUntil(lambda: not window.session.running, timeout=timeout)


def test_train_draws_curves_moves_the_progress_bar_and_keeps_the_model(qtbot, window) -> None:
    panel = window.training_panel
    set_epochs(window, qtbot, 4)
    before = {k: v.clone() for k, v in (window.module or _compiled(window)).state_dict().items()}
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert window.session.running and not panel.train_button.isEnabled()
    wait_done(qtbot, window)
    assert panel.progress.value() == 1000
    assert "Trained 4 epochs" in panel.progress.format()
    assert len(window.history_values["loss"]) == 4
    assert len(window.history_values["val_accuracy"]) == 4
    assert window.isWindowModified()  # trained weights are a change to save
    assert window.module is not None
    after = window.module.state_dict()
    assert any(not torch.equal(after[k], v) for k, v in before.items() if k in after)
    loss = panel.curves.curve_data(0, "loss")
    assert len(loss[0]) == 4 and np.all(np.isfinite(loss[1]))


def _compiled(window: MainWindow):
    from core.compile import compile_graph

    assert window.scene is not None
    return compile_graph(window.scene.graph, seed=0)


def test_pause_halts_progress_resume_continues_and_stop_keeps_what_was_learnt(
    qtbot, window
) -> None:
    panel = window.training_panel
    set_epochs(window, qtbot, 5000)
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=30_000)
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert panel.pause_button.text() == "Resume"
    qtbot.wait(300)
    frozen = panel.progress.value(), len(window.history_values.get("loss", []))
    qtbot.wait(500)
    assert (panel.progress.value(), len(window.history_values.get("loss", []))) == frozen
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.history_values.get("loss", [])) > frozen[1], timeout=30_000)
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    wait_done(qtbot, window)
    assert "Stopped after" in panel.progress.format()
    assert panel.train_button.isEnabled() and not panel.stop_button.isEnabled()
    assert len(window.history_values["loss"]) >= 2


def test_the_canvas_cannot_change_while_training(qtbot, window) -> None:
    panel = window.training_panel
    set_epochs(window, qtbot, 5000)
    scene = window.scene
    assert scene is not None
    before = scene.graph.to_dict()
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert window.undo_stack.locked is not None  # locked as the run starts
    window.show_page(window.model_page)
    assert window.lock_banner.isVisible()
    scene.add_layer("Dense", scene.sceneRect().center())  # what a drop or Tab would do
    assert scene.graph.to_dict() == before
    assert "Training is running" in window.statusBar().currentMessage()
    assert not window.inspector.isEnabled() and not window.palette_panel.isEnabled()
    assert not window.undo_action.isEnabled()
    window.session.stop()
    wait_done(qtbot, window)
    assert not window.lock_banner.isVisible() and window.inspector.isEnabled()
    scene.add_layer("Dense", scene.sceneRect().center())
    assert scene.graph.to_dict() != before


def test_a_nan_loss_ends_in_a_message_and_the_window_lives(qtbot, window, monkeypatch) -> None:
    parts = split(load_sample("iris"), 0.2, seed=0)
    broken = dataclasses.replace(parts.train, x=[parts.train.x[0] * 1e30])
    monkeypatch.setattr(window, "training_data", lambda: (broken, None))
    panel = window.training_panel
    panel.form.optimizer.setCurrentIndex(panel.form.optimizer.findData("sgd"))
    panel.form.rate.setCurrentText("1")
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    wait_done(qtbot, window)
    assert panel.message.isVisible() and "NaN" in panel.message.text()
    assert "lower learning rate" in panel.message.text()
    assert window.module is not None
    assert all(torch.isfinite(v).all() for v in window.module.state_dict().values())
    assert panel.train_button.isEnabled()


def test_data_that_does_not_fit_says_what_to_change(qtbot, window, monkeypatch) -> None:
    digits = split(load_sample("digits"), 0.2, seed=0)
    monkeypatch.setattr(window, "training_data", lambda: (digits.train, digits.validation))
    panel = window.training_panel
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert not window.session.running
    text = panel.message.text()
    assert panel.message.isVisible() and "10 classes" in text and "Data page" in text


def test_bad_settings_are_explained_under_the_form(qtbot, window) -> None:
    panel = window.training_panel
    panel.form.rate.setCurrentText("fast")
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert not window.session.running
    assert panel.form.problem.isVisible() and "learning rate" in panel.form.problem.text()


def test_trained_weights_and_history_are_saved(qtbot, window, tmp_path: Path) -> None:
    set_epochs(window, qtbot, 2)
    qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    wait_done(qtbot, window)
    path = tmp_path / "trained.h5"
    assert window.save_to(path)
    assert not window.isWindowModified()
    saved = load_model(path)
    assert saved.module is not None and window.module is not None
    for key, value in window.module.state_dict().items():
        torch.testing.assert_close(saved.module.state_dict()[key], value.cpu())
    assert len(saved.history["loss"]) == 2 and saved.optimizer is not None


def test_closing_during_training_asks_then_stops(qtbot, window, monkeypatch) -> None:
    asked: list[str] = []

    def answer(*args: object, **kwargs: object) -> QMessageBox.StandardButton:
        asked.append(str(args[1]))
        if args[1] == "Training is running":
            return (
                QMessageBox.StandardButton.Cancel
                if len(asked) == 1
                else QMessageBox.StandardButton.Yes
            )
        return QMessageBox.StandardButton.Discard

    monkeypatch.setattr(QMessageBox, "question", answer)
    set_epochs(window, qtbot, 5000)
    qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.training_panel.progress.value() > 0, timeout=30_000)
    assert not window.close()  # cancelled: still training
    assert window.session.running
    assert window.close()
    assert not window.session.running
    assert asked[:2] == ["Training is running", "Training is running"]
    assert "Unsaved changes" in asked  # trained weights are unsaved work


def choose(qtbot, window: MainWindow, sample: str) -> None:
    panel = window.data_panel
    combo = panel.source.samples.sample_combo
    with qtbot.waitSignal(panel.dataChanged, timeout=30_000):
        combo.setCurrentIndex(combo.findData(sample))


def test_the_data_page_feeds_training_with_settings_picked_for_the_data(qtbot) -> None:
    window = MainWindow(load_template("mlp"), restore_layout=False)
    qtbot.addWidget(window)
    window.show()
    window.show_page(window.data_panel)
    choose(qtbot, window, "iris")
    panel = window.training_panel
    assert panel.form.settings().loss == "sparse_categorical_crossentropy"
    assert "class numbers" in panel.form.why.text()
    assert panel.data_line.text() == "iris: 120 to train on, 30 to validate."
    window.show_page(panel)
    set_epochs(window, qtbot, 2)
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    wait_done(qtbot, window)
    assert len(window.history_values["val_loss"]) == 2
    assert window.data_record["spec"] == "iris" and window.training.validation_split == 0.2


def test_the_fix_for_data_that_does_not_fit_is_one_undo_step(qtbot) -> None:
    window = MainWindow(load_template("mlp"), restore_layout=False)
    qtbot.addWidget(window)
    window.show()
    window.show_page(window.data_panel)
    choose(qtbot, window, "digits")
    data = window.data_panel
    assert data.problems() and data.fix_button.isEnabled()
    assert window.scene is not None
    before = window.scene.graph.to_dict()
    qtbot.mouseClick(data.fix_button, Qt.MouseButton.LeftButton)
    assert not data.problems() and data.fits()
    assert window.undo_stack.count() == 1 and "Fit the model" in window.undo_stack.text(0)
    window.undo_stack.undo()
    assert window.scene.graph.to_dict() == before
    assert data.problems()
    window.undo_stack.redo()
    window.show_page(window.training_panel)
    set_epochs(window, qtbot, 1)
    assert window.train()
    wait_done(qtbot, window)
    assert len(window.history_values["loss"]) == 1


def test_after_training_the_evaluate_and_try_it_pages_show_the_model(qtbot) -> None:
    window = MainWindow(load_template("mlp"), restore_layout=False)
    qtbot.addWidget(window)
    window.show()
    window.show_page(window.evaluation_panel)
    assert "Choose data" in window.evaluation_panel.message.text()
    choose(qtbot, window, "iris")
    window.show_page(window.training_panel)
    set_epochs(window, qtbot, 30)
    with qtbot.waitSignal(window.evaluation_panel.evaluated, timeout=60_000) as done:
        assert window.train()
    evaluation = done.args[0]
    assert evaluation.confusion.sum() == 30  # the validation part: no test part was set
    assert evaluation.metrics["accuracy"] == pytest.approx(
        window.history_values["val_accuracy"][-1]
    )
    assert window.try_panel.mode == "table"
    window.show_page(window.try_panel)  # nothing new: no second evaluation
    assert not window.evaluation_panel.busy
