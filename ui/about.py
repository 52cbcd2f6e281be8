"""Help ▸ About: the versions of the studio and of what it runs on, and the device it found."""

from __future__ import annotations

import html
import platform
from importlib import metadata

import PySide6
import torch
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QMessageBox, QWidget

from core.devices import available_devices, choose_device
from ui.crash_dialog import log_file


def versions() -> dict[str, str]:
    """What a bug report needs: each part and its version, and the device training uses."""
    try:
        studio = metadata.version("layer-studio")
    except metadata.PackageNotFoundError:
        studio = "not installed (run from a source folder)"
    device = choose_device("auto")
    return {
        "Layer Studio": studio,
        "PyTorch": torch.__version__,
        "Qt": qVersion(),
        "PySide6": PySide6.__version__,
        "Python": platform.python_version(),
        "Devices": ", ".join(available_devices()),
        "Training uses": device.name,
        "Log file": str(log_file()),
    }


def about_text() -> str:
    """The About box's text (HTML)."""
    cells = [(name, html.escape(value)) for name, value in versions().items()]
    rows = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in cells)
    return (
        "<p>Design neural networks by dragging layers, train them with live curves, and "
        "take them out as Keras files, PyTorch code or ONNX.</p>"
        f"<table>{rows}</table>"
    )


def show_about(parent: QWidget) -> None:
    """The About box."""
    QMessageBox.about(parent, "About Layer Studio", about_text())
