"""Regression results: predicted against true values, one point per sample, with the line where
they would be equal (pyqtgraph, coloured from the application palette)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg  # type: ignore[import-untyped]
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from core.evaluation import Evaluation

#: Points drawn at most (a random sample beyond that keeps the plot quick).
MAX_POINTS = 5000


class PredictionScatterView(QWidget):
    """Predicted (up) against true (across) values of one output; a box picks the output."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.evaluation: Evaluation | None = None
        self.output_box = QComboBox()
        self.output_box.currentIndexChanged.connect(lambda _: self._draw())
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("bottom", "True value")
        self.plot.setLabel("left", "Predicted value")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.points = pg.ScatterPlotItem(size=6, pen=None)
        self.line = pg.PlotDataItem()
        self.plot.addItem(self.line)
        self.plot.addItem(self.points)
        top = QHBoxLayout()
        self.output_label = QLabel("Output:")
        top.addWidget(self.output_label)
        top.addWidget(self.output_box, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        self._recolour()

    def show_evaluation(self, evaluation: Evaluation) -> None:
        """Plot ``evaluation``'s predictions (a regression)."""
        self.evaluation = evaluation
        self.output_box.blockSignals(True)
        self.output_box.clear()
        self.output_box.addItems([s.name for s in evaluation.regression])
        self.output_box.blockSignals(False)
        several = len(evaluation.regression) > 1
        self.output_box.setVisible(several)
        self.output_label.setVisible(several)
        self._draw()

    def point_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The (true, predicted) values on display."""
        x, y = self.points.getData()
        return np.asarray(x), np.asarray(y)

    def _draw(self) -> None:
        ev = self.evaluation
        if ev is None or not len(ev):
            return
        j = max(0, self.output_box.currentIndex())
        true, pred = ev.targets[:, j], ev.predictions[:, j]
        if len(true) > MAX_POINTS:
            pick = np.sort(np.random.default_rng(0).choice(len(true), MAX_POINTS, replace=False))
            true, pred = true[pick], pred[pick]
        self.points.setData(true, pred)
        both = np.concatenate([true, pred])
        both = both[np.isfinite(both)]
        low, high = (float(both.min()), float(both.max())) if len(both) else (0.0, 1.0)
        self.line.setData([low, high], [low, high])
        self.plot.autoRange()

    def _recolour(self) -> None:
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.Text)
        self.plot.setBackground(palette.color(QPalette.ColorRole.Base))
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(text)
            axis.setTextPen(text)
        dot = QColor(palette.color(QPalette.ColorRole.Highlight))
        dot.setAlphaF(0.6)
        self.points.setBrush(pg.mkBrush(dot))
        mid = palette.color(QPalette.ColorRole.PlaceholderText)
        self.line.setPen(pg.mkPen(mid, width=1.5, style=Qt.PenStyle.DashLine))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._recolour()
        super().changeEvent(event)
