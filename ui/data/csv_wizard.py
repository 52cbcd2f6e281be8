"""The CSV wizard: the first rows of the file, how it is written, which column to predict, and
what each column becomes before the model sees it.

The dialog reads the whole file again (off the GUI thread) whenever a choice changes, so the
table of what each column became is exactly what training will get; :meth:`CsvWizard.loaded`
hands that read to the data panel, which then need not read the file a third time.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.data.csv_format import CsvPreview, delimiter_name
from core.data.dataset import DataError
from core.data.sources import ColumnRole, column_roles, csv_spec, encoding_name
from core.data.spec import LoadedData, load_data
from ui.data.style import set_tone
from ui.data.worker import DataWorker

TASKS = (
    ("Decide from the target column", "auto"),
    ("Classification: pick one class of several", "classification"),
    ("Regression: predict a number", "regression"),
)
MISSING = (
    ("Drop the rows that have one", "drop"),
    ("Fill them in (the column's mean or most frequent value)", "fill"),
)
_ROLE_WORDS = {
    "target": "target",
    "numeric": "number",
    "categorical": "category",
    "boolean": "yes/no",
    "dropped": "dropped",
}


def _read_only_table(columns: int) -> QTableWidget:
    table = QTableWidget(0, columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setAlternatingRowColors(True)
    table.verticalHeader().setDefaultSectionSize(22)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class CsvWizard(QDialog):
    """Choose how a CSV file is read; :meth:`spec` is the result (``path:target=…``).

    The panel shows it with ``open()`` (window-modal, not blocking); tests set its combo boxes
    and click :attr:`ok_button` directly.

    Signals:
        chosen(str): OK was pressed; the spec of the choices.
        rolesReady(): The table of what each column became is filled (or an error is shown).
    """

    chosen = Signal(str)
    rolesReady = Signal()

    def __init__(
        self,
        preview: CsvPreview,
        parent: QWidget | None = None,
        *,
        target: str | None = None,
        task: str = "auto",
        missing: str = "drop",
    ) -> None:
        super().__init__(parent)
        self.preview = preview
        self.setWindowTitle(f"Read {_file_name(preview.path)}")
        self.setObjectName("csv_wizard")
        self.resize(820, 660)
        self._worker = DataWorker(self)
        self._ticket = 0
        self._loaded: LoadedData | None = None
        self._loaded_spec: str | None = None
        self._pending_spec: str | None = None
        self._roles: list[ColumnRole] = []

        self.found = QLabel(self._found_text())
        self.found.setObjectName("found")
        self.found.setWordWrap(True)
        self.preview_table = _read_only_table(len(preview.header))
        self.preview_table.setObjectName("preview_table")
        self._fill_preview()

        self.target_combo = QComboBox()
        self.target_combo.setObjectName("target")
        self.target_combo.addItems(preview.header)
        self.target_combo.setToolTip("The column the model learns to predict from the others.")
        self.task_combo = QComboBox()
        self.task_combo.setObjectName("task")
        for text, value in TASKS:
            self.task_combo.addItem(text, value)
        self.missing_combo = QComboBox()
        self.missing_combo.setObjectName("missing")
        for text, value in MISSING:
            self.missing_combo.addItem(text, value)
        self.missing_combo.setToolTip(
            "Cells that are empty or hold NA, N/A, nan, null, ? or -. Rows without a target "
            "are always dropped."
        )
        self._select(self.target_combo, target if target in preview.header else _default(preview))
        self._select(self.task_combo, task, by_data=True)
        self._select(self.missing_combo, missing, by_data=True)

        self.columns_table = _read_only_table(3)
        self.columns_table.setObjectName("columns_table")
        self.columns_table.setHorizontalHeaderLabels(["Column", "Becomes", "How"])
        header = self.columns_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.columns_table.verticalHeader().hide()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumHeight(10)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.status = QLabel()
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert ok is not None
        self.ok_button: QPushButton = ok
        self.ok_button.setText("Use this data")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("Column to predict:", self.target_combo)
        form.addRow("Task:", self.task_combo)
        form.addRow("Missing values:", self.missing_combo)
        layout = QVBoxLayout(self)
        layout.addWidget(self.found)
        layout.addWidget(_heading("The first rows"))
        layout.addWidget(self.preview_table, 3)
        layout.addLayout(form)
        layout.addWidget(_heading("What each column becomes"))
        layout.addWidget(self.columns_table, 2)
        layout.addWidget(self.busy)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)

        self.target_combo.currentIndexChanged.connect(self._changed)
        self.task_combo.currentIndexChanged.connect(self._changed)
        self.missing_combo.currentIndexChanged.connect(self._changed)
        self._worker.finished.connect(self._read)
        self._worker.failed.connect(self._failed)
        self._worker.busyChanged.connect(self.busy.setVisible)
        self._changed()

    # -- the choices --------------------------------------------------------------------------

    def target(self) -> str:
        return self.target_combo.currentText()

    def task(self) -> str:
        return str(self.task_combo.currentData())

    def missing(self) -> str:
        return str(self.missing_combo.currentData())

    def spec(self) -> str:
        """The spec of the current choices.

        Raises:
            DataError: When a choice cannot be written as a spec (an odd column name).
        """
        return csv_spec(self.preview.path, self.target(), self.task(), self.missing())

    def loaded(self) -> LoadedData | None:
        """The file read with the current choices, once that read is done (else None)."""
        try:
            spec = self.spec()
        except DataError:
            return None
        return self._loaded if spec == self._loaded_spec else None

    def roles(self) -> list[ColumnRole]:
        """What each column became with the current choices (empty until the read is done)."""
        return list(self._roles)

    def accept(self) -> None:
        try:
            spec = self.spec()
        except DataError as err:
            self._say(str(err), error=True)
            return
        self.chosen.emit(spec)
        super().accept()

    # -- reading ------------------------------------------------------------------------------

    def _changed(self) -> None:
        self._mark_target()
        self._roles = []
        self.columns_table.setRowCount(0)
        try:
            spec = self.spec()
        except DataError as err:
            self._ticket = 0
            self._say(str(err), error=True)
            self.ok_button.setEnabled(False)
            self.rolesReady.emit()
            return
        self.ok_button.setEnabled(True)
        self._say(f"Reading {_file_name(self.preview.path)} with these choices…")
        self._ticket = self._worker.submit(lambda: load_data(spec), _file_name(self.preview.path))
        self._pending_spec = spec

    def _read(self, ticket: int, loaded: LoadedData) -> None:
        if ticket != self._ticket:
            return
        self._loaded, self._loaded_spec = loaded, self._pending_spec
        if loaded.pipeline is not None:
            self._roles = column_roles(self.preview.header, loaded.pipeline)
        self._fill_roles()
        rows = len(loaded.train)
        self._say(f"{rows:,} rows are ready to train on." + _dropped_note(loaded))
        self.rolesReady.emit()

    def _failed(self, ticket: int, message: str) -> None:
        if ticket != self._ticket:
            return
        self._say(message, error=True)
        self.ok_button.setEnabled(False)
        self.rolesReady.emit()

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        set_tone(self.status, "error" if error else "plain")

    # -- drawing ------------------------------------------------------------------------------

    def _found_text(self) -> str:
        p = self.preview
        header = "the first row names the columns" if p.has_header else "there is no header row"
        lines = [
            f"<b>{_file_name(p.path)}</b>: {len(p.header)} columns, "
            f"{encoding_name(p.encoding)}, separated by {delimiter_name(p.delimiter)}s; {header}."
        ]
        lines += p.notes
        return "<br>".join(lines)

    def _fill_preview(self) -> None:
        table, p = self.preview_table, self.preview
        table.setHorizontalHeaderLabels(p.header)
        table.setRowCount(len(p.rows))
        for r, row in enumerate(p.rows):
            for c, cell in enumerate(row[: len(p.header)]):
                table.setItem(r, c, QTableWidgetItem(cell))

    def _fit_columns(self) -> None:
        table = self.preview_table
        table.resizeColumnsToContents()
        for c in range(table.columnCount()):
            table.setColumnWidth(c, min(220, max(70, table.columnWidth(c))))

    def _mark_target(self) -> None:
        target = self.target_combo.currentIndex()
        for c, name in enumerate(self.preview.header):
            item = QTableWidgetItem(f"{name} (target)" if c == target else name)
            font = item.font()
            font.setBold(c == target)
            item.setFont(font)
            self.preview_table.setHorizontalHeaderItem(c, item)
        self._fit_columns()

    def _fill_roles(self) -> None:
        table = self.columns_table
        table.setRowCount(len(self._roles))
        for r, role in enumerate(self._roles):
            for c, text in enumerate((role.name, _ROLE_WORDS.get(role.role, role.role), role.text)):
                item = QTableWidgetItem(text)
                if role.role == "target":
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                table.setItem(r, c, item)

    @staticmethod
    def _select(combo: QComboBox, value: str, by_data: bool = False) -> None:
        index = combo.findData(value) if by_data else combo.findText(value)
        combo.setCurrentIndex(max(0, index))


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


def _file_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _default(preview: CsvPreview) -> str:
    """The reader's own default target: the last column with a name."""
    named = [n for n in preview.header if not n.startswith("col_")] or preview.header
    return named[-1]


def _dropped_note(loaded: LoadedData) -> str:
    dropped = [n for n in loaded.train.notes if n.startswith("Dropped")]
    return (" " + " ".join(dropped)) if dropped else ""
