"""A form with one field per column of a table model's input: numbers in spin boxes, categories
in drop-down lists of the levels seen in training. It gives raw values (what a CSV row holds);
:meth:`core.evaluation.Predictor.encode_row` turns them into the model's input."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from core.data.table_pipeline import TablePipeline

#: Numbers are limited to this size either way (a spin box needs bounds).
LIMIT = 1e12


def _spin(value: float, decimals: int, step: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(-LIMIT, LIMIT)
    spin.setDecimals(decimals)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setMinimumWidth(160)
    spin.setKeyboardTracking(False)  # one change when typing is done, not one per key
    return spin


def _decimals(std: float) -> int:
    """Enough decimals to move a tenth of a standard deviation."""
    if std <= 0:
        return 2
    for decimals in range(0, 6):
        if 10.0**-decimals <= std / 10:
            return max(decimals, 1 if std < 100 else 0)
    return 6


class TableInputPanel(QWidget):
    """One field per input column; :meth:`values` reads them.

    Signals:
        changed(): A field's value changed.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fields: dict[str, QDoubleSpinBox | QComboBox] = {}
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.inner = QWidget()
        self.form = QFormLayout(self.inner)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.inner)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.viewport().setAutoFillBackground(False)
        self.inner.setAutoFillBackground(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.note)
        layout.addWidget(scroll, 1)

    def set_columns(self, pipeline: TablePipeline | None, feature_names: list[str]) -> None:
        """Fields for ``pipeline``'s raw columns, or, without one, for each feature (already
        standardised numbers)."""
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields = {}
        if pipeline is not None:
            self.note.hide()
            for spec in pipeline.columns:
                field: QDoubleSpinBox | QComboBox
                if spec.kind == "numeric":
                    decimals = _decimals(spec.std)
                    field = _spin(spec.mean, decimals, max(10.0**-decimals, spec.std / 10))
                else:
                    field = QComboBox()
                    levels = spec.levels if spec.kind == "categorical" else ["no", "yes"]
                    field.addItems(levels)
                    fill = str(spec.fill)
                    if spec.kind == "boolean":
                        fill = "yes" if float(spec.fill) >= 0.5 else "no"
                    field.setCurrentIndex(max(0, field.findText(fill)))
                self._add(spec.name, field)
        else:
            self.note.show()
            self.note.setText(
                "The model takes standardised numbers: 0 is the average of the training data, "
                "1 is one standard deviation above it."
            )
            for name in feature_names:
                self._add(name, _spin(0.0, 2, 0.1))

    def _add(self, name: str, field: QDoubleSpinBox | QComboBox) -> None:
        field.setObjectName(name)
        field.setToolTip(name)
        if isinstance(field, QDoubleSpinBox):
            field.valueChanged.connect(lambda _: self.changed.emit())
        else:
            field.currentIndexChanged.connect(lambda _: self.changed.emit())
        if isinstance(field, QComboBox):
            field.setMinimumWidth(160)
        label = QLabel(name)
        label.setBuddy(field)
        self.form.addRow(label, field)
        self.fields[name] = field

    def values(self) -> dict[str, object]:
        """Each field's value by column name: numbers as floats, categories as their text."""
        out: dict[str, object] = {}
        for name, field in self.fields.items():
            out[name] = field.value() if isinstance(field, QDoubleSpinBox) else field.currentText()
        return out
