"""``layer-studio [FILE]`` opens the window; ``--screenshot`` renders it to a PNG and exits."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QImage

from core.compile import compile_graph
from core.h5io import save_model
from core.templates import load_template
from studio.app import wants_window
from studio.cli import main


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
