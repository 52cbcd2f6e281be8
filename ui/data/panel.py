"""The Data page: choose the data, split it, see what it holds, and whether it fits the model.

Loading, splitting and preview pictures run off the GUI thread (:class:`DataWorker`); the
panel keeps the data it has until new data has loaded, so a file that cannot be read only
costs a red sentence. The window gives the model with :meth:`DataPanel.set_model` and applies
:attr:`DataPanel.adaptRequested`'s changes to it as one undoable step.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.data.dataset import Dataset, Splits, describe, split
from core.data.sources import preview_pictures
from core.data.spec import LoadedData, load_data, parse_spec
from core.fit_checks import Adapted, adapt, check_fit
from core.graph import Graph
from core.training_settings import TrainingSettings
from ui.data.image_preview import ClassPictures
from ui.data.source_form import SourcePanel
from ui.data.style import refresh_tones, set_tone
from ui.data.summary import SummaryPanel, split_text
from ui.data.worker import DataWorker
from ui.side_column import side_column

SplitArgs = tuple[float, float, int]
FITS = "The data fits the model."


def split_loaded(loaded: LoadedData, args: SplitArgs) -> Splits:
    """Train, validation and test parts; a file's own test set is kept as the test part."""
    validation, test, seed = args
    if loaded.test is not None:
        parts = split(loaded.train, validation, 0.0, seed)
        return Splits(parts.train, parts.validation, loaded.test)
    return split(loaded.train, validation, test, seed)


@dataclass(frozen=True)
class Made:
    """What a load job gives: the data, its splits, and the pictures for the preview."""

    spec: str
    loaded: LoadedData
    splits: Splits
    args: SplitArgs
    title: str
    pictures: list[ClassPictures]


@dataclass(frozen=True)
class _Resplit:
    loaded: LoadedData
    splits: Splits
    args: SplitArgs


def make(spec: str, preloaded: LoadedData | None, args: SplitArgs) -> Made:
    """Load ``spec`` (unless it was read already), split it and pick preview pictures."""
    loaded = preloaded if preloaded is not None else load_data(spec)
    splits = split_loaded(loaded, args)
    title, found = preview_pictures(spec, loaded.train)
    counts = dict(zip(*_classes(loaded.train), strict=True))
    rows = [ClassPictures(name, counts.get(name), pics) for name, pics in found.items()]
    return Made(spec, loaded, splits, args, title, rows)


def _classes(data: Dataset) -> tuple[list[str], list[int]]:
    description = describe(data)
    return description.classes, description.counts


def _source_name(spec: str) -> str:
    source, _ = parse_spec(spec)
    return source.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or source


class DataPanel(QWidget):
    """Choose, split and check the data the model trains on.

    Signals:
        dataChanged(): New data has loaded, or its split changed.
        adaptRequested(object): "Fix the model for this data" was pressed; carries the
            :class:`~core.fit_checks.Adapted` model for the window to apply.
        loadFailed(str): A load or split failed; the message (also shown in red).
        busyChanged(bool): Work started or ended off the GUI thread.
    """

    dataChanged = Signal()
    adaptRequested = Signal(object)
    loadFailed = Signal(str)
    busyChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._spec: str | None = None
        self._loaded: LoadedData | None = None
        self._splits: Splits | None = None
        self._args: SplitArgs | None = None
        self._graph: Graph | None = None
        self._settings: TrainingSettings | None = None
        self._problems: list[str] = []
        self._load_ticket = self._split_ticket = 0
        self._loading: str | None = None
        self._split_failed = False
        self.worker = DataWorker(self)
        self.worker.finished.connect(self._finished)
        self.worker.failed.connect(self._failed)
        self.worker.busyChanged.connect(self._busy_changed)

        self.source = SourcePanel()
        self.source.setObjectName("source")
        self.source.specChosen.connect(self.load)
        self.source.failed.connect(self._show_error)
        self._build_split_box()
        self._build_fit_box()
        self.busy = QProgressBar()
        self.busy.setObjectName("busy")
        self.busy.setRange(0, 0)
        self.busy.setMaximumHeight(12)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.status = QLabel()
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.status.hide()
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        self.summary = SummaryPanel()

        source_box = QGroupBox("Source")
        QVBoxLayout(source_box).addWidget(self.source)
        scroll = side_column((source_box, self.split_box, self.fit_box), (330, 400), 4)
        right = QVBoxLayout()
        right.addWidget(self.busy)
        right.addWidget(self.status)
        right.addWidget(self.error)
        right.addWidget(self.summary, 1)
        layout = QHBoxLayout(self)
        layout.addWidget(scroll)
        layout.addLayout(right, 1)

    def _build_split_box(self) -> None:
        self.split_box = QGroupBox("Split")
        self.validation_spin = QDoubleSpinBox()
        self.validation_spin.setObjectName("validation")
        self.validation_spin.setValue(0.2)
        self.validation_spin.setToolTip(
            "The share of the samples kept aside to check the model after each epoch."
        )
        self.test_spin = QDoubleSpinBox()
        self.test_spin.setObjectName("test")
        self.test_spin.setValue(0.0)
        self.test_spin.setToolTip("The share kept for a last check after training, never seen.")
        for spin in (self.validation_spin, self.test_spin):
            spin.setRange(0.0, 0.9)
            spin.setDecimals(2)
            spin.setSingleStep(0.05)
        self.seed_spin = QSpinBox()
        self.seed_spin.setObjectName("seed")
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("The same seed always splits the data the same way.")
        self.split_sizes = QLabel("Load some data to split it.")
        self.split_sizes.setObjectName("split_sizes")
        self.split_sizes.setWordWrap(True)
        form = QFormLayout(self.split_box)
        form.addRow("Validation fraction:", self.validation_spin)
        form.addRow("Test fraction:", self.test_spin)
        form.addRow("Seed:", self.seed_spin)
        form.addRow(self.split_sizes)
        self._resplit = QTimer(self)
        self._resplit.setSingleShot(True)
        self._resplit.setInterval(250)
        self._resplit.timeout.connect(self._start_split)
        for box in (self.validation_spin, self.test_spin, self.seed_spin):
            box.setKeyboardTracking(False)
            box.valueChanged.connect(self._resplit.start)

    def _build_fit_box(self) -> None:
        self.fit_box = QGroupBox("Fit with the model")
        self.fit_label = QLabel("Choose some data to check it against the model.")
        self.fit_label.setObjectName("fit")
        self.fit_label.setWordWrap(True)
        self.fit_label.setTextFormat(Qt.TextFormat.RichText)
        self.fit_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fix_button = QPushButton("Fix the model for this data")
        self.fix_button.setObjectName("fix")
        self.fix_button.setToolTip(
            "Set the Input shape and the last layer's units to what the data needs (one undo)."
        )
        self.fix_button.setEnabled(False)
        self.fix_button.clicked.connect(self._fix)
        layout = QVBoxLayout(self.fit_box)
        layout.addWidget(self.fit_label)
        layout.addWidget(self.fix_button)

    # -- accessors ----------------------------------------------------------------------------

    def spec(self) -> str | None:
        """The spec of the data in use (None before any has loaded)."""
        return self._spec

    def loaded(self) -> LoadedData | None:
        return self._loaded

    def splits(self) -> Splits | None:
        return self._splits

    def fits(self) -> bool:
        """Whether data is loaded, a model is set and nothing stops one training on the other."""
        return self._loaded is not None and self._graph is not None and not self._problems

    def problems(self) -> list[str]:
        """Why the data does not fit the model, one sentence each (empty when it fits)."""
        return list(self._problems)

    def split_args(self) -> SplitArgs:
        """The validation fraction, test fraction and seed set in the spin boxes."""
        test = self.test_spin.value() if self.test_spin.isEnabled() else 0.0
        return (self.validation_spin.value(), test, self.seed_spin.value())

    # -- loading ------------------------------------------------------------------------------

    def load(self, spec: str, preloaded: LoadedData | None = None) -> None:
        """Load ``spec`` off the GUI thread; :attr:`dataChanged` follows when it has loaded."""
        self._resplit.stop()
        self._loading = spec
        args = self.split_args()
        self._load_ticket = self.worker.submit(
            lambda: make(spec, preloaded, args), _source_name(spec)
        )
        self._split_ticket = 0
        self._say_status(f"Loading {_source_name(spec)}…")

    def show_spec(self, spec: str) -> None:
        """Load ``spec`` and set the source widgets to it (data named in a model file)."""
        self.source.show_spec(spec)
        self.load(spec)

    def _start_split(self) -> None:
        loaded = self._loaded
        if loaded is None or self._loading is not None:
            return  # a load in flight splits with the values it finds when it ends
        args = self.split_args()
        if args == self._args:  # back to the split in use: a split's complaint is moot
            if self._split_failed:
                self.error.hide()
            return
        self._split_ticket = self.worker.submit(
            lambda: _Resplit(loaded, split_loaded(loaded, args), args), "the split"
        )
        self._say_status("Splitting…")

    def _finished(self, ticket: int, result: object) -> None:
        if ticket == self._load_ticket and isinstance(result, Made):
            self._loading = None
            self._spec, self._loaded = result.spec, result.loaded
            self._splits, self._args = result.splits, result.args
            self.error.hide()
            self.test_spin.setEnabled(result.loaded.test is None)
            self.summary.show_data(result.loaded)
            self.summary.show_pictures(result.title, result.pictures)
            self._show_splits()
            self._check_fit()
            self.dataChanged.emit()
            if self.split_args() != result.args:
                self._start_split()
        elif ticket == self._split_ticket and isinstance(result, _Resplit):
            if result.loaded is not self._loaded:
                return
            self._splits, self._args = result.splits, result.args
            self.error.hide()
            self._show_splits()
            self.dataChanged.emit()

    def _failed(self, ticket: int, message: str) -> None:
        if ticket == self._load_ticket:
            self._loading = None
            if self._loaded is not None and self._spec is not None:
                message += f" The data in use is still {_source_name(self._spec)}."
            self._show_error(message)
        elif ticket == self._split_ticket:
            self._show_error(message + " The split in use is unchanged.")
            self._split_failed = True

    def _show_error(self, message: str) -> None:
        self._split_failed = False
        self.error.setText(message)
        set_tone(self.error, "error")
        self.error.show()
        self.loadFailed.emit(message)

    def _say_status(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(self.worker.busy)

    def _busy_changed(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        self.status.setVisible(busy)
        self.busyChanged.emit(busy)

    def _show_splits(self) -> None:
        own_test = self._loaded is not None and self._loaded.test is not None
        self.split_sizes.setText(split_text(self._splits, own_test) if self._splits else "")
        self.test_spin.setToolTip(
            "The file has its own test set, used as the test part."
            if own_test
            else "The share kept for a last check after training, never seen."
        )

    # -- the model ----------------------------------------------------------------------------

    def set_model(self, graph: Graph | None, settings: TrainingSettings) -> None:
        """The model the data must fit (the window calls this when either changes)."""
        self._graph, self._settings = graph, settings
        self._check_fit()

    def _check_fit(self) -> None:
        graph, settings, loaded = self._graph, self._settings, self._loaded
        if graph is None or settings is None:
            self._problems = []
            self._show_fit("No model to check the data against yet.", "plain")
            return
        if loaded is None:
            self._problems = []
            self._show_fit("Choose some data to check it against the model.", "plain")
            return
        try:
            self._problems = check_fit(graph, loaded.train, settings)
        except Exception as err:  # settings that name another output, a model mid-edit
            self._problems = [f"The fit could not be checked: {err}"]
        if not self._problems:
            self._show_fit(FITS, "good")
        else:
            items = "".join(f"<br>• {_escape(p)}" for p in self._problems)
            self._show_fit(f"The data does not fit the model yet:{items}", "error")
        self.fix_button.setEnabled(bool(self._problems))

    def _show_fit(self, text: str, tone: str) -> None:
        self.fit_label.setText(text)
        set_tone(
            self.fit_label, "good" if tone == "good" else "error" if tone == "error" else "plain"
        )
        if tone != "error":
            self.fix_button.setEnabled(False)

    def _fix(self) -> None:
        graph, settings, loaded = self._graph, self._settings, self._loaded
        if graph is None or settings is None or loaded is None:
            return
        try:
            adapted: Adapted = adapt(graph, loaded.train, settings)
        except Exception as err:
            self._show_fit(f"The model could not be changed to fit: {err}", "error")
            return
        if not adapted.changes:
            self.fit_label.setText(
                self.fit_label.text()
                + "<br>The studio cannot change this by itself; change the model or the training "
                "settings as the messages say."
            )
            return
        self.adaptRequested.emit(adapted)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            refresh_tones(self)
        super().changeEvent(event)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
