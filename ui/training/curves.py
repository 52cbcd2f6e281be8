"""Live training curves (pyqtgraph): the loss, a chosen metric and the learning rate, with the
runs before this one dimmed beside it, a hover readout, and plain-language hints underneath.

The x axis counts epochs everywhere: a batch point sits at ``epoch + step / batches`` and an
epoch's values at ``epoch + 1``, where that epoch ends. Training is drawn solid, validation
dashed, each run in its own colour. Per-batch points go into growing numpy buffers and the
existing items get ``setData`` (pyqtgraph thins them to the screen's width), so 100,000 points
cost little more than 1,000.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import pyqtgraph as pg  # type: ignore[import-untyped]
from numpy.typing import NDArray
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSlider,
    QWidget,
)

from core.training_hints import MIN_EPOCHS, hints, smooth
from ui.training.hints_view import HintsView

#: One colour per run, in turn (the categorical colours every plotting tool uses).
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
#: Record keys that are not curves of the metric plot.
_NOT_METRICS = {"loss", "learning_rate", "seconds", "samples_per_second"}
#: Hints shown with a warning sign (the others get an information sign).
Array = NDArray[np.float64]
_W = TypeVar("_W", bound=QWidget)


@dataclass
class _Run:
    """One run's data and the plot items that draw it."""

    label: str
    colour: QColor
    buf: Array = field(default_factory=lambda: np.empty((3, 1024)))  # x, raw and smoothed loss
    n: int = 0
    state: tuple[float, int] = (0.0, 0)
    records: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=200))
    items: dict[str, pg.PlotDataItem] = field(default_factory=dict)
    shown: bool = True

    def batches(self, row: int) -> tuple[Array, Array]:
        """(x, loss) of the batches so far: row 1 raw, row 2 smoothed."""
        return self.buf[0, : self.n], self.buf[row, : self.n]

    def column(self, name: str) -> tuple[Array, Array]:
        """(x, value) of one per-epoch value, its non-finite values left out."""
        pairs = [(e + 1.0, r.get(name, math.nan)) for e, r in self.records]
        data = np.array(pairs, dtype=np.float64).reshape(-1, 2)
        data = data[np.isfinite(data[:, 1])]
        return data[:, 0], data[:, 1]


class CurvesPanel(QWidget):
    """Loss, metric and learning-rate plots of every run, with the hints under them.

    Call from the GUI thread: :meth:`start_run`, then :meth:`add_batches` and :meth:`add_epoch`
    as the worker's signals come.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: list[_Run] = []
        self._count = 0
        self.smoothing = 0.6
        self.loss_plot, self.metric_plot, self.rate_plot = (self._plot() for _ in range(3))
        self.metric_plot.setXLink(self.loss_plot)
        self.rate_plot.setXLink(self.loss_plot)
        self.rate_plot.setMaximumHeight(150)
        for plot in (self.metric_plot, self.rate_plot):  # their x axes line up
            plot.getAxis("left").setWidth(52)
        self.rate_plot.getAxis("left").tickStrings = lambda values, scale, spacing: [
            f"{v * scale:.3g}"
            for v in values  # 1e-05, not 0.000010
        ]
        self.legend = self.loss_plot.addLegend(offset=(-8, 8), verSpacing=-4)
        self.style_items = {k: pg.PlotDataItem() for k in ("training", "validation")}
        for name, item in self.style_items.items():  # clicking these hides or shows them all
            self.legend.addItem(item, name)
            item.visibleChanged.connect(self._refresh)
        self.crosshairs = [pg.InfiniteLine(angle=90, movable=False) for _ in range(3)]
        for plot, line in zip(self.plots(), self.crosshairs, strict=True):
            plot.addItem(line, ignoreBounds=True)
            line.hide()
            plot.scene().sigMouseMoved.connect(lambda pos, p=plot: self._hover(p, pos))
            plot.viewport().installEventFilter(self)
        self.readout = QLabel(self)
        self.readout.setAutoFillBackground(True)
        self.readout.setBackgroundRole(QPalette.ColorRole.ToolTipBase)
        self.readout.setForegroundRole(QPalette.ColorRole.ToolTipText)
        self.readout.setMargin(6)
        self.readout.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.readout.hide()

        tip = _tip
        self.per_batch = tip(QRadioButton("Batches"), "Each batch's loss, and a smoothed line")
        self.per_epoch = tip(QRadioButton("Epochs"), "One point per epoch, with validation")
        self.per_batch.setChecked(True)
        views = QButtonGroup(self)
        views.addButton(self.per_batch)
        views.addButton(self.per_epoch)
        self.smoothing_label = QLabel("Smoothing")
        self.slider = tip(QSlider(Qt.Orientation.Horizontal), "0 shows the per-batch loss raw")
        self.slider.setRange(0, 99)
        self.slider.setValue(round(self.smoothing * 100))
        self.slider.setMinimumWidth(60)
        self.slider.setMaximumWidth(130)
        self.slider_value = QLabel(f"{self.smoothing:.2f}")
        self.slider_value.setMinimumWidth(self.slider_value.fontMetrics().horizontalAdvance("0.00"))
        self.log_box = tip(QCheckBox("Log scale"), "A log loss axis shows small late changes")
        self.clear_button = QPushButton("Clear old runs")
        self.clear_button.setToolTip("Take the dimmed curves of earlier runs away")
        self.clear_button.setEnabled(False)
        self.metric_box = tip(QComboBox(), "Which metric to plot")
        self.metric_title = _title("Metric")
        self.hints_view = HintsView()

        bar = QHBoxLayout()
        widget: QWidget
        for widget in (self.per_batch, self.per_epoch, self.smoothing_label):
            bar.addWidget(widget)
        bar.insertSpacing(2, 12)
        for widget in (self.slider, self.slider_value, self.log_box):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(self.clear_button)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addLayout(bar, 0, 0, 1, 3)
        for widget, row, column, rows, columns in (
            (_title("Loss"), 1, 0, 1, 1),
            (self.loss_plot, 2, 0, 3, 1),
            (self.metric_title, 1, 1, 1, 1),
            (self.metric_box, 1, 2, 1, 1),
            (self.metric_plot, 2, 1, 1, 2),
            (_title("Learning rate"), 3, 1, 1, 2),
            (self.rate_plot, 4, 1, 1, 2),
            (self.hints_view, 5, 0, 1, 3),
        ):
            grid.addWidget(widget, row, column, rows, columns)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(2, 2)
        grid.setRowStretch(2, 3)
        grid.setRowStretch(4, 1)

        self.per_epoch.toggled.connect(self._refresh)
        self.slider.valueChanged.connect(self._smoothing_changed)
        self.log_box.toggled.connect(lambda on: self.loss_plot.setLogMode(y=on))
        self.clear_button.clicked.connect(self.clear_earlier_runs)
        self.metric_box.currentTextChanged.connect(self._metric_changed)
        for widget in (self.metric_title, self.metric_box, self.metric_plot):
            widget.hide()  # until a run has a metric
        self._restyle()

    # -- the API --------------------------------------------------------------------------------

    def start_run(self, label: str, metrics: Sequence[str], batches_per_epoch: int) -> None:
        """A new run: its curves in the next colour; the earlier runs stay, dimmed."""
        del batches_per_epoch  # the points come with their x in epochs
        colour = QColor(COLOURS[self._count % len(COLOURS)])
        self._count += 1
        run = _Run(label, colour)
        for plot, names in (
            (self.loss_plot, ("batch_loss", "batch_loss_smoothed", "loss", "val_loss")),
            (self.metric_plot, ("metric", "val_metric")),
            (self.rate_plot, ("learning_rate",)),
        ):
            for name in names:
                item = plot.plot()
                item.setDownsampling(auto=True, method="peak")
                item.setClipToView(True)
                item.opts["autoDownsampleFactor"] = 1.5  # 3 points a pixel, drawn fast
                run.items[name] = item
        key = pg.PlotDataItem()  # the legend's sample; clicking it hides or shows the run
        key.visibleChanged.connect(lambda r=run, k=key: self._toggle_run(r, k.isVisible()))
        run.items["key"] = key
        self.legend.addItem(key, label)
        self._move_style_keys_last()
        self.runs.append(run)
        for name in metrics:
            self._offer_metric(name)
        self.clear_button.setEnabled(len(self.runs) > 1)
        self.hints_view.show_hints([], waiting=True)
        self._refresh()

    def add_batches(self, points: Sequence[tuple[float, float]]) -> None:
        """Per-batch training losses: (x in epochs, loss). Non-finite losses are not drawn."""
        run = self._current()
        xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        run.recent.extend(xy[:, 1].tolist())
        xy = xy[np.isfinite(xy).all(axis=1)]
        if not len(xy):
            return
        new, run.state = smooth(xy[:, 1], self.smoothing, run.state)
        end = run.n + len(xy)
        if end > run.buf.shape[1]:  # room for twice as many: appending stays cheap
            grown = np.empty((3, max(end, 2 * run.buf.shape[1])))
            grown[:, : run.n] = run.buf[:, : run.n]
            run.buf = grown
        first = run.n == 0
        run.buf[:, run.n : end] = xy[:, 0], xy[:, 1], new
        run.n = end
        if not self.per_epoch.isChecked():
            self._draw_batches(run)
            if first:
                run.items["loss"].setVisible(False)  # the batch curve shows it (see _refresh)

    def add_epoch(self, epoch: int, record: Mapping[str, float]) -> None:
        """One finished epoch's values (Keras names; ``val_`` for validation); updates the hints."""
        run = self._current()
        values = {
            k: float(v) if isinstance(v, int | float) else math.nan for k, v in record.items()
        }
        run.records.append((int(epoch), values))
        for name in record:
            if not name.startswith("val_") and name not in _NOT_METRICS:
                self._offer_metric(name)
        self._draw_epochs(run)
        self._fit_rate_axis()
        found = hints([r for _, r in run.records], list(run.recent))
        self.hints_view.show_hints(found, waiting=len(run.records) < MIN_EPOCHS)

    def clear_earlier_runs(self) -> None:
        """Forget every run but the latest (its colour stays)."""
        for run in self.runs[:-1]:
            for name, item in run.items.items():
                if name == "key":
                    self.legend.removeItem(item)
                else:
                    for plot in self.plots():
                        plot.removeItem(item)
        self.runs = self.runs[-1:]
        self.clear_button.setEnabled(False)
        self._fit_rate_axis()

    def hints_text(self) -> list[str]:
        """The texts of the hints shown now (none while all looks well)."""
        return self.hints_view.texts()

    def curve_data(self, run: int, name: str) -> tuple[Array, Array]:
        """(x, y) of a run's curve as drawn: ``batch_loss``, ``batch_loss_smoothed``, or a
        per-epoch value by its Keras name (``loss``, ``val_accuracy``, ``learning_rate``...).

        Args:
            run: The run's index in :attr:`runs` (0 the oldest still shown, -1 the latest).
            name: Which curve.
        """
        row = {"batch_loss": 1, "batch_loss_smoothed": 2}.get(name)
        if row is None:
            return self.runs[run].column(name)
        x, y = self.runs[run].batches(row)
        return x.copy(), y.copy()

    def item(self, run: int, name: str) -> pg.PlotDataItem:
        """The plot item of a curve: the names of :meth:`curve_data`'s items, with ``metric``
        and ``val_metric`` for the chosen metric."""
        return self.runs[run].items[name]

    def readout_text(self) -> str:
        """The hover readout's text, plain ("" when hidden)."""
        return _plain(self.readout.text()) if self.readout.isVisible() else ""

    def plots(self) -> tuple[pg.PlotWidget, pg.PlotWidget, pg.PlotWidget]:
        """The loss, metric and learning-rate plots."""
        return self.loss_plot, self.metric_plot, self.rate_plot

    # -- drawing --------------------------------------------------------------------------------

    def _current(self) -> _Run:
        if not self.runs:
            self.start_run("Run", [], 1)
        return self.runs[-1]

    def _draw_batches(self, run: _Run) -> None:
        run.items["batch_loss"].setData(*run.batches(1))
        run.items["batch_loss_smoothed"].setData(*run.batches(2))

    def _draw_epochs(self, run: _Run) -> None:
        metric = self.metric_box.currentText()
        for name, key in (
            ("loss", "loss"),
            ("val_loss", "val_loss"),
            ("metric", metric),
            ("val_metric", "val_" + metric),
            ("learning_rate", "learning_rate"),
        ):
            run.items[name].setData(*run.column(key))

    def _refresh(self, *_: object) -> None:
        """Pens, symbols and visibility of every item, after a change of view, run or theme."""
        epochs = self.per_epoch.isChecked()
        for widget in (self.smoothing_label, self.slider, self.slider_value):
            widget.setEnabled(not epochs)
        base = self.palette().color(QPalette.ColorRole.Base)
        dark = base.lightnessF() < 0.5
        shown = {k: item.isVisible() for k, item in self.style_items.items()}
        for i, run in enumerate(self.runs):
            latest = i == len(self.runs) - 1
            colour = QColor(run.colour.lighter(125) if dark else run.colour)
            colour.setAlpha(255 if latest else 140 if dark else 110)
            faint = QColor(colour)
            faint.setAlpha(70)
            width, size = (2.0, 7) if latest else (1.2, 5)
            solid = pg.mkPen(colour, width=width)
            dashed = pg.mkPen(colour, width=width, style=Qt.PenStyle.DashLine)
            items = run.items
            for name in ("key", "batch_loss_smoothed", "metric", "learning_rate"):
                items[name].setPen(solid)
            items["batch_loss"].setPen(pg.mkPen(faint, width=1))
            items["loss"].setPen(solid if epochs else None)  # in batches: points on the line
            for name in ("val_loss", "val_metric"):
                items[name].setPen(dashed)
            for name in ("loss", "metric", "learning_rate", "val_loss", "val_metric"):
                hollow = name.startswith("val_")
                edge = colour if hollow or not (epochs or name != "loss") else base
                items[name].opts.update(
                    symbol="o",
                    symbolSize=size,
                    symbolBrush=base if hollow else colour,
                    symbolPen=pg.mkPen(edge, width=1.5 if hollow else 1),
                )
                items[name].updateItems(styleUpdate=True)
            for name, item in items.items():
                kind = "validation" if name.startswith("val_") else "training"
                visible = run.shown and shown[kind]
                if name.startswith("batch_"):
                    visible = visible and not epochs and (latest or name.endswith("smoothed"))
                if name == "loss" and not epochs and run.n:
                    # The epoch's training loss is its mean over the epoch: drawn at the
                    # epoch's end it floats above the batch curve it summarises.
                    visible = False
                if name != "key":
                    item.setVisible(visible)
            if not epochs:
                self._draw_batches(run)
        text = self.palette().color(QPalette.ColorRole.Text)
        self.style_items["training"].setPen(pg.mkPen(text, width=2))
        self.style_items["validation"].setPen(pg.mkPen(text, width=2, style=Qt.PenStyle.DashLine))

    def _toggle_run(self, run: _Run, shown: bool) -> None:
        run.shown = shown
        self._refresh()
        self._fit_rate_axis()

    def _fit_rate_axis(self) -> None:
        """From 0 to the highest rate shown: a constant rate is a line, not the axis's middle."""
        rates = [r.column("learning_rate")[1] for r in self.runs if r.shown]
        top = max((float(y.max()) for y in rates if len(y)), default=0.0)
        if top > 0:
            self.rate_plot.setYRange(0, top, padding=0.1)

    def _move_style_keys_last(self) -> None:
        for name, item in self.style_items.items():
            self.legend.removeItem(item)
            self.legend.addItem(item, name)

    def _offer_metric(self, name: str) -> None:
        if self.metric_box.findText(name) < 0:
            self.metric_box.addItem(name)
        for widget in (self.metric_title, self.metric_box, self.metric_plot):
            widget.show()

    def _metric_changed(self, name: str) -> None:
        for run in self.runs:
            self._draw_epochs(run)

    def _smoothing_changed(self, value: int) -> None:
        self.smoothing = value / 100
        self.slider_value.setText(f"{self.smoothing:.2f}")
        for run in self.runs:
            run.buf[2, : run.n], run.state = smooth(run.buf[1, : run.n], self.smoothing)
            self._draw_batches(run)

    # -- hover ----------------------------------------------------------------------------------

    def _hover(self, plot: pg.PlotWidget, pos: QPointF) -> None:
        box = plot.getViewBox()
        if not box.sceneBoundingRect().contains(pos):
            self._leave()
            return
        x = float(box.mapSceneToView(pos).x())
        lines = self._readout_lines(plot, x)
        batches = not self.per_epoch.isChecked() and plot is self.loss_plot
        for line in self.crosshairs:
            line.setPos(x if batches else max(1, round(x)))  # on the epoch the readout shows
            line.setVisible(bool(lines))
        if not lines:
            self.readout.hide()
            return
        self.readout.setText("<br>".join(lines))
        self.readout.adjustSize()
        at = plot.mapTo(self, plot.mapFromScene(pos)) + QPoint(16, 16)
        at.setX(min(at.x(), self.width() - self.readout.width() - 4))
        at.setY(min(at.y(), self.height() - self.readout.height() - 4))
        self.readout.move(at)
        self.readout.show()
        self.readout.raise_()

    def _readout_lines(self, plot: pg.PlotWidget, x: float) -> list[str]:
        batches = not self.per_epoch.isChecked() and plot is self.loss_plot
        head = f"<b>epoch {x:.2f}</b>" if batches else f"<b>epoch {max(1, round(x))}</b>"
        lines = []
        metric = self.metric_box.currentText()
        names = {
            id(self.loss_plot): ("loss", "val_loss"),
            id(self.metric_plot): (metric, "val_" + metric),
            id(self.rate_plot): ("learning_rate",),
        }[id(plot)]
        for run in reversed(self.runs):
            if not run.shown:
                continue
            values = []
            bx, by = run.batches(1)
            if batches and run.n and bx[0] - 0.5 <= x <= bx[-1] + 0.5:
                i = min(int(np.searchsorted(bx, x)), run.n - 1)
                i = i - 1 if i and x - bx[i - 1] < bx[i] - x else i  # the nearest
                values.append(f"batch loss {by[i]:.4g} (smoothed {run.buf[2, i]:.4g})")
            near = [(e, r) for e, r in run.records if abs(e + 1 - x) <= 0.5]
            if near:
                e, r = near[-1]
                shown = [f"{n} {r[n]:.4g}" for n in names if math.isfinite(r.get(n, math.nan))]
                if shown:
                    values.append((f"epoch {e + 1}: " if batches else "") + " · ".join(shown))
            if values:
                name = run.label.split(":")[0]  # "Run 2", the legend has the rest
                swatch = f'<span style="color:{run.colour.name()}">■</span>'
                lines.append(f"{swatch} {name}: " + "<br>&nbsp;&nbsp;&nbsp;".join(values))
        return [head, *lines] if lines else []

    def _leave(self) -> None:
        self.readout.hide()
        for line in self.crosshairs:
            line.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Leave:
            self._leave()
        return super().eventFilter(watched, event)

    # -- theme ----------------------------------------------------------------------------------

    def _plot(self) -> pg.PlotWidget:
        plot = pg.PlotWidget()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        # No grid: pyqtgraph draws grid lines as part of each axis, over the whole plot, and
        # that was two thirds of a redraw (22 ms of 30), enough to make the window stutter
        # while training takes the cores.
        for name in ("left", "bottom"):
            plot.getAxis(name).setStyle(maxTickLevel=1)
        plot.setMinimumSize(160, 90)
        return plot

    def _restyle(self) -> None:
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.Text)
        for plot in self.plots():
            plot.setBackground(palette.color(QPalette.ColorRole.Base))
            for name in ("left", "bottom"):
                plot.getAxis(name).setPen(palette.color(QPalette.ColorRole.Mid))
                plot.getAxis(name).setTextPen(text)
        self.loss_plot.setLabel("bottom", "epoch", color=text.name())
        fill = QColor(palette.color(QPalette.ColorRole.Base))
        fill.setAlpha(210)
        self.legend.setBrush(fill)
        self.legend.setPen(palette.color(QPalette.ColorRole.Mid))
        self.legend.setLabelTextColor(text)
        hair = QColor(text)
        hair.setAlpha(110)
        for line in self.crosshairs:
            line.setPen(pg.mkPen(hair, width=1, style=Qt.PenStyle.DashLine))
        self._refresh()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()
        super().changeEvent(event)


def _tip(widget: _W, text: str) -> _W:
    widget.setToolTip(text)
    return widget


def _title(text: str) -> QLabel:
    label = QLabel(f"<b>{text}</b>")
    label.setContentsMargins(4, 2, 0, 0)
    return label


def _plain(html: str) -> str:
    """Rich text without its tags, ``<br>`` as new lines."""
    text = re.sub(r"<[^>]+>", "", html.replace("<br>", "\n"))
    return text.replace("&nbsp;", " ")
