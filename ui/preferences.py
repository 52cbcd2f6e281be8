"""Edit ▸ Preferences: the colours, how often unsaved work is autosaved, the device new
training runs start on, and the data cache. Each choice is kept in the settings and applies
at once."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from core.devices import available_devices
from ui.cache_settings import DataCacheSettings
from ui.settings import studio_settings
from ui.theme import Theme, apply_theme

THEMES: tuple[Theme, ...] = ("system", "light", "dark")


def saved_theme() -> Theme:
    """The theme chosen in Preferences (``system`` until one is)."""
    value = str(studio_settings().value("appearance/theme", "system"))
    return next((t for t in THEMES if t == value), "system")


def preferred_device() -> str:
    """The device training starts on when a model's settings say ``auto``."""
    value = str(studio_settings().value("training/device", "auto"))
    return value if value == "auto" or value in available_devices() else "auto"


class PreferencesDialog(QDialog):
    """The studio's preferences; changes apply and are kept as they are made."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.theme = QComboBox()
        for theme in THEMES:
            self.theme.addItem({"system": "Follow the system"}.get(theme, theme.title()), theme)
        self.theme.setCurrentIndex(self.theme.findData(saved_theme()))
        self.autosave = QSpinBox()
        self.autosave.setRange(0, 3600)
        self.autosave.setSuffix(" s")
        self.autosave.setSpecialValueText("never")
        from ui.recovery import autosave_interval

        self.autosave.setValue(round(autosave_interval()))
        self.device = QComboBox()
        self.device.addItem("auto (the best found)", "auto")
        names = {"cpu": "CPU", "cuda": "CUDA GPU", "mps": "Apple GPU"}
        for name in available_devices():
            self.device.addItem(names[name], name)
        self.device.setCurrentIndex(max(0, self.device.findData(preferred_device())))
        note = QLabel("The device applies to models whose training settings say auto.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Colours", self.theme)
        form.addRow("Autosave unsaved work every", self.autosave)
        form.addRow("Train on", self.device)
        form.addRow("", note)
        heading = QLabel("<b>Data cache</b>")
        heading.setContentsMargins(0, 12, 0, 0)
        form.addRow(heading)
        self.cache = DataCacheSettings(self)
        self.cache.add_rows(form)
        form.addRow(buttons)
        self.setMinimumWidth(560)
        self.theme.currentIndexChanged.connect(self._theme_changed)
        self.autosave.valueChanged.connect(self._autosave_changed)
        self.device.currentIndexChanged.connect(self._device_changed)

    def _theme_changed(self) -> None:
        theme: Theme = self.theme.currentData()
        studio_settings().setValue("appearance/theme", theme)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, theme)

    def _autosave_changed(self, seconds: int) -> None:
        from ui.main_window import MainWindow

        studio_settings().setValue("autosave/seconds", seconds)
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, MainWindow):
                widget.autosaver.set_interval(seconds)

    def _device_changed(self) -> None:
        studio_settings().setValue("training/device", str(self.device.currentData()))
