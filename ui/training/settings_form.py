"""The training settings in Keras's words: ``compile(optimizer, loss, metrics)`` and
``fit(epochs, batch_size)``, plus the device and the seed, with a line saying why the
defaults are what they are."""

from __future__ import annotations

import dataclasses
import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.devices import available_devices, choose_device
from core.training_settings import (
    LOSSES,
    METRICS,
    OPTIMIZER_CLASSES,
    OPTIMIZERS,
    SettingsError,
    TrainingSettings,
)
from ui.preferences import preferred_device

_RATES = ["0.1", "0.01", "0.001", "0.0001"]
_BATCHES = ["16", "32", "64", "128", "256"]


class TrainingSettingsForm(QWidget):
    """Edits a :class:`TrainingSettings`; ``settings()`` reads it back, checked.

    Settings the form has no field for (optimizer options, clipping, several losses) are
    kept from the last :meth:`set_settings`.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._base = TrainingSettings()
        self.optimizer = QComboBox()
        for name in OPTIMIZERS:
            self.optimizer.addItem(OPTIMIZER_CLASSES[name], name)
        self.rate = QComboBox()
        self.rate.setEditable(True)
        self.rate.addItems(["default", *_RATES])
        self.rate.setToolTip("The step size: lower it when the loss jumps about or becomes NaN.")
        self.loss = QComboBox()
        for name, help_text in LOSSES.items():
            self.loss.addItem(name, name)
            self.loss.setItemData(self.loss.count() - 1, help_text, Qt.ItemDataRole.ToolTipRole)
        self.metrics = QToolButton()
        self.metrics.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.metrics.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        menu = QMenu(self.metrics)
        self.metric_actions = {}
        for name, help_text in METRICS.items():
            action = menu.addAction(name)
            action.setCheckable(True)
            action.setToolTip(help_text)
            action.toggled.connect(self._metrics_changed)
            self.metric_actions[name] = action
        menu.setToolTipsVisible(True)
        self.metrics.setMenu(menu)
        self.metrics.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 100_000)
        self.batch = QComboBox()
        self.batch.setEditable(True)
        self.batch.addItems(_BATCHES)
        self.device = QComboBox()
        self.device.addItem("auto (the best found)", "auto")
        for name in available_devices():
            self.device.addItem({"cpu": "CPU", "cuda": "CUDA GPU", "mps": "Apple GPU"}[name], name)
        self.device_note = QLabel()
        self.device_note.setObjectName("device_note")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.random = QCheckBox("different each run")
        self.random.toggled.connect(lambda on: self.seed.setEnabled(not on))
        seed_row = QHBoxLayout()
        seed_row.setContentsMargins(0, 0, 0, 0)
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.random)
        self.why = QLabel()
        self.why.setObjectName("why")
        self.why.setWordWrap(True)
        self.why.setContentsMargins(0, 6, 0, 0)
        self.why.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.why.setTextFormat(Qt.TextFormat.PlainText)
        self.problem = QLabel()
        self.problem.setObjectName("settings_problem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #d0342c;")
        self.problem.hide()
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Optimizer", self.optimizer)
        form.addRow("Learning rate", self.rate)
        form.addRow("Loss", self.loss)
        form.addRow("Metrics", self.metrics)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch)
        form.addRow("Device", self.device)
        form.addRow("", self.device_note)
        seed_box = QWidget()
        seed_box.setLayout(seed_row)
        form.addRow("Seed", seed_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.why)
        layout.addWidget(self.problem)
        for combo in (self.optimizer, self.loss, self.device):
            combo.currentIndexChanged.connect(self._edited)
        for editable in (self.rate, self.batch):
            editable.currentTextChanged.connect(self._edited)
        self.epochs.valueChanged.connect(self._edited)
        self.seed.valueChanged.connect(self._edited)
        self.random.toggled.connect(self._edited)
        self.device.currentIndexChanged.connect(self._show_device)
        self.set_settings(TrainingSettings(), [])

    # -- in and out ---------------------------------------------------------------------------

    def set_settings(self, settings: TrainingSettings, reasons: list[str]) -> None:
        """Show ``settings``; ``reasons`` say why they are the defaults (may be empty)."""
        self._base = settings
        blockers = [w.blockSignals(True) for w in self._fields()]
        self.optimizer.setCurrentIndex(max(0, self.optimizer.findData(settings.optimizer)))
        rate = settings.learning_rate
        self.rate.setCurrentText("default" if math.isnan(rate) else f"{rate:g}")
        loss = settings.loss if isinstance(settings.loss, str) else None
        self.loss.setEnabled(loss is not None)
        if loss is not None:
            self.loss.setCurrentIndex(max(0, self.loss.findData(loss)))
        else:
            assert isinstance(settings.loss, dict)
            pairs = (f"{output}: {name}" for output, name in settings.loss.items())
            self.loss.setToolTip("One loss per output: " + ", ".join(pairs))
        for name, action in self.metric_actions.items():
            action.setChecked(name in settings.metrics)
        self.epochs.setValue(settings.epochs)
        self.batch.setCurrentText(str(settings.batch_size))
        device = settings.device if settings.device != "auto" else preferred_device()
        self.device.setCurrentIndex(max(0, self.device.findData(device)))
        self.random.setChecked(settings.seed is None)
        self.seed.setValue(settings.seed or 0)
        for widget, was in zip(self._fields(), blockers, strict=True):
            widget.blockSignals(was)
        self._metrics_changed()
        self._show_device()
        self.why.setText(" ".join(reasons))
        self.why.setVisible(bool(reasons))
        self.problem.hide()

    def settings(self) -> TrainingSettings:
        """The settings in the form, checked.

        Raises:
            SettingsError: With every problem, in words (also shown under the form).
        """
        problems = []
        text = self.rate.currentText().strip().lower()
        rate = math.nan
        if text not in ("", "default"):
            try:
                rate = float(text)
            except ValueError:
                problems.append(f"The learning rate must be a number like 0.001, not {text!r}.")
        try:
            batch = int(self.batch.currentText().strip())
        except ValueError:
            problems.append(
                f"The batch size must be a whole number, not {self.batch.currentText()!r}."
            )
            batch = self._base.batch_size
        if problems:
            self._say(problems)
            raise SettingsError(problems)
        optimizer = str(self.optimizer.currentData())
        base = self._base
        if optimizer != base.optimizer:
            base = base.with_optimizer(optimizer)
        changes: dict[str, object] = {
            "learning_rate": rate,
            "metrics": [n for n, a in self.metric_actions.items() if a.isChecked()],
            "epochs": self.epochs.value(),
            "batch_size": batch,
            "device": str(self.device.currentData()),
            "seed": None if self.random.isChecked() else self.seed.value(),
        }
        if self.loss.isEnabled():
            changes["loss"] = str(self.loss.currentData())
        try:
            result = dataclasses.replace(base, **changes)  # type: ignore[arg-type]
        except SettingsError as err:
            self._say(err.problems)
            raise
        self.problem.hide()
        return result

    # -- reactions ----------------------------------------------------------------------------

    def _fields(self) -> list[QWidget]:
        return [self.optimizer, self.rate, self.loss, self.epochs, self.batch, self.device,
                self.seed, self.random]  # fmt: skip

    def _say(self, problems: list[str]) -> None:
        self.problem.setText(" ".join(problems))
        self.problem.show()

    def _edited(self, *_: object) -> None:
        self.changed.emit()

    def _metrics_changed(self, *_: object) -> None:
        chosen = [n for n, a in self.metric_actions.items() if a.isChecked()]
        self.metrics.setText(", ".join(chosen) or "none")
        self.changed.emit()

    def _show_device(self, *_: object) -> None:
        choice = choose_device(str(self.device.currentData()))
        text = choice.message or f"Trains on the {choice.name}."
        self.device_note.setText(text)
