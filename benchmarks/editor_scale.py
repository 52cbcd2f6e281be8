"""How the editor scales: a 500-layer model opened and drawn, and a param edit redrawn.

The editor's budgets (issue [editor]): a 500-node graph opens and is drawn in under a second;
after a param edit the canvas shows the new shapes within 50 ms. Both are measured in the
real main window (offscreen), as medians of repeated runs:

- open: ``MainWindow.set_graph`` (scene, items, shapes, panels) plus one full render of the
  window (``grab``), with the view fitted to the whole model and also at 100 % zoom;
- edit: one ``SetParamCommand`` through the undo stack (the path every edit takes) until the
  canvas has repainted with the new shapes (``viewport().repaint()``), with every wire label
  checked afterwards.

As a ratio, the edit is also set against a bare ``infer_shapes`` of the same graph from
scratch in the same process (the core's own cost, see ``graph_scale.py``).

    QT_QPA_PLATFORM=offscreen python benchmarks/editor_scale.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtWidgets import QApplication

from benchmarks.graph_scale import conv_chain, residual_mlp
from core.graph import Graph
from core.layers import format_shape
from core.layout import apply_layout
from core.shapes import infer_shapes
from ui.editor.commands import SetParamCommand
from ui.main_window import MainWindow


def median_ms(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def open_and_draw(window: MainWindow, graph: Graph, fit: bool) -> None:
    window.set_graph(graph.copy())
    assert window.view is not None
    if not fit:
        window.view.resetTransform()
        window.scene.set_zoom(1.0)  # type: ignore[union-attr]
    window.grab()


def edit_cycle(
    window: MainWindow, node_id: str, param: str, values: list[object]
) -> Callable[[], None]:
    state = {"i": 0}

    def run() -> None:
        scene = window.scene
        assert scene is not None and window.view is not None
        state["i"] += 1
        value = values[state["i"] % len(values)]
        window.undo_stack.push(SetParamCommand(scene.graph, node_id, param, value))
        window.view.viewport().repaint()

    return run


def check_labels(window: MainWindow) -> None:
    scene = window.scene
    assert scene is not None
    report = infer_shapes(scene.graph)
    for edge, item in scene.edges.items():
        shape = report.edge_shape(edge)
        assert item.text == (format_shape(shape) if shape is not None else ""), edge


def main() -> None:
    app = QApplication.instance() or QApplication([])
    window = MainWindow(restore_layout=False)  # the same docks for every run
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    cases = [
        ("residual MLP, 500 layers", residual_mlp(500), "shape", [[32], [64]]),
        ("Conv2D chain, 500 layers", conv_chain(500), "shape", [[8, 30, 30], [8, 32, 32]]),
    ]
    head = ("graph", "open+draw fit", "open+draw 100%", "edit+redraw", "ratio")
    print("{:28} {:>14} {:>15} {:>12} {:>6}".format(*head))
    for title, graph, param, values in cases:
        apply_layout(graph)
        fit = median_ms(lambda g=graph: open_and_draw(window, g, True), 5)
        full = median_ms(lambda g=graph: open_and_draw(window, g, False), 5)
        window.set_graph(graph.copy())
        assert window.scene is not None
        first = next(iter(window.scene.graph.nodes))
        edit = median_ms(edit_cycle(window, first, param, values), 31)
        app.processEvents()
        check_labels(window)
        core = median_ms(lambda g=graph: infer_shapes(g), 11)
        print(f"{title:28} {fit:11.0f} ms {full:12.0f} ms {edit:9.1f} ms {edit / core:6.2f}")
    print("budgets: open and draw < 1000 ms; edit until the canvas shows the new shapes < 50 ms")
    print("ratio: the edit against infer_shapes from scratch on the same graph")
    window.undo_stack.setClean()  # nothing to save: close without asking
    window.close()


if __name__ == "__main__":
    main()
