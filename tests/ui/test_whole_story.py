"""The whole story a newcomer lives, in one test: a new model from the CNN template, the digits,
two epochs of training with curves, the evaluation, Save, close, reopen with the same
predictions, and the exported PyTorch code run on its own with the same predictions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from core.templates import load_template
from ui.export_dialog import ExportDialog
from ui.main_window import MainWindow
from ui.template_gallery import TemplateGalleryDialog


def predictions(window: MainWindow, x: np.ndarray) -> np.ndarray:
    module = window.module_to_save()
    assert module is not None
    module.eval()
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


def test_template_data_train_evaluate_save_reopen_export(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = MainWindow(load_template("mlp"), restore_layout=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    # File > New: the gallery gives the CNN template (the gallery has its own tests)
    monkeypatch.setattr(TemplateGalleryDialog, "pick", lambda parent: load_template("mnist_cnn"))
    window.new_dialog()
    assert window.scene.graph.name == "mnist_cnn"
    # the Data page: digits, and the fix the page offers (8×8 images, 10 classes)
    window.show_page(window.data_panel)
    combo = window.data_panel.source.samples.sample_combo
    with qtbot.waitSignal(window.data_panel.dataChanged, timeout=30_000):
        combo.setCurrentIndex(combo.findData("digits"))
    if window.data_panel.problems():
        qtbot.mouseClick(window.data_panel.fix_button, Qt.MouseButton.LeftButton)
    assert window.data_panel.fits()
    # the Train page: two epochs, curves drawn, then the evaluation
    panel = window.training_panel
    window.show_page(panel)
    panel.form.epochs.selectAll()
    qtbot.keyClicks(panel.form.epochs, "2")
    with qtbot.waitSignal(window.evaluation_panel.evaluated, timeout=120_000) as done:
        qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert len(window.history_values["loss"]) == 2
    assert len(panel.curves.curve_data(0, "loss")[0]) == 2
    evaluation = done.args[0]
    assert evaluation.metrics["accuracy"] > 0.5  # two epochs on the digits learn something
    # Save, close, reopen: the same predictions
    x = np.random.default_rng(0).random((4, 1, 8, 8), dtype=np.float32)
    before = predictions(window, x)
    path = tmp_path / "digits.h5"
    assert window.save_to(path)
    window.close()
    again = MainWindow(restore_layout=False)
    qtbot.addWidget(again)
    assert again.open_path(path)
    np.testing.assert_array_equal(predictions(again, x), before)
    # File > Export…: the PyTorch script, run on its own with the saved weights
    script = tmp_path / "digits.py"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(script), ""))
    dialog = again.export_dialog()
    qtbot.addWidget(dialog)
    assert isinstance(dialog, ExportDialog) and dialog.current_format() == "pytorch"
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert script.is_file() and (tmp_path / "digits_data.npz").is_file()
    np.save(tmp_path / "x.npy", x)
    command = [sys.executable, "digits.py", "--weights", "digits.h5", "--predict", "x.npy"]
    ran = subprocess.run(
        [*command, "-o", "y.npy"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert ran.returncode == 0, ran.stderr
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), before, atol=1e-6)
