"""The data cache's part of Preferences: on or off, its folder, its limit, what it holds, and
a button that empties it. The choices are kept in the settings (``data/cache_*``) and given to
:mod:`core.data.cache` at start (:func:`apply_cache_settings`) and as they change."""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
)

from core.data import cache
from ui.settings import apply_cache_settings, cache_enabled, cache_limit_gb, studio_settings


class DataCacheSettings(QObject):
    """The cache rows of Preferences (:meth:`add_rows`); each change applies at once."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        settings = studio_settings()
        self.enabled = QCheckBox("Keep decoded image folders, so they load quickly next time")
        self.enabled.setChecked(cache_enabled())
        self.folder = QLineEdit(str(settings.value("data/cache_folder", "") or ""))
        self.folder.setPlaceholderText(str(cache.default_cache_folder()))
        self.folder.setClearButtonEnabled(True)
        self.folder.setToolTip("Empty: the system's cache folder (shown in grey).")
        self.choose = QPushButton("Choose…")
        self.limit = QDoubleSpinBox()
        self.limit.setRange(0.1, 1000)
        self.limit.setDecimals(1)
        self.limit.setSingleStep(0.5)
        self.limit.setSuffix(" GB")
        self.limit.setValue(cache_limit_gb())
        self.usage = QLabel()
        self.usage.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.empty = QPushButton("Empty the cache")
        for button in (self.choose, self.empty):
            button.setAutoDefault(False)  # Return in the folder field must not press them
        folder_row = QHBoxLayout()
        folder_row.setContentsMargins(0, 0, 0, 0)
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.choose)
        usage_row = QHBoxLayout()
        usage_row.setContentsMargins(0, 0, 0, 0)
        usage_row.addWidget(self.usage, 1)
        usage_row.addWidget(self.empty)
        self._folder_row, self._usage_row = folder_row, usage_row
        self.enabled.toggled.connect(self._enabled_changed)
        self.folder.editingFinished.connect(lambda: self.set_folder(self.folder.text()))
        self.choose.clicked.connect(self._choose)
        self.limit.valueChanged.connect(self._limit_changed)
        self.empty.clicked.connect(self.empty_cache)
        self._show_usage()

    def add_rows(self, form: QFormLayout) -> None:
        """Put the cache's rows at the end of ``form``."""
        form.addRow(self.enabled)
        form.addRow("Folder", self._folder_row)
        form.addRow("Keep at most", self.limit)
        form.addRow("Holds", self._usage_row)
        overridden = os.environ.get(cache.ENVIRONMENT)
        if overridden:
            note = QLabel(f"{cache.ENVIRONMENT} chooses the folder for this run: {overridden}")
            note.setWordWrap(True)
            form.addRow("", note)

    def set_folder(self, folder: str) -> None:
        """Use ``folder`` for the cache from now on (empty: the system's cache folder)."""
        folder = folder.strip()
        if self.folder.text() != folder:
            self.folder.setText(folder)
        studio_settings().setValue("data/cache_folder", folder)
        apply_cache_settings()
        self._show_usage()

    def empty_cache(self) -> int:
        """Remove every entry; returns the bytes freed (also shown)."""
        freed = cache.clear()
        self._show_usage(f"Freed {cache.amount_text(freed)}. ")
        return freed

    def _choose(self) -> None:
        start = self.folder.text() or str(cache.default_cache_folder())
        chosen = QFileDialog.getExistingDirectory(
            self.folder.window(), "Folder for the data cache", start
        )
        if chosen:
            self.set_folder(chosen)

    def _enabled_changed(self, on: bool) -> None:
        studio_settings().setValue("data/cache_enabled", on)
        apply_cache_settings()
        self._show_usage()

    def _limit_changed(self, value: float) -> None:
        studio_settings().setValue("data/cache_limit_gb", value)
        apply_cache_settings()
        cache.trim()
        self._show_usage()

    def _show_usage(self, before: str = "") -> None:
        on = self.enabled.isChecked()
        fixed = bool(os.environ.get(cache.ENVIRONMENT))  # the environment chose the folder
        self.limit.setEnabled(on)
        self.empty.setEnabled(on)
        self.folder.setEnabled(on and not fixed)
        self.choose.setEnabled(on and not fixed)
        if not on:
            self.usage.setText(before + "Off: image folders are decoded at every load.")
            return
        size, entries = cache.usage()
        folders = f"{entries} folder" + ("" if entries == 1 else "s")
        held = f"{cache.amount_text(size)} ({folders})" if entries else "Nothing yet"
        self.usage.setText(before + held)
