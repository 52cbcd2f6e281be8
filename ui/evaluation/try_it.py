"""Try it: give the trained model one sample of your own and see what it says.

How the sample is given depends on the model's input (:attr:`core.evaluation.Predictor.mode`):
a drawing canvas for small grey images (8×8 digits, 28×28 MNIST), an image file (dropped or
chosen) for any image model, a form for tables. The answer is the likeliest class in large text
with a bar chart of the probabilities, or the predicted numbers for regression.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QFont, QPalette, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.data.dataset import DataError
from core.data.images import IMAGE_EXTENSIONS
from core.evaluation import Predictor, load_image, prepare_drawing
from ui.evaluation.canvas import DrawingCanvas
from ui.evaluation.chart import ProbabilityChartView
from ui.evaluation.gallery import WRONG, image_pixmap
from ui.evaluation.table_form import TableInputPanel

_PREVIEW = 112
_PROMPTS = {
    "drawing": "Draw something to see what the model says.",
    "image": "Give an image to see what the model says.",
}


class TryItPanel(QWidget):
    """Asks a :class:`~core.evaluation.Predictor` about a drawing, an image file or a row.

    Signals:
        predicted(object): The model's answer (class probabilities, or predicted numbers).
        failed(str): Why the sample could not be used, in words (also shown in the panel).
    """

    predicted = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.predictor: Predictor | None = None
        self.last_input: np.ndarray | None = None
        self.setAcceptDrops(True)
        self.canvas = DrawingCanvas()
        self.canvas.drawn.connect(self.predict_drawing)
        self.canvas.cleared.connect(self.clear_result)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.canvas.clear)
        self.open_button = QPushButton("Open image…")
        self.open_button.setToolTip("Choose an image file (PNG, JPEG, BMP, GIF); or drop one here")
        self.open_button.clicked.connect(self.choose_file)
        self.drop_label = QLabel()
        self.drop_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_label.setWordWrap(True)
        self.drop_label.setFrameShape(QFrame.Shape.StyledPanel)
        self.drop_label.setMinimumSize(220, 180)
        self.form = TableInputPanel()
        self.form.changed.connect(self.predict_row)
        self.predict_button = QPushButton("Predict")
        self.predict_button.clicked.connect(self.predict_row)
        self.nothing = QLabel("Train a model first; then try it here.")
        self.nothing.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.nothing.setWordWrap(True)
        self.inputs = QStackedWidget()
        for page in (self.nothing, self._drawing_page(), self.drop_label, self._table_page()):
            self.inputs.addWidget(page)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {WRONG.name()};")
        self.error.hide()
        self.answer = QLabel("–")
        font = QFont(self.answer.font())
        font.setPointSizeF(font.pointSizeF() * 2.6)
        font.setBold(True)
        self.answer.setFont(font)
        self.answer.setWordWrap(True)
        self.answer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.chart = ProbabilityChartView()
        self.preview = QLabel()
        self.preview.setFixedSize(_PREVIEW + 6, _PREVIEW + 6)
        self.preview.setToolTip("What the model sees: your sample at the model's input size")
        self.preview_caption = QLabel("What the model sees")
        self.preview_caption.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._lay_out()
        self.set_model(None)

    # -- layout -----------------------------------------------------------------------------

    def _drawing_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas, 1)
        return page

    def _table_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.form, 1)
        layout.addWidget(self.predict_button, 0, Qt.AlignmentFlag.AlignRight)
        return page

    def _lay_out(self) -> None:
        given = QGroupBox("Your sample")
        left = QVBoxLayout(given)
        left.addWidget(self.hint)
        left.addWidget(self.inputs, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        left.addLayout(buttons)
        left.addWidget(self.error)
        said = self.result_box = QGroupBox("The model says")
        right = QVBoxLayout(said)
        top = QHBoxLayout()
        words = QVBoxLayout()
        words.addWidget(self.answer)
        words.addWidget(self.detail)
        words.addStretch(1)
        top.addLayout(words, 1)
        seen = QVBoxLayout()
        seen.addWidget(self.preview)
        seen.addWidget(self.preview_caption, 0, Qt.AlignmentFlag.AlignHCenter)
        top.addLayout(seen)
        right.addLayout(top)
        right.addWidget(self.chart, 1)
        layout = QHBoxLayout(self)
        layout.addWidget(given, 1)
        layout.addWidget(said, 1)

    # -- the model --------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        """``drawing``, ``image``, ``table``, ``unsupported``, or ``none`` without a model."""
        return "none" if self.predictor is None else self.predictor.mode

    def set_model(self, predictor: Predictor | None) -> None:
        """Ask ``predictor`` from now on (None: no model to try yet)."""
        self.predictor = predictor
        self.canvas.clear()
        mode = self.mode
        shape = "×".join(map(str, predictor.input_shape)) if predictor else ""
        self.open_button.setVisible(mode in ("drawing", "image"))
        self.clear_button.setVisible(mode == "drawing")
        if mode == "drawing":
            self.hint.setText(
                "Draw a digit in the black square, as large as it fits. The model answers "
                "when you let go of the mouse. You can also drop an image file here."
            )
            self.inputs.setCurrentIndex(1)
        elif mode == "image":
            _, height, width = predictor.input_shape if predictor else (0, 0, 0)
            kind = "grey" if predictor and predictor.input_shape[0] == 1 else "colour"
            self.hint.setText(
                f"Drop an image file here, or open one. The model sees it as a {kind} image "
                f"of {height}×{width} pixels."
            )
            self.drop_label.setText("Drop an image here")
            self.inputs.setCurrentIndex(2)
        elif mode == "table":
            assert predictor is not None
            names = predictor.feature_names or [
                f"feature {i + 1}" for i in range(predictor.input_shape[0])
            ]
            self.form.set_columns(predictor.pipeline, names)
            self.hint.setText(
                "Enter a sample; the model answers as you go."
                + (
                    " Give the values as they are in the data file; fields start at the "
                    "average (or most frequent) values of the training data."
                    if predictor.pipeline is not None
                    else ""
                )
            )
            self.inputs.setCurrentIndex(3)
        else:
            self.nothing.setText(
                "Train a model first; then try it here."
                if mode == "none"
                else f"Trying samples of shape {shape} by hand is not possible yet; the "
                "Evaluate page shows what the model predicts for the test data."
            )
            self.hint.setText("")
            self.inputs.setCurrentIndex(0)
        self.result_box.setVisible(mode in ("drawing", "image", "table"))
        self.clear_result()
        if mode == "table":
            self.predict_row()

    # -- asking -----------------------------------------------------------------------------

    def predict_drawing(self) -> None:
        """Ask the model about the drawing on the canvas."""
        predictor = self.predictor
        if predictor is None or predictor.mode != "drawing":
            return
        if self.canvas.is_blank():
            self.clear_result()
            return
        _, height, width = predictor.input_shape
        sample = prepare_drawing(self.canvas.ink(), (height, width))[None]
        self._ask(sample)

    def predict_file(self, path: str | Path) -> None:
        """Ask the model about an image file (a clear message when it cannot be read)."""
        predictor = self.predictor
        if predictor is None or predictor.mode not in ("drawing", "image"):
            self._fail("This model does not take images.")
            return
        try:
            sample = load_image(path, predictor.input_shape)
        except DataError as err:
            self.drop_label.setText("Drop an image here")
            self._fail(str(err))
            return
        if predictor.mode == "image":
            self._show_file(Path(path), sample)
        self._ask(sample, Path(path).name)

    def predict_row(self) -> None:
        """Ask the model about the values in the form."""
        predictor = self.predictor
        if predictor is None or predictor.mode != "table":
            return
        try:
            sample = predictor.encode_row(self.form.values())
        except DataError as err:
            self._fail(str(err))
            return
        self._ask(sample)

    def choose_file(self) -> None:
        """Pick an image file with the system's file dialog, then predict on it."""
        patterns = " ".join(f"*{e}" for e in IMAGE_EXTENSIONS)
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", "", f"Images ({patterns})")
        if path:
            self.predict_file(path)

    def clear_result(self) -> None:
        """Forget the last answer."""
        self.last_input = None
        self.answer.setText("–")
        self.detail.setText(_PROMPTS.get(self.mode, ""))
        self.error.hide()
        self.chart.clear()
        self.preview.clear()
        self._show_parts(False)

    def _show_parts(self, answered: bool) -> None:
        """The chart and the model's view of the sample, when there is an answer to show."""
        predictor = self.predictor
        classes = predictor is not None and predictor.task == "classification"
        self.chart.setVisible(answered and classes)
        images = answered and self.mode in ("drawing", "image")
        self.preview.setVisible(images)
        self.preview_caption.setVisible(images)

    def _ask(self, sample: np.ndarray, source: str = "") -> None:
        predictor = self.predictor
        assert predictor is not None
        self.last_input = sample
        try:
            answer = predictor(sample)
        except DataError as err:
            self._fail(str(err))
            return
        except Exception as err:  # the model itself failed: say so, keep the window
            self._fail(f"The model could not predict on this sample: {err}")
            return
        self.error.hide()
        self._show_parts(True)
        if sample.ndim == 3:
            self.preview.setPixmap(image_pixmap(sample, _PREVIEW))
        if predictor.task == "regression":
            names = predictor.output_names or []
            if len(answer) == 1:
                self.answer.setText(f"{answer[0]:.4g}")
                self.detail.setText(f"Predicted {names[0] if names else 'value'}.")
            else:
                self.answer.setText(", ".join(f"{v:.3g}" for v in answer[:4]))
                pairs = [
                    f"{names[i] if i < len(names) else f'output {i + 1}'}: {v:.4g}"
                    for i, v in enumerate(answer)
                ]
                self.detail.setText("\n".join(pairs))
        else:
            names = predictor.class_names or [str(i) for i in range(len(answer))]
            if len(names) != len(answer):
                names = [str(i) for i in range(len(answer))]
            best = int(np.argmax(answer))
            self.answer.setText(names[best])
            self.detail.setText(
                f"{float(answer[best]):.0%} sure" + (f" · {source}" if source else "")
            )
            self.chart.set_probabilities(answer, names)
        self.predicted.emit(answer)

    def _show_file(self, path: Path, sample: np.ndarray) -> None:
        """The chosen file as it is, scaled to fit the drop area."""
        picture = QPixmap(str(path))
        if picture.isNull():  # a format Qt does not read: show what the model sees
            picture = image_pixmap(sample, _PREVIEW * 2)
        room = self.drop_label.contentsRect().size() - QSize(16, 16)
        self.drop_label.setPixmap(
            picture.scaled(
                room,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )

    def _fail(self, text: str) -> None:
        self.clear_result()
        self.error.setText(text)
        self.error.show()
        self.failed.emit(text)

    # -- drag and drop ----------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.mode in ("drawing", "image") and event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if self.mode not in ("drawing", "image") or not event.mimeData().hasUrls():
            event.ignore()
            return
        event.acceptProposedAction()
        if not files:
            self._fail("Only files on this computer can be dropped here.")
            return
        self.predict_file(files[0])
