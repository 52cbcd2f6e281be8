"""How well a trained model does on test data, and asking it about one new sample.

:func:`evaluate_model` runs a :class:`~core.training.Trainer` over a dataset and gathers what
the evaluation page shows: the Keras metrics, each sample's prediction, and, for
classification, the confusion matrix and per-class scores; for regression, the error and R²
of each output. :class:`Predictor` is what the try-it panel asks: a CPU copy of the model and
what its input means; :func:`prepare_drawing` and :func:`load_image` turn a drawing or an image
file into an input the model takes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn

from core.compile import model_info
from core.data.dataset import DataError, Dataset, Task
from core.data.table_pipeline import TablePipeline
from core.metrics import ClassScores, confusion_matrix, per_class_report
from core.training import EVAL_BATCH, Trainer

#: Maps a batch of inputs ``(N, *input_shape)`` to the model's outputs ``(N, ...)``.
PredictFn = Callable[[np.ndarray], np.ndarray]
Mode = Literal["drawing", "image", "table", "unsupported"]

#: The largest square grey input that gets a drawing canvas (8×8 digits, 28×28 MNIST).
DRAWING_MAX = 32


def as_probabilities(outputs: np.ndarray) -> np.ndarray:
    """Class probabilities ``(N, C)`` from a classifier's outputs.

    One sigmoid unit ``(N, 1)`` becomes two columns (no, yes). Outputs outside [0, 1] are
    scores without their final activation: softmax (or sigmoid, for one unit) is applied.
    """
    out = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
    finite = out[np.isfinite(out)]
    raw = finite.size > 0 and (finite.min() < -1e-6 or finite.max() > 1 + 1e-6)
    if out.shape[1] == 1:
        yes = 1 / (1 + np.exp(-out[:, 0])) if raw else out[:, 0]
        return np.stack([1 - yes, yes], axis=1)
    if raw:
        shifted = np.exp(out - out.max(axis=1, keepdims=True))
        out = shifted / shifted.sum(axis=1, keepdims=True)
    return out


def predicted_classes(probabilities: np.ndarray) -> np.ndarray:
    """The likeliest class of each row, int64."""
    ids: np.ndarray = np.asarray(probabilities).argmax(axis=1).astype(np.int64)
    return ids


@dataclass(frozen=True)
class RegressionScores:
    """How close one predicted number is to its target: mean absolute error and R²."""

    name: str
    mae: float
    r2: float


@dataclass
class Evaluation:
    """A model's results on one dataset (see :func:`evaluate_model`).

    Attributes:
        task: ``classification`` or ``regression``.
        metrics: The loss and every metric by Keras name (``Trainer.evaluate``).
        targets: The true class ids ``(N,)``, or target numbers ``(N, k)``.
        predictions: The predicted class ids ``(N,)``, or predicted numbers ``(N, k)``.
        probabilities: Class probabilities ``(N, C)`` (classification), else None.
        class_names: A name per class (classification), else empty.
        confusion: True class (row) by predicted class (column) counts, or None.
        per_class: Precision, recall, F1 and support of each class.
        regression: Mean absolute error and R² of each output (regression).
    """

    task: Task
    metrics: dict[str, float]
    targets: np.ndarray
    predictions: np.ndarray
    probabilities: np.ndarray | None = None
    class_names: list[str] = field(default_factory=list)
    confusion: np.ndarray | None = None
    per_class: list[ClassScores] = field(default_factory=list)
    regression: list[RegressionScores] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.targets)

    def misclassified(self, true_class: int, predicted_class: int) -> np.ndarray:
        """The indices of the samples of ``true_class`` predicted as ``predicted_class``
        (the samples of one confusion-matrix cell), most confident first."""
        chosen = np.flatnonzero(
            (self.targets == true_class) & (self.predictions == predicted_class)
        )
        return self._by_confidence(chosen)

    def wrong(self) -> np.ndarray:
        """The indices of every wrongly classified sample, most confident first; for
        regression, every sample ordered by absolute error, largest first."""
        if self.task == "regression":
            return np.argsort(-self.errors(), kind="stable")
        return self._by_confidence(np.flatnonzero(self.targets != self.predictions))

    def confidence(self) -> np.ndarray:
        """Each sample's probability of its predicted class (classification)."""
        if self.probabilities is None:
            raise ValueError("Confidence is only defined for classification.")
        chosen: np.ndarray = self.probabilities[np.arange(len(self)), self.predictions]
        return chosen

    def errors(self) -> np.ndarray:
        """Each sample's mean absolute error over the outputs (regression)."""
        if self.task != "regression":
            raise ValueError("Errors are only defined for regression.")
        errors: np.ndarray = np.abs(self.predictions - self.targets).mean(axis=1)
        return errors

    @property
    def accuracy(self) -> float:
        """The share of samples classified right (0 for regression or no samples)."""
        if self.task == "regression" or not len(self):
            return 0.0
        return float((self.targets == self.predictions).mean())

    def _by_confidence(self, indices: np.ndarray) -> np.ndarray:
        if self.probabilities is None or not len(indices):
            return indices
        order = np.argsort(-self.confidence()[indices], kind="stable")
        return indices[order]


def regression_scores(
    predictions: np.ndarray, targets: np.ndarray, names: Sequence[str] | None = None
) -> list[RegressionScores]:
    """Mean absolute error and R² per output column (R² is 0 where the targets never vary)."""
    pred = np.asarray(predictions, np.float64).reshape(len(predictions), -1)
    true = np.asarray(targets, np.float64).reshape(len(targets), -1)
    if pred.shape != true.shape:
        raise ValueError(f"There are predictions of shape {pred.shape} for targets {true.shape}.")
    k = pred.shape[1]
    if names is not None and len(names) == k:
        labels = [str(n) for n in names]
    else:
        labels = ["value"] if k == 1 else [f"output {i + 1}" for i in range(k)]
    out = []
    for j in range(k):
        residual = float(((true[:, j] - pred[:, j]) ** 2).sum())
        spread = float(((true[:, j] - true[:, j].mean()) ** 2).sum()) if len(true) else 0.0
        mae = float(np.abs(true[:, j] - pred[:, j]).mean()) if len(true) else 0.0
        out.append(RegressionScores(labels[j], mae, 1 - residual / spread if spread else 0.0))
    return out


def evaluate_model(
    trainer: Trainer,
    data: Dataset,
    batch_size: int = EVAL_BATCH,
    *,
    output_names: Sequence[str] | None = None,
) -> Evaluation:
    """Evaluate ``trainer``'s model on ``data``: metrics, predictions, confusion matrix.

    Args:
        trainer: The trained model and its settings.
        data: The samples to evaluate on (the test split).
        batch_size: Samples per prediction batch.
        output_names: Names of the predicted numbers (regression), for the scores.

    Raises:
        TrainingError: The data does not fit the model (the message says why).
        ValueError: The model's outputs do not match the data's classes.
    """
    metrics = trainer.evaluate(data)
    outputs = trainer.predict(data.x, batch_size=batch_size)
    if data.task == "regression":
        predictions = outputs.reshape(len(outputs), -1).astype(np.float32)
        wanted = np.asarray(data.y, np.float32).reshape(len(data.y), -1)
        scores = regression_scores(predictions, wanted, output_names)
        return Evaluation("regression", metrics, wanted, predictions, regression=scores)
    if outputs.ndim != 2:
        raise ValueError(
            f"The model gives outputs of shape {tuple(outputs.shape[1:])} per sample; the "
            "evaluation page shows models that give one class per sample."
        )
    probabilities = as_probabilities(outputs).astype(np.float32)
    y = np.asarray(data.y)
    ids = y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(-1)
    targets: np.ndarray = np.asarray(ids, dtype=np.int64)
    k = max(probabilities.shape[1], data.num_classes)
    names = list(data.class_names or [str(i) for i in range(k)])
    if probabilities.shape[1] != len(names):
        raise ValueError(
            f"The model predicts {probabilities.shape[1]} classes but the data has "
            f"{len(names)}; set the last layer's units to {len(names)}."
        )
    predictions = predicted_classes(probabilities)
    cm = confusion_matrix(predictions, targets, len(names))
    return Evaluation(
        "classification",
        metrics,
        targets,
        predictions,
        probabilities,
        names,
        cm,
        per_class_report(cm, names),
    )


# -- asking the model about one sample --------------------------------------------------------


def cpu_predict_fn(module: nn.Module) -> PredictFn:
    """A prediction function on a CPU copy of ``module`` in evaluation mode, without autograd.

    The copy is a snapshot: take it when training is not running (training swaps the final
    activation out), and take a new one after more training.
    """
    snapshot = copy.deepcopy(module).cpu().eval()

    def predict(batch: np.ndarray) -> np.ndarray:
        tensor = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
        with torch.no_grad():
            out = snapshot(tensor)
        return np.asarray(out.float().numpy())

    return predict


@dataclass(frozen=True)
class Predictor:
    """What the try-it panel needs to ask a model about one sample.

    Attributes:
        predict: Maps a batch ``(N, *input_shape)`` to outputs (see :func:`cpu_predict_fn`).
        input_shape: One sample's shape, in the studio's layout (``(1, 28, 28)``, ``(4,)``).
        task: ``classification`` or ``regression``.
        class_names: A name per class (classification).
        feature_names: A name per input number (tables without a pipeline).
        pipeline: Encodes raw table rows (numbers and category names) as the model's input.
        output_names: Names of the predicted numbers (regression).
    """

    predict: PredictFn
    input_shape: tuple[int, ...]
    task: Task
    class_names: list[str] | None = None
    feature_names: list[str] | None = None
    pipeline: TablePipeline | None = None
    output_names: list[str] | None = None

    @classmethod
    def from_trainer(
        cls,
        trainer: Trainer,
        data: Dataset,
        pipeline: TablePipeline | None = None,
        output_names: Sequence[str] | None = None,
    ) -> Predictor:
        """A predictor on a CPU snapshot of ``trainer``'s model, described by ``data``."""
        shapes = model_info(trainer.module).input_shapes or tuple(data.input_shapes)
        if len(shapes) != 1:
            raise DataError("Try it works with models that have one input.")
        if output_names is None and pipeline is not None and data.task == "regression":
            output_names = [pipeline.target]
        return cls(
            cpu_predict_fn(trainer.module),
            tuple(int(d) for d in shapes[0]),
            data.task,
            list(data.class_names or []) or None,
            list(data.feature_names or []) or None,
            pipeline,
            list(output_names) if output_names else None,
        )

    @property
    def mode(self) -> Mode:
        """How a sample is given: drawn, an image file, a table row, or not supported."""
        shape = self.input_shape
        if len(shape) == 1:
            return "table"
        if len(shape) == 3 and shape[0] == 1 and shape[1] == shape[2] <= DRAWING_MAX:
            return "drawing"
        if len(shape) == 3 and shape[0] in (1, 3):
            return "image"
        return "unsupported"

    def __call__(self, sample: np.ndarray) -> np.ndarray:
        """Class probabilities ``(C,)`` or predicted numbers ``(k,)`` for one sample.

        Raises:
            DataError: When the sample does not have the model's input shape.
        """
        x = np.asarray(sample, dtype=np.float32)
        if tuple(x.shape) != self.input_shape:
            want = "×".join(map(str, self.input_shape))
            raise DataError(f"The model takes {want} values; this sample is {x.shape}.")
        out = np.asarray(self.predict(x[None]))
        if self.task == "regression":
            return out.reshape(-1).astype(np.float64)
        probabilities: np.ndarray = as_probabilities(out.reshape(1, -1))[0]
        return probabilities

    def encode_row(self, values: Mapping[str, object]) -> np.ndarray:
        """One table row as the model's input: raw values through the pipeline, or the
        (standardised) feature values by feature name.

        Raises:
            DataError: A value that is not a number or not a known category, in words.
        """
        if self.pipeline is not None:
            row: np.ndarray = self.pipeline.transform([values])[0]
            return row
        names = self.feature_names or [f"feature {i + 1}" for i in range(self.input_shape[0])]
        numbers = np.zeros(len(names), np.float32)
        for i, name in enumerate(names):
            text = str(values.get(name, "")).strip()
            try:
                numbers[i] = float(text)
            except ValueError:
                raise DataError(f"{name}: '{text}' is not a number.") from None
            if not np.isfinite(numbers[i]):
                raise DataError(f"{name}: '{text}' is not a finite number.")
        return numbers


def prepare_drawing(ink: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A drawing (white on black, ``(h, w)`` in [0, 1]) as a ``size`` grey image, float32.

    The ink is cropped, scaled with antialiasing and centred as the training digits are: for
    MNIST-sized inputs (16 pixels and more), into a box of 20/28 of the size, its centre of
    mass in the middle; for small ones like the 8×8 digits, to the full height and three
    quarters of the width, centred. The brightest pixel becomes 1.
    """
    from PIL import Image

    height, width = size
    out = np.zeros((height, width), np.float32)
    values = np.clip(np.nan_to_num(np.asarray(ink, np.float64)), 0.0, 1.0)
    rows, cols = np.flatnonzero(values.max(1) > 0.1), np.flatnonzero(values.max(0) > 0.1)
    if not len(rows) or not len(cols):
        return out
    crop = values[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    small = min(height, width) < 16
    box_h, box_w = (height, width * 0.75) if small else (height * 20 / 28, width * 20 / 28)
    scale = min(box_h / crop.shape[0], box_w / crop.shape[1])
    new_h = max(1, min(height, round(crop.shape[0] * scale)))
    new_w = max(1, min(width, round(crop.shape[1] * scale)))
    image = Image.fromarray((crop * 255).round().astype(np.uint8))
    shrunk = np.asarray(image.resize((new_w, new_h), Image.Resampling.LANCZOS), np.float32) / 255
    shrunk = np.clip(shrunk, 0.0, 1.0)
    top, left = (height - new_h) / 2, (width - new_w) / 2
    if not small and shrunk.sum() > 0:  # centre of mass to the middle, as MNIST
        ys, xs = np.indices(shrunk.shape)
        total = shrunk.sum()
        top = (height - 1) / 2 - (ys * shrunk).sum() / total
        left = (width - 1) / 2 - (xs * shrunk).sum() / total
    top_i = int(np.clip(round(top), 0, height - new_h))
    left_i = int(np.clip(round(left), 0, width - new_w))
    out[top_i : top_i + new_h, left_i : left_i + new_w] = shrunk
    peak = float(out.max())
    return out / peak if peak > 0 else out


def load_image(path: str | Path, shape: tuple[int, ...]) -> np.ndarray:
    """An image file as one input of ``shape`` ``(C, H, W)``, float32 in [0, 1], decoded,
    converted and resized as the image-folder loader does.

    Raises:
        DataError: The file is missing or not an image, or the shape is not an image's.
    """
    from core.data.images import _decode

    if len(shape) != 3 or shape[0] not in (1, 3):
        raise DataError("This model does not take images (1 or 3 channels).")
    name = Path(path).name
    if not Path(path).is_file():
        raise DataError(f"{name} is not a file that can be opened.")
    try:
        array = _decode(
            path, (int(shape[1]), int(shape[2])), "grayscale" if shape[0] == 1 else "rgb"
        )
    except Exception:  # Pillow raises many kinds; each means "not a usable image"
        raise DataError(
            f"{name} could not be read as an image: it may be damaged, or not a picture. "
            "Use a PNG, JPEG, BMP or GIF file."
        ) from None
    return np.ascontiguousarray(array.transpose(2, 0, 1).astype(np.float32) / 255)
