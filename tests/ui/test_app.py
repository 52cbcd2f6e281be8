"""``layer-studio [FILE]`` opens the window; ``--screenshot`` renders it to a PNG and exits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from core.compile import compile_graph
from core.h5io import save_model
from core.templates import load_template
from studio.app import wants_window
from studio.cli import main
from ui.export_dialog import ExportDialog


def test_no_subcommand_means_the_window() -> None:
    assert wants_window([]) and wants_window(["model.h5"]) and wants_window(["--screenshot", "a"])
    assert not wants_window(["info", "mnist_cnn"]) and not wants_window(["--version"])


def test_screenshot_renders_the_window_with_the_file(qtbot, tmp_path: Path, capsys) -> None:
    graph = load_template("residual")
    model = tmp_path / "residual.h5"
    save_model(model, graph, compile_graph(graph, seed=0))
    out = tmp_path / "window.png"
    assert main([str(model), "--screenshot", str(out)]) == 0
    image = QImage(str(out))
    assert image.width() >= 1000 and image.height() >= 700
    assert "Saved a picture" in capsys.readouterr().out


def test_screenshot_of_a_broken_file_is_an_error_not_a_hang(qtbot, tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken.h5"
    broken.write_text("not a model")
    assert main([str(broken), "--screenshot", str(tmp_path / "x.png")]) == 2
    assert "not an HDF5" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_screenshot_of_a_template_with_a_layer_selected(qtbot, tmp_path: Path) -> None:
    out = tmp_path / "residual.png"
    argv = ["--screenshot", str(out), "--template", "residual", "--select", "conv2d_1"]
    assert main([*argv, "--zoom", "80", "--size", "1200x800"]) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1200, 800)


def test_screenshot_of_the_export_dialog(qtbot, tmp_path: Path) -> None:
    out = tmp_path / "export.png"
    assert main(["--screenshot", str(out), "--template", "mlp", "--export", "keras"]) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (900, 640)  # the dialog, not the window
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, ExportDialog)]
    assert dialogs and dialogs[-1].current_format() == "keras"
    assert "keras.Sequential(" in dialogs[-1].code.toPlainText()
    for dialog in dialogs:
        dialog.close()
    with pytest.raises(SystemExit):
        main(["--template", "mlp", "--export", "keras"])  # no picture asked for


def test_window_options_that_cannot_work_say_why(qtbot, tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "x.png")
    assert main(["--screenshot", out, "--template", "no_such"]) == 2
    assert "no template called 'no_such'" in capsys.readouterr().err
    assert main(["--screenshot", out, "--template", "mlp", "--select", "ghost"]) == 2
    assert "no layer called 'ghost'" in capsys.readouterr().err
    for bad in (["--zoom", "5"], ["model.h5", "--template", "mlp"]):
        try:
            main(["--screenshot", out, *bad])
        except SystemExit as stop:
            assert stop.code == 2
        else:
            raise AssertionError(bad)
    assert not Path(out).exists()


def test_a_high_dpi_screen_gets_a_sharp_picture(tmp_path: Path) -> None:
    """At a scale of 2 the window is drawn with twice the pixels (not a blurred upscale)."""
    out = tmp_path / "hidpi.png"
    env = {**os.environ, "QT_SCALE_FACTOR": "2", "XDG_CONFIG_HOME": str(tmp_path)}
    env["QT_QPA_PLATFORM"] = "offscreen"
    command = [sys.executable, "-m", "studio", "--screenshot", str(out), "--size", "800x600"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1600, 1200)


def test_a_picture_of_the_evaluation_after_training_from_the_command_line(
    qtbot, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "evaluate.png"
    argv = ["--screenshot", str(out), "--template", "mlp", "--data", "iris", "--train", "3"]
    assert main([*argv, "--page", "evaluate", "--size", "1200x800"]) == 0
    assert QImage(str(out)).width() == 1200
    mid = tmp_path / "mid.png"
    argv = ["--screenshot", str(mid), "--template", "mlp", "--data", "iris", "--train", "40"]
    assert main([*argv, "--at-epoch", "2", "--page", "train"]) == 0
    assert mid.exists()


def test_scripted_window_options_that_cannot_work_say_why(qtbot, tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "x.png")
    assert main(["--screenshot", out, "--data", "nowhere.csv", "--template", "mlp"]) == 2
    assert "nowhere.csv" in capsys.readouterr().err
    for bad in (["--train", "3"], ["--data", "iris", "--train", "3", "--at-epoch", "3"]):
        try:
            main(["--screenshot", out, *bad])
        except SystemExit as stop:
            assert stop.code == 2
        else:
            raise AssertionError(bad)
    assert not Path(out).exists()
