"""The probability of each class as a horizontal bar chart (pyqtgraph): the likeliest on top,
class names on the axis, at most :data:`TOP` classes."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg  # type: ignore[import-untyped]
from PySide6.QtCore import QEvent
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

#: Classes shown at most (the likeliest).
TOP = 10


class ProbabilityChartView(QWidget):
    """Bars of class probabilities; :meth:`bars` says what is drawn."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.names: list[str] = []
        self.values = np.zeros(0)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setLabel("bottom", "Probability")
        self.plot.getAxis("bottom").setTicks([[(v, f"{v:.0%}") for v in (0, 0.25, 0.5, 0.75, 1)]])
        self.bar_item = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[])
        self.plot.addItem(self.bar_item)
        self.labels: list[pg.TextItem] = []
        self.plot.setXRange(0, 1.12, padding=0)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self._recolour()

    def set_probabilities(self, probabilities: np.ndarray, class_names: list[str]) -> None:
        """Show the :data:`TOP` likeliest classes of ``probabilities`` (one per class)."""
        p = np.asarray(probabilities, np.float64).reshape(-1)
        names = list(class_names) if len(class_names) == len(p) else [str(i) for i in range(len(p))]
        order = np.argsort(-p, kind="stable")[:TOP]
        self.names = [names[i] for i in order]
        self.values = p[order]
        self._draw()

    def clear(self) -> None:
        """No bars."""
        self.names, self.values = [], np.zeros(0)
        self._draw()

    def bars(self) -> list[tuple[str, float]]:
        """(class name, probability) of each bar, from the top."""
        return [(n, float(v)) for n, v in zip(self.names, self.values, strict=True)]

    def _draw(self) -> None:
        n = len(self.values)
        ys = np.arange(n)[::-1].astype(float)  # the likeliest at the top
        palette = self.palette()
        top = palette.color(QPalette.ColorRole.Highlight)
        rest = QColor(top)
        rest.setAlphaF(0.45)
        brushes = [pg.mkBrush(top if i == 0 else rest) for i in range(n)]
        self.bar_item.setOpts(
            x0=np.zeros(n), y=ys, width=self.values, height=0.7, brushes=brushes, pen=pg.mkPen(None)
        )
        self.plot.getAxis("left").setTicks([list(zip(ys.tolist(), self.names, strict=True))])
        for label in self.labels:
            self.plot.removeItem(label)
        text = palette.color(QPalette.ColorRole.Text)
        self.labels = []
        for y, v in zip(ys, self.values, strict=True):
            label = pg.TextItem(
                f"{v:.0%}" if v >= 0.01 or v == 0 else "<1%", color=text, anchor=(0, 0.5)
            )
            label.setPos(float(v) + 0.01, float(y))
            self.plot.addItem(label)
            self.labels.append(label)
        self.plot.setYRange(n - max(n, 3) - 0.6, n - 0.4, padding=0)  # bars from the top
        self.plot.setXRange(0, 1.12, padding=0)

    def _recolour(self) -> None:
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.Text)
        self.plot.setBackground(palette.color(QPalette.ColorRole.Base))
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(palette.color(QPalette.ColorRole.Mid))
            axis.setTextPen(text)
        self._draw()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._recolour()
        super().changeEvent(event)
