"""Light and dark: the canvas and the window take their colours from the palette."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QImage, QPalette
from PySide6.QtWidgets import QApplication

from core.templates import load_template
from studio.cli import main
from ui.editor.scene import GraphScene
from ui.editor.view import GraphView
from ui.theme import apply_theme, dark_palette


def lightness(image: QImage) -> float:
    """The mean lightness of a grid of pixels."""
    values = [
        image.pixelColor(x, y).lightnessF()
        for x in range(0, image.width(), 17)
        for y in range(0, image.height(), 17)
    ]
    return sum(values) / len(values)


def test_the_canvas_follows_a_switch_to_dark(qtbot, restore_palette) -> None:
    scene = GraphScene(load_template("mnist_cnn"))
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(600, 500)
    view.show()
    light_wire = next(iter(scene.edges.values())).pen().color()
    light = lightness(view.grab().toImage())
    QApplication.instance().setPalette(dark_palette())
    qtbot.waitUntil(lambda: view.palette().base().color().lightnessF() < 0.3)
    dark_wire = next(iter(scene.edges.values())).pen().color()
    dark = lightness(view.grab().toImage())
    assert light > 0.8 and dark < 0.3
    assert dark_wire != light_wire
    base = view.palette().color(QPalette.ColorRole.Base)
    assert abs(dark_wire.lightnessF() - base.lightnessF()) > 0.25  # wires stay visible


def test_themes_by_name(qtbot, restore_palette) -> None:
    app = QApplication.instance()
    apply_theme(app, "dark")
    assert app.palette().window().color().lightnessF() < 0.3
    apply_theme(app, "light")
    assert app.palette().window().color().lightnessF() > 0.7


def test_screenshot_in_dark_at_a_chosen_size(qtbot, tmp_path: Path, restore_palette) -> None:
    out = tmp_path / "dark.png"
    assert main(["--screenshot", str(out), "--theme", "dark", "--size", "1000x700"]) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1000, 700)
    assert lightness(image) < 0.35


def test_a_bad_size_is_an_error(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--screenshot", "x.png", "--size", "big"])
    assert stop.value.code == 2
    assert "--size must look like 1400x900" in capsys.readouterr().err
