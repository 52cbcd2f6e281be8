"""Sample predictions: the images (or table rows) the model saw, each with its prediction and the
right answer, mistakes in red. A filter shows all samples, only the mistakes, or the samples of
one confusion-matrix cell."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QImage, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.data.dataset import Array, Dataset
from core.evaluation import Evaluation

#: Samples shown at a time; "Show more" adds as many again.
PAGE = 120
#: Thumbnails are at least this many pixels on a side (small images are scaled up, nearest).
THUMB = 72
WRONG = QColor("#d64541")
_ALL, _WRONG, _CELL = "all", "wrong", "cell"


def image_pixmap(sample: np.ndarray, side: int, frame: QColor | None = None) -> QPixmap:
    """One ``(C, H, W)`` image in [0, 1] as a square pixmap, scaled without smoothing."""
    values = np.clip(np.nan_to_num(np.asarray(sample, np.float32)), 0, 1)
    pixels = (values * 255).round().astype(np.uint8)
    rgb = np.repeat(pixels, 3, axis=0) if pixels.shape[0] == 1 else pixels[:3]
    data = np.ascontiguousarray(rgb.transpose(1, 2, 0))
    h, w = data.shape[:2]
    image = QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    scaled = image.scaled(
        side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
    )
    out = QPixmap(side + 6, side + 6)
    out.fill(Qt.GlobalColor.transparent)
    painter = QPainter(out)
    painter.drawImage(
        (out.width() - scaled.width()) // 2, (out.height() - scaled.height()) // 2, scaled
    )
    if frame is not None:
        painter.setPen(QPen(frame, 3))
        painter.drawRect(1, 1, out.width() - 3, out.height() - 3)
    painter.end()
    return out


def _rows(array: Array, indices: np.ndarray) -> np.ndarray:
    """Those samples as an array, read from disk when the data is too big for memory."""
    if isinstance(array, np.ndarray):
        return np.asarray(array[indices])
    return np.asarray(array.take(indices))


def _number(value: float) -> str:
    return f"{value:.4g}"


class PredictionGallery(QWidget):
    """Sample predictions with a filter (all / wrong only / one confusion cell).

    Signals:
        filterChanged(str): ``all``, ``wrong`` or ``cell`` after the filter changes.
    """

    filterChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.evaluation: Evaluation | None = None
        self.data: Dataset | None = None
        self.cell: tuple[int, int] | None = None
        self.indices = np.zeros(0, np.int64)
        self.limit = PAGE
        self.filter_box = QComboBox()
        self.filter_box.setToolTip("Which samples to show")
        self.filter_box.activated.connect(self._chosen)
        self.count_label = QLabel()
        self.count_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.more_button = QPushButton("Show more")
        self.more_button.clicked.connect(self.show_more)
        self.images = QListWidget()
        self.images.setViewMode(QListView.ViewMode.IconMode)
        self.images.setResizeMode(QListView.ResizeMode.Adjust)
        self.images.setMovement(QListView.Movement.Static)
        self.images.setUniformItemSizes(True)
        self.images.setSpacing(4)
        self.images.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table = QTableWidget()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.empty = QLabel("No samples to show.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.stack = QStackedWidget()
        for page in (self.images, self.table, self.empty):
            self.stack.addWidget(page)
        self.stack.setCurrentWidget(self.empty)
        top = QHBoxLayout()
        top.addWidget(QLabel("Show:"))
        top.addWidget(self.filter_box, 1)
        top.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.more_button, 0, Qt.AlignmentFlag.AlignRight)
        self.more_button.hide()

    # -- the model ------------------------------------------------------------------------

    def show_samples(self, evaluation: Evaluation, data: Dataset) -> None:
        """Show the predictions of ``evaluation`` on ``data`` (the same samples, in order)."""
        self.evaluation, self.data = evaluation, data
        self.cell = None
        self._fill_filters()
        self.show_all()

    def show_all(self) -> None:
        """Every sample, in order."""
        self._apply(_ALL)

    def show_wrong(self) -> None:
        """Only the mistakes, the most confident first (regression: the largest errors)."""
        self._apply(_WRONG)

    def show_cell(self, true_class: int, predicted_class: int) -> None:
        """The samples of one confusion-matrix cell."""
        self.cell = (true_class, predicted_class)
        self._fill_filters()
        self._apply(_CELL)

    @property
    def mode(self) -> str:
        """The filter in use: ``all``, ``wrong`` or ``cell``."""
        return str(self.filter_box.currentData() or _ALL)

    def shown_indices(self) -> np.ndarray:
        """The sample indices on display, in display order."""
        return self.indices[: self.limit]

    def show_more(self) -> None:
        """Show another page of samples."""
        self.limit += PAGE
        self._render()

    # -- inside ---------------------------------------------------------------------------

    def _fill_filters(self) -> None:
        box = self.filter_box
        box.blockSignals(True)
        box.clear()
        ev = self.evaluation
        regression = ev is not None and ev.task == "regression"
        box.addItem("All samples", _ALL)
        box.addItem("Largest errors first" if regression else "Wrong only", _WRONG)
        if self.cell is not None and ev is not None:
            true, pred = (ev.class_names[c] for c in self.cell)
            box.addItem(f"True '{true}', predicted '{pred}'", _CELL)
        box.blockSignals(False)

    def _chosen(self, row: int) -> None:
        self._apply(str(self.filter_box.itemData(row)))

    def _apply(self, mode: str) -> None:
        ev = self.evaluation
        if ev is None:
            return
        if mode == _CELL and self.cell is not None:
            self.indices = ev.misclassified(*self.cell)
        elif mode == _WRONG:
            self.indices = ev.wrong()
        else:
            mode = _ALL
            self.indices = np.arange(len(ev))
        self.filter_box.setCurrentIndex(max(0, self.filter_box.findData(mode)))
        self.limit = PAGE
        self._render()
        self.filterChanged.emit(mode)

    def _render(self) -> None:
        ev, data = self.evaluation, self.data
        if ev is None or data is None:
            return
        shown = self.shown_indices()
        total = len(self.indices)
        self.count_label.setText(
            f"{total:,} sample{'s'[: total != 1]}"
            if len(shown) >= total
            else f"{len(shown):,} of {total:,} samples"
        )
        self.more_button.setVisible(len(shown) < total)
        if not total:
            self.empty.setText(
                "No mistakes: every sample is classified right."
                if self.mode == _WRONG
                else "No samples here."
            )
            self.stack.setCurrentWidget(self.empty)
            return
        images = len(data.x) == 1 and len(data.input_shapes[0]) == 3
        images = images and data.input_shapes[0][0] in (1, 3)
        if images:
            self._render_images(ev, data, shown)
        else:
            self._render_table(ev, data, shown)

    def _labels(self, ev: Evaluation, i: int) -> tuple[str, str, bool]:
        """(predicted, true, right) of sample ``i`` in words."""
        if ev.task == "regression":
            pred = ", ".join(_number(v) for v in ev.predictions[i])
            true = ", ".join(_number(v) for v in ev.targets[i])
            return pred, true, True
        names = ev.class_names
        return names[ev.predictions[i]], names[ev.targets[i]], ev.predictions[i] == ev.targets[i]

    def _render_images(self, ev: Evaluation, data: Dataset, shown: np.ndarray) -> None:
        self.images.clear()
        samples = _rows(data.x[0], shown)
        side = max(THUMB, min(112, max(samples.shape[2:])))
        self.images.setIconSize(QSize(side + 6, side + 6))
        self.images.setGridSize(QSize(side + 34, side + 50))
        for i, sample in zip(shown.tolist(), samples, strict=True):
            pred, true, right = self._labels(ev, i)
            frame = None if right else WRONG
            item = QListWidgetItem(QIcon(image_pixmap(sample, side, frame)), "")
            if ev.task == "regression":
                item.setText(f"{pred}\ntrue {true}")
            elif right:
                item.setText(f"{pred}\n✓")
            else:
                item.setText(f"{pred}\ntrue: {true}")
                item.setForeground(QBrush(WRONG))
            tip = f"Sample {i + 1}: predicted {pred}, true {true}"
            if ev.probabilities is not None:
                tip += f" ({float(ev.probabilities[i, ev.predictions[i]]):.0%} sure)"
            item.setToolTip(tip)
            item.setData(Qt.ItemDataRole.UserRole, i)
            self.images.addItem(item)
        self.stack.setCurrentWidget(self.images)

    def _render_table(self, ev: Evaluation, data: Dataset, shown: np.ndarray) -> None:
        features = _rows(data.x[0], shown).reshape(len(shown), -1)
        names = list(data.feature_names or [])
        if len(names) != features.shape[1]:
            names = [f"x{j + 1}" for j in range(features.shape[1])]
        width = min(features.shape[1], 40)
        heads = ["Sample", "Predicted", "True"]
        heads.append("Error" if ev.task == "regression" else "Sure")
        heads += names[:width]
        table = self.table
        table.clear()
        table.setColumnCount(len(heads))
        table.setRowCount(len(shown))
        table.setHorizontalHeaderLabels(heads)
        wrong_brush = QBrush(WRONG)
        errors = ev.errors() if ev.task == "regression" else None
        for row, i in enumerate(shown.tolist()):
            pred, true, right = self._labels(ev, i)
            if errors is not None:
                extra = _number(float(errors[i]))
            else:
                assert ev.probabilities is not None
                extra = f"{float(ev.probabilities[i, ev.predictions[i]]):.0%}"
            cells = [str(i + 1), pred, true, extra]
            cells += [_number(float(v)) for v in features[row, :width]]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col != 1 and col != 2:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if not right and col in (1, 2):
                    item.setForeground(wrong_brush)
                table.setItem(row, col, item)
        table.resizeColumnsToContents()
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        table.horizontalHeader().setStretchLastSection(True)
        self.stack.setCurrentWidget(self.table)

    def item_texts(self) -> list[str]:
        """What each shown image says under it (for tests and screen readers)."""
        return [self.images.item(r).text() for r in range(self.images.count())]
