"""Where the data comes from: a built-in sample, a CSV file, a folder of images, a NumPy file or
a folder of MNIST's IDX files. Each choice ends in a spec string (``core.data.spec``), which the
data panel loads."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.data.csv_format import preview_csv
from core.data.dataset import DataError
from core.data.samples import SAMPLES
from core.data.sources import (
    csv_spec,
    image_folder_spec,
    is_idx_folder,
    plain_spec,
    sample_spec,
)
from core.data.spec import parse_spec
from ui.data.csv_wizard import CsvWizard
from ui.data.sample_form import SamplePanel
from ui.settings import studio_settings

KINDS = (
    ("Built-in sample", "sample"),
    ("CSV file", "csv"),
    ("Folder of images", "images"),
    ("NumPy file (.npz)", "npz"),
    ("MNIST folder (IDX files)", "mnist"),
)
#: Milliseconds a spin box must rest before the data is made again.
SETTLE_MS = 300
_LAST_FOLDER = "data/last_folder"


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


class _PathPage(QWidget):
    """A page with a chosen path, a button to choose another, and room for settings."""

    def __init__(self, button_text: str, hint: str) -> None:
        super().__init__()
        self.path = ""
        self.path_label = QLabel("Nothing chosen yet.")
        self.path_label.setObjectName("path")
        self.path_label.setWordWrap(True)
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.button = QPushButton(button_text)
        self.hint = _caption(hint)
        self.hint.setEnabled(False)
        self.form = QFormLayout()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.button)
        layout.addWidget(self.path_label)
        layout.addLayout(self.form)
        layout.addWidget(self.hint)
        layout.addStretch(1)

    def set_path(self, path: str) -> None:
        self.path = path
        self.path_label.setText(path or "Nothing chosen yet.")
        self.path_label.setToolTip(path)


class SourcePanel(QWidget):
    """Choose the data; every finished choice emits :attr:`specChosen`.

    File dialogs are ``QFileDialog.getOpenFileName`` and ``getExistingDirectory`` (tests patch
    them); the CSV wizard is shown with ``open()`` and kept in :attr:`csv_wizard`.

    Signals:
        specChosen(str, object): A spec to load, and the data when it was read already (the
            CSV wizard's read, a ``LoadedData``) or None.
        failed(str): A choice that cannot be used, in words (an unreadable CSV file).
    """

    specChosen = Signal(str, object)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("kind")
        for text, kind in KINDS:
            self.kind_combo.addItem(text, kind)
        self.pages: list[QWidget] = []  # one per kind; only the chosen one is shown
        self.csv_wizard: CsvWizard | None = None
        self._csv_choice: dict[str, str] = {}
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle_kind = "sample"
        self._settle.timeout.connect(lambda: self._emit(self._settle_kind))
        self.samples = SamplePanel()
        self.samples.sampleChanged.connect(self._sample_changed)
        self.samples.optionsChanged.connect(lambda: self._settle_for("sample"))
        self.pages.append(self.samples)
        self._build_file_pages()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("From:"))
        row.addWidget(self.kind_combo, 1)
        layout.addLayout(row)
        for page in self.pages:
            layout.addWidget(page)
        self.kind_combo.currentIndexChanged.connect(self._show_page)
        self._show_page(0)

    # -- the pages ----------------------------------------------------------------------------

    def _show_page(self, index: int) -> None:
        """Show the page of kind ``index`` (hidden pages take no room)."""
        for i, page in enumerate(self.pages):
            page.setVisible(i == index)

    def _sample_changed(self) -> None:
        self._settle.stop()
        self._emit("sample")

    def _build_file_pages(self) -> None:
        self.csv_page = _PathPage(
            "Choose a CSV file…",
            "A table saved as text, one row per sample, with a header row naming the columns.",
        )
        self.csv_settings = QPushButton("Column settings…")
        self.csv_settings.setObjectName("csv_settings")
        self.csv_settings.setEnabled(False)
        self.csv_choice = _caption("")
        self.csv_choice.setObjectName("csv_choice")
        self.csv_page.form.addRow(self.csv_settings)
        self.csv_page.form.addRow(self.csv_choice)
        self.csv_page.button.clicked.connect(self.choose_csv)
        self.csv_settings.clicked.connect(self._reopen_wizard)

        self.images_page = _PathPage(
            "Choose a folder of images…",
            "One subfolder per class, named after it (photos/cats, photos/dogs); PNG, JPEG, "
            "BMP or GIF files.",
        )
        self.height_spin, self.width_spin = QSpinBox(), QSpinBox()
        for spin, name in ((self.height_spin, "height"), (self.width_spin, "width")):
            spin.setObjectName(name)
            spin.setRange(4, 1024)
            spin.setValue(32)
            spin.setSuffix(" px")
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(self._settle_images)
        size_row = QHBoxLayout()
        size_row.addWidget(self.height_spin)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.width_spin)
        size_row.addStretch(1)
        self.color_combo = QComboBox()
        self.color_combo.setObjectName("color")
        self.color_combo.addItem("Colour (RGB, 3 channels)", "rgb")
        self.color_combo.addItem("Grey (1 channel)", "grayscale")
        self.color_combo.currentIndexChanged.connect(self._settle_images)
        self.images_page.form.addRow("Resize to:", size_row)
        self.images_page.form.addRow("Colour:", self.color_combo)
        self.images_page.button.clicked.connect(self.choose_image_folder)

        self.npz_page = _PathPage(
            "Choose a .npz file…",
            "Arrays named x and y, or x_train, y_train, x_test and y_test as Keras saves them.",
        )
        self.npz_page.button.clicked.connect(self.choose_npz)
        self.mnist_page = _PathPage(
            "Choose a folder of IDX files…",
            "The four files of MNIST or Fashion-MNIST (train-images-idx3-ubyte and the others, "
            "gzipped or not).",
        )
        self.mnist_page.button.clicked.connect(self.choose_mnist_folder)
        for page in (self.csv_page, self.images_page, self.npz_page, self.mnist_page):
            self.pages.append(page)

    # -- files and folders --------------------------------------------------------------------

    def _start_folder(self) -> str:
        value = studio_settings().value(_LAST_FOLDER, "")
        return value if isinstance(value, str) else ""

    def _remember(self, path: str) -> None:
        folder = path if Path(path).is_dir() else str(Path(path).parent)
        studio_settings().setValue(_LAST_FOLDER, folder)

    def choose_csv(self) -> None:
        """Ask for a CSV file, then show the wizard for it."""
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Choose a CSV file",
            self._start_folder(),
            "Tables (*.csv *.tsv *.txt);;All files (*)",
        )
        if path:
            self._remember(path)
            self.open_wizard(path)

    def open_wizard(self, path: str, choice: dict[str, str] | None = None) -> CsvWizard | None:
        """Show the CSV wizard for ``path`` (its first rows are read here: a quick look)."""
        try:
            preview = preview_csv(path)
        except DataError as err:
            self.failed.emit(str(err))
            return None
        except Exception as err:  # an odd file: say so in words, keep the window alive
            self.failed.emit(f"Could not read {Path(path).name}: {err}")
            return None
        choice = choice or {}
        wizard = CsvWizard(
            preview,
            self,
            target=choice.get("target") or None,
            task=choice.get("task", "auto"),
            missing=choice.get("missing", "drop"),
        )
        wizard.chosen.connect(lambda spec: self._csv_chosen(wizard, spec))
        wizard.finished.connect(lambda _: self._wizard_closed(wizard))
        self.csv_wizard = wizard
        wizard.open()
        return wizard

    def _wizard_closed(self, wizard: CsvWizard) -> None:
        """A closed wizard goes, with the data it read (the panel keeps what it took)."""
        if self.csv_wizard is wizard:
            self.csv_wizard = None
        wizard.deleteLater()

    def _reopen_wizard(self) -> None:
        if self.csv_page.path:
            self.open_wizard(self.csv_page.path, self._csv_choice)

    def _csv_chosen(self, wizard: CsvWizard, spec: str) -> None:
        self.csv_page.set_path(wizard.preview.path)
        self._csv_choice = {
            "target": wizard.target(),
            "task": wizard.task(),
            "missing": wizard.missing(),
        }
        self._show_csv_choice()
        self.specChosen.emit(spec, wizard.loaded())

    def _show_csv_choice(self) -> None:
        c = self._csv_choice
        task = {"auto": "", "classification": " as classes", "regression": " as a number"}
        missing = "filled in" if c.get("missing") == "fill" else "rows with one dropped"
        self.csv_choice.setText(
            f"Predicting '{c.get('target', '?')}'{task.get(c.get('task', 'auto'), '')}; "
            f"missing values: {missing}."
        )
        self.csv_settings.setEnabled(True)

    def _choose_folder(self, page: _PathPage, title: str) -> bool:
        path = QFileDialog.getExistingDirectory(self, title, self._start_folder())
        if not path:
            return False
        self._remember(path)
        page.set_path(path)
        return True

    def choose_image_folder(self) -> None:
        if self._choose_folder(self.images_page, "Choose a folder of images"):
            self._emit("images")

    def choose_mnist_folder(self) -> None:
        if self._choose_folder(self.mnist_page, "Choose a folder of IDX files"):
            self._emit("mnist")

    def choose_npz(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a NumPy file", self._start_folder(), "NumPy files (*.npz);;All files (*)"
        )
        if path:
            self._remember(path)
            self.npz_page.set_path(path)
            self._emit("npz")

    def _settle_images(self) -> None:
        if self.images_page.path:
            self._settle_for("images")

    def _settle_for(self, kind: str) -> None:
        """Emit ``kind``'s spec once its widgets have rested for :data:`SETTLE_MS`."""
        self._settle_kind = kind
        self._settle.start()

    # -- the spec -----------------------------------------------------------------------------

    def kind(self) -> str:
        """The kind of source on show: sample, csv, images, npz or mnist."""
        return str(self.kind_combo.currentData())

    def current_spec(self, kind: str | None = None) -> str | None:
        """The spec the shown page gives now; None when it is not complete.

        Raises:
            DataError: When the choices cannot be written as a spec.
        """
        kind = kind or self.kind()
        if kind == "sample":
            name = self.samples.name()
            return sample_spec(name, self.samples.values()) if name is not None else None
        if kind == "csv":
            if not self.csv_page.path or not self._csv_choice:
                return None
            c = self._csv_choice
            return csv_spec(self.csv_page.path, c["target"] or None, c["task"], c["missing"])
        if kind == "images":
            if not self.images_page.path:
                return None
            size = (self.height_spin.value(), self.width_spin.value())
            return image_folder_spec(self.images_page.path, size, self.color_combo.currentData())
        page = self.npz_page if kind == "npz" else self.mnist_page
        return plain_spec(page.path) if page.path else None

    def _emit(self, kind: str) -> None:
        try:
            spec = self.current_spec(kind)
        except DataError as err:
            self.failed.emit(str(err))
            return
        if spec is not None:
            self.specChosen.emit(spec, None)

    def show_spec(self, spec: str) -> None:
        """Set the widgets to what ``spec`` names, without loading anything."""
        try:
            source, options = parse_spec(spec)
        except DataError:
            return
        widgets: list[QWidget] = [self.kind_combo, self.color_combo]
        widgets += [self.height_spin, self.width_spin]
        for widget in widgets:
            widget.blockSignals(True)
        try:
            self._show(source, options)
        finally:
            for widget in widgets:
                widget.blockSignals(False)

    def _show(self, source: str, options: dict[str, str]) -> None:
        path = Path(source)
        if source in SAMPLES:
            kind = "sample"
            self.samples.show_sample(source, options)
        elif path.suffix.lower() == ".npz":
            kind = "npz"
            self.npz_page.set_path(source)
        elif path.suffix.lower() in (".csv", ".tsv", ".txt"):
            kind = "csv"
            self.csv_page.set_path(source)
            self._csv_choice = {
                "target": options.get("target", ""),  # empty: the reader's default
                "task": options.get("task", "auto"),
                "missing": options.get("missing", "drop"),
            }
            self._show_csv_choice()
        elif "size" in options or "color" in options or not is_idx_folder(path):
            kind = "images"
            self.images_page.set_path(source)
            height, _, width = options.get("size", "32x32").lower().partition("x")
            if height.isdigit():
                self.height_spin.setValue(int(height))
                self.width_spin.setValue(int(width) if width.isdigit() else int(height))
            self.color_combo.setCurrentIndex(
                max(0, self.color_combo.findData(options.get("color", "rgb")))
            )
        else:
            kind = "mnist"
            self.mnist_page.set_path(source)
        index = self.kind_combo.findData(kind)
        self.kind_combo.setCurrentIndex(index)
        self._show_page(index)
