"""The built-in samples: a combo box of them, what the chosen one is, and a form of its options
generated from what :mod:`core.data.samples` declares (never written by hand per sample)."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.data.samples import SAMPLES, OptionValue, SampleOption

_KIND_WORDS = {"image": "pictures", "table": "a table", "points": "points"}
_INT32 = 2**31 - 1


class SamplePanel(QWidget):
    """Choose a built-in sample and its options.

    Signals:
        sampleChanged(): Another sample was chosen (its options are back to their defaults).
        optionsChanged(): An option's value changed.
    """

    sampleChanged = Signal()
    optionsChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sample_combo = QComboBox()
        self.sample_combo.setObjectName("sample")
        self.sample_combo.setPlaceholderText("Choose a sample…")
        for name, info in SAMPLES.items():
            self.sample_combo.addItem(f"{name} ({_KIND_WORDS[info.kind]}, {info.task})", name)
            self.sample_combo.setItemData(
                self.sample_combo.count() - 1, info.description, Qt.ItemDataRole.ToolTipRole
            )
        self.sample_combo.setCurrentIndex(-1)
        self.about = QLabel("Small datasets that come with the studio; no download.")
        self.about.setObjectName("sample_about")
        self.about.setWordWrap(True)
        self.options_box = QWidget()
        self.options_form = QFormLayout(self.options_box)
        self.options_form.setContentsMargins(0, 0, 0, 0)
        self.option_fields: dict[str, QSpinBox | QDoubleSpinBox] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.sample_combo)
        layout.addWidget(self.about)
        layout.addWidget(self.options_box)
        layout.addStretch(1)
        self.sample_combo.currentIndexChanged.connect(self._sample_changed)

    def name(self) -> str | None:
        """The chosen sample, or None before one is chosen."""
        name = self.sample_combo.currentData()
        return name if isinstance(name, str) else None

    def values(self) -> dict[str, OptionValue]:
        """The option values shown for the chosen sample."""
        return {
            name: field.value() if isinstance(field, QDoubleSpinBox) else int(field.value())
            for name, field in self.option_fields.items()
        }

    def show_sample(self, name: str, options: Mapping[str, str]) -> None:
        """Show sample ``name`` with ``options`` (text, as in a spec), emitting nothing."""
        self.sample_combo.blockSignals(True)
        self.sample_combo.setCurrentIndex(self.sample_combo.findData(name))
        self.sample_combo.blockSignals(False)
        self._build(SAMPLES[name].options if name in SAMPLES else ())
        self.about.setText(SAMPLES[name].description if name in SAMPLES else "")
        for key, field in self.option_fields.items():
            try:
                value = float(options[key]) if key in options else None
            except ValueError:
                value = None
            if value is None:
                continue
            field.blockSignals(True)
            if isinstance(field, QDoubleSpinBox):
                field.setValue(value)
            else:
                field.setValue(round(value))
            field.blockSignals(False)

    def _sample_changed(self) -> None:
        name = self.name()
        if name is None:
            return
        self.about.setText(SAMPLES[name].description)
        self._build(SAMPLES[name].options)
        self.sampleChanged.emit()

    def _build(self, options: tuple[SampleOption, ...]) -> None:
        while self.options_form.rowCount():
            self.options_form.removeRow(0)
        self.option_fields = {}
        for option in options:
            field: QSpinBox | QDoubleSpinBox
            if option.kind == "int":
                field = QSpinBox()
                field.setRange(int(option.minimum), min(int(option.maximum), _INT32))
                field.setValue(int(option.default))
                field.setGroupSeparatorShown(True)
            else:
                field = QDoubleSpinBox()
                field.setDecimals(2)
                field.setSingleStep(0.05)
                field.setRange(float(option.minimum), float(option.maximum))
                field.setValue(float(option.default))
            field.setObjectName(f"option_{option.name}")
            field.setToolTip(option.help)
            field.setKeyboardTracking(False)
            field.valueChanged.connect(self.optionsChanged)
            label = QLabel(option.name.capitalize() + ":")
            label.setToolTip(option.help)
            self.options_form.addRow(label, field)
            self.option_fields[option.name] = field
        self.options_box.setVisible(bool(options))
