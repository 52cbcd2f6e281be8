"""Metrics by their Keras names, accumulated on the device, with Keras 3's numbers.

A :class:`Metric` adds each batch to running sums that stay on the outputs' device
(``update`` is tensor operations only, no host synchronisation, and runs without autograd);
``result`` is the one place that reads a number back. Sums are float64 (float32 on Apple's
MPS, which has no float64). Metrics take probabilities, never raw scores: when the trainer
strips a final softmax or sigmoid for the loss, it applies it again before ``update``.

Labels are read as Keras reads them: class numbers (``(N,)`` or ``(N, 1)``; ``(N, T)`` for
``(N, T, C)`` outputs) when they have one axis fewer than the outputs or a last axis of size 1
while the outputs have several classes; otherwise they have the outputs' shape (one-hot rows,
0/1 answers, numbers). ``class_axis`` names the classes' axis of channels-first outputs.

What :func:`make_metric` gives, by name (Keras 3's class and defaults unless said otherwise):

- ``accuracy``: chosen from the shapes of the first batch as ``model.compile`` does in Keras 3
  (``keras/src/trainers/compile_utils.py``): ``binary_accuracy`` when the output has one unit,
  ``sparse_categorical_accuracy`` for class numbers, else ``categorical_accuracy``. Keras 3
  looks at the shapes, not the loss: multi-label outputs with ``binary_crossentropy`` get
  categorical accuracy, as in Keras.
- ``categorical_accuracy``, ``sparse_categorical_accuracy``, ``binary_accuracy`` (threshold
  0.5), ``top_k_categorical_accuracy`` and ``sparse_top_k_categorical_accuracy`` (k = 5, or
  the number of classes when there are fewer; Keras fails there), ``mean_absolute_error``,
  ``mean_squared_error``: means of per-sample values, weighted by ``sample_weight``.
- ``precision``, ``recall`` (threshold 0.5) and ``auc`` (ROC, 200 thresholds, interpolation):
  every output unit is one yes/no prediction, as in Keras. Class-number labels are turned into
  one-hot rows first (Keras would broadcast them against the outputs, which means nothing).
- ``f1_score``: one number, the macro average (mean over classes) of Keras's ``F1Score``.
  With ``categorical_crossentropy``, ``sparse_categorical_crossentropy`` or ``kl_divergence``
  the predicted class is the likeliest one (``threshold=None``); otherwise every unit above
  0.5 counts as predicted. Sequence and image outputs count each position as a sample.
- ``r2_score``: Keras's ``R2Score`` (uniform average over output columns; an output with more
  axes counts each value as a column). A column whose targets never vary scores 0, where Keras
  gives 0 or NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from core.losses import targets_like
from core.training_settings import LOSSES, METRICS, canonical_loss, canonical_metric

THRESHOLD = 0.5
TOP_K = 5
AUC_THRESHOLDS = 200
EPSILON = 1e-7  # keras.backend.epsilon()
_ARGMAX_LOSSES = ("categorical_crossentropy", "sparse_categorical_crossentropy", "kl_divergence")

_Values = Callable[[Tensor, Tensor], Tensor]


def _accumulator(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64


def _divide(a: Tensor, b: Tensor) -> Tensor:
    """``a / b``, and 0 where ``b`` is 0 (Keras's ``divide_no_nan``)."""
    return torch.where(b == 0, torch.zeros_like(a), a / b)


def _classes_last(outputs: Tensor, targets: Tensor, class_axis: int) -> tuple[Tensor, Tensor]:
    if outputs.ndim < 2 or class_axis % outputs.ndim == outputs.ndim - 1:
        return outputs, targets
    axis = class_axis % outputs.ndim
    if targets.ndim == outputs.ndim:
        targets = targets.movedim(axis, -1)
    return outputs.movedim(axis, -1), targets


def _is_sparse(outputs: Tensor, targets: Tensor) -> bool:
    """Keras's test for class-number labels (``is_binary_or_sparse_categorical``)."""
    return (
        outputs.ndim >= 2
        and outputs.shape[-1] > 1
        and (targets.ndim < outputs.ndim or targets.shape[-1] == 1)
    )


def _class_ids(outputs: Tensor, targets: Tensor) -> Tensor:
    ids = targets.squeeze(-1) if targets.ndim == outputs.ndim else targets
    if ids.shape != outputs.shape[:-1]:
        raise ValueError(
            f"The class numbers of this batch have the shape {tuple(targets.shape)} but the "
            f"model's output has the shape {tuple(outputs.shape)}."
        )
    return ids


def _one_hot(outputs: Tensor, ids: Tensor) -> Tensor:
    """Boolean one-hot rows; a class number out of range gives a row of False (no assert)."""
    return ids.long().unsqueeze(-1) == torch.arange(outputs.shape[-1], device=outputs.device)


def _dense_labels(outputs: Tensor, targets: Tensor, what: str) -> Tensor:
    """The labels as booleans in the outputs' shape (one-hot rows for class numbers)."""
    if _is_sparse(outputs, targets):
        return _one_hot(outputs, _class_ids(outputs, targets))
    return targets_like(outputs, targets, what) != 0


def _spread(weight: Tensor, like: Tensor) -> Tensor:
    """Per-sample weights ``(N,)`` broadcast over the other axes of ``like``."""
    return weight.reshape(-1, *([1] * (like.ndim - 1))).expand_as(like)


class Metric:
    """A running metric: ``reset``, ``update`` with each batch, then ``result``.

    Attributes:
        name: The canonical Keras name it was made from (``"accuracy"``).
        kind: The Keras metric that is measured: the name, except for ``accuracy``, which
            becomes ``binary_accuracy``, ``categorical_accuracy`` or
            ``sparse_categorical_accuracy`` at the first ``update``.
        class_axis: The classes' axis of the outputs (1 for channels-first images).
    """

    def __init__(self, name: str, class_axis: int = -1) -> None:
        self.name = name
        self.kind = name
        self.class_axis = class_axis
        self._sums: Tensor | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.kind!r})"

    def reset(self) -> None:
        """Forget every batch seen so far."""
        self._sums = None

    def update(self, outputs: Tensor, targets: Tensor, sample_weight: Tensor | None = None) -> None:
        """Add a batch, on the outputs' device, without waiting for it (no host sync).

        Args:
            outputs: Probabilities (or numbers, for regression), samples first.
            targets: The labels, samples first.
            sample_weight: One weight per sample ``(N,)``, or None.

        Raises:
            ValueError: When the shapes do not fit together.
        """
        with torch.no_grad():
            if outputs.dtype in (torch.float16, torch.bfloat16):
                outputs = outputs.float()  # as Keras, which keeps metrics in float32
            o, t = _classes_last(outputs.detach(), targets.detach(), self.class_axis)
            weight = None
            if sample_weight is not None:
                weight = sample_weight.detach().to(o.device).reshape(-1)
                if o.ndim == 0 or weight.shape[0] != o.shape[0]:
                    raise ValueError(
                        f"There are {weight.shape[0]} sample weights for a batch of shape "
                        f"{tuple(o.shape)}; give one weight per sample."
                    )
            sums = self._batch(o, t, weight)
            if self._sums is None:
                self._sums = sums
            else:
                self._sums.add_(sums)  # in place: one kernel, no new tensor per batch

    def result(self) -> float:
        """The metric over every batch since the last ``reset`` (0 before any batch)."""
        if self._sums is None:
            return 0.0
        return float(self._result(self._sums).item())

    def _batch(self, outputs: Tensor, targets: Tensor, weight: Tensor | None) -> Tensor:
        raise NotImplementedError

    def _result(self, sums: Tensor) -> Tensor:
        raise NotImplementedError


class MeanMetric(Metric):
    """The weighted mean of a per-sample value (Keras's ``MeanMetricWrapper``)."""

    def __init__(self, name: str, values: _Values | None, class_axis: int = -1) -> None:
        super().__init__(name, class_axis)
        self._values = values

    def _values_of(self, outputs: Tensor, targets: Tensor) -> Tensor:
        if self._values is None:
            raise NotImplementedError
        return self._values(outputs, targets)

    def _batch(self, outputs: Tensor, targets: Tensor, weight: Tensor | None) -> Tensor:
        dtype = _accumulator(outputs.device)
        values = self._values_of(outputs, targets).to(dtype)
        if values.ndim == 0:
            values = values.reshape(1)
        if values.ndim > 1:
            values = values.flatten(1).mean(dim=1)  # the mean over each sample's positions
        if weight is None:
            count = torch.full((), values.shape[0], dtype=dtype, device=values.device)
            return torch.stack((values.sum(), count))
        weight = weight.to(dtype)
        return torch.stack(((values * weight).sum(), weight.sum()))

    def _result(self, sums: Tensor) -> Tensor:
        return _divide(sums[0], sums[1])


def _categorical_matches(outputs: Tensor, targets: Tensor) -> Tensor:
    t = targets_like(outputs, targets, "categorical_accuracy")
    return t.argmax(dim=-1) == outputs.argmax(dim=-1)


def _sparse_matches(outputs: Tensor, targets: Tensor) -> Tensor:
    ids = _class_ids(outputs, targets)
    return ids.to(outputs.dtype) == outputs.argmax(dim=-1).to(outputs.dtype)


def _binary_matches(outputs: Tensor, targets: Tensor) -> Tensor:
    t = targets_like(outputs, targets, "binary_accuracy")
    return (outputs > THRESHOLD).to(t.dtype) == t


def _in_top_k(outputs: Tensor, ids: Tensor) -> Tensor:
    k = min(TOP_K, outputs.shape[-1])
    kth = outputs.topk(k, dim=-1).values[..., -1]
    target = torch.where(_one_hot(outputs, ids), outputs, -torch.inf).amax(dim=-1)
    return target >= kth


def _top_k_matches(outputs: Tensor, targets: Tensor) -> Tensor:
    t = targets_like(outputs, targets, "top_k_categorical_accuracy")
    return _in_top_k(outputs, t.argmax(dim=-1))


def _sparse_top_k_matches(outputs: Tensor, targets: Tensor) -> Tensor:
    return _in_top_k(outputs, _class_ids(outputs, targets))


def _absolute_errors(outputs: Tensor, targets: Tensor) -> Tensor:
    return (outputs - targets_like(outputs, targets, "mean_absolute_error")).abs()


def _squared_errors(outputs: Tensor, targets: Tensor) -> Tensor:
    return (outputs - targets_like(outputs, targets, "mean_squared_error")).square()


class Accuracy(MeanMetric):
    """``accuracy``: the kind Keras 3 picks from the shapes of the first batch."""

    def __init__(self, class_axis: int = -1) -> None:
        super().__init__("accuracy", None, class_axis)

    def _values_of(self, outputs: Tensor, targets: Tensor) -> Tensor:
        if self._values is None:
            if outputs.ndim and outputs.shape[-1] == 1:
                self.kind, self._values = "binary_accuracy", _binary_matches
            elif targets.ndim < outputs.ndim or (targets.ndim and targets.shape[-1] == 1):
                self.kind, self._values = "sparse_categorical_accuracy", _sparse_matches
            else:
                self.kind, self._values = "categorical_accuracy", _categorical_matches
        return self._values(outputs, targets)


class _Counts(Metric):
    """Precision or recall at 0.5: true positives against false positives or negatives."""

    def _batch(self, outputs: Tensor, targets: Tensor, weight: Tensor | None) -> Tensor:
        labels = _dense_labels(outputs, targets, self.name)
        predicted = outputs > THRESHOLD
        missed = labels & ~predicted if self.name == "recall" else ~labels & predicted
        dtype = _accumulator(outputs.device)
        if weight is None:
            hits = (labels & predicted).sum(dtype=dtype)
            return torch.stack((hits, missed.sum(dtype=dtype)))
        w = _spread(weight.to(dtype), outputs)
        return torch.stack(((w * (labels & predicted)).sum(), (w * missed).sum()))

    def _result(self, sums: Tensor) -> Tensor:
        return _divide(sums[0], sums[0] + sums[1])


class AUC(Metric):
    """Area under the ROC curve as ``keras.metrics.AUC()`` approximates it.

    Predictions fall into 200 buckets between evenly spaced thresholds; the curve through the
    thresholds' (false positive rate, recall) points is summed with the trapezoid rule.
    """

    def __init__(self, class_axis: int = -1) -> None:
        super().__init__("auc", class_axis)

    def _batch(self, outputs: Tensor, targets: Tensor, weight: Tensor | None) -> Tensor:
        dtype = _accumulator(outputs.device)
        labels = _dense_labels(outputs, targets, self.name).flatten()
        p = torch.nan_to_num(outputs.flatten(), nan=0.0).clamp(0.0, 1.0)
        bucket = (torch.ceil(p * (AUC_THRESHOLDS - 1)) - 1).clamp(min=0).long()
        if weight is None:
            w = torch.ones(labels.shape, dtype=dtype, device=labels.device)
        else:
            w = _spread(weight.to(dtype), outputs).flatten()
        sums = torch.zeros((2, AUC_THRESHOLDS), dtype=dtype, device=outputs.device)
        sums[0].index_add_(0, bucket, w * labels)
        sums[1].index_add_(0, bucket, w * ~labels)
        return sums

    def _result(self, sums: Tensor) -> Tensor:
        above = sums.flip(-1).cumsum(-1).flip(-1)  # weight of predictions above each threshold
        tp, fp = above[0], above[1]
        fn, tn = sums[0].sum() - tp, sums[1].sum() - fp
        recall, fpr = _divide(tp, tp + fn), _divide(fp, fp + tn)
        return ((fpr[:-1] - fpr[1:]) * (recall[:-1] + recall[1:]) / 2).sum()


class F1Score(Metric):
    """Keras's ``F1Score(average="macro", threshold=...)``: the mean F1 over classes."""

    def __init__(self, threshold: float | None, class_axis: int = -1) -> None:
        super().__init__("f1_score", class_axis)
        self.threshold = threshold

    def _batch(self, outputs: Tensor, targets: Tensor, weight: Tensor | None) -> Tensor:
        dtype = _accumulator(outputs.device)
        o = outputs.reshape(-1, 1) if outputs.ndim < 2 else outputs
        if _is_sparse(outputs, targets):
            labels = _one_hot(outputs, _class_ids(outputs, targets)).to(dtype)
        else:  # Keras's F1Score takes the labels' values as they are
            labels = targets_like(outputs, targets, self.name).to(dtype).reshape(o.shape)
        if self.threshold is None:  # the likeliest class (every class tied for the top)
            predicted = (o >= o.amax(dim=-1, keepdim=True)) & (o.abs() > 1e-9)
        else:
            predicted = o > self.threshold
        classes = o.shape[-1]
        labels, pred = labels.reshape(-1, classes), predicted.to(dtype).reshape(-1, classes)
        if weight is None:
            w = torch.ones((labels.shape[0], 1), dtype=dtype, device=labels.device)
        else:
            w = _spread(weight.to(dtype), o[..., 0]).reshape(-1, 1)
        hits = (pred * labels * w).sum(0)
        misses = (pred * (1 - labels) * w).sum(0)
        return torch.stack((hits, misses, ((1 - pred) * labels * w).sum(0)))

    def _result(self, sums: Tensor) -> Tensor:
        tp, fp, fn = sums[0], sums[1], sums[2]
        precision = tp / (tp + fp + EPSILON)
        recall = tp / (tp + fn + EPSILON)
        return (2 * precision * recall / (precision + recall + EPSILON)).mean()


class R2Score(Metric):
    """Keras's ``R2Score()``: 1 - residual / total sum of squares, averaged over columns."""

    def __init__(self, class_axis: int = -1) -> None:
        super().__init__("r2_score", class_axis)

    def _batch(self, outputs: Tensor, targets: Tensor, weight: Tensor | None) -> Tensor:
        dtype = _accumulator(outputs.device)
        t = targets_like(outputs, targets, self.name).to(dtype)
        o = outputs.to(dtype)
        o, t = (o.reshape(-1, 1), t.reshape(-1, 1)) if o.ndim < 2 else (o.flatten(1), t.flatten(1))
        w = torch.ones_like(t) if weight is None else _spread(weight.to(dtype), t)
        wt = w * t
        return torch.stack((wt.sum(0), (wt * t).sum(0), ((t - o).square() * w).sum(0), w.sum(0)))

    def _result(self, sums: Tensor) -> Tensor:
        total, squares, residual, count = sums[0], sums[1], sums[2], sums[3]
        spread = squares - total * (total / count)
        scores = 1 - residual / spread
        return torch.where(torch.isfinite(scores), scores, 0.0).mean()


def make_metric(name: str, loss: str, *, class_axis: int = -1) -> Metric:
    """The metric called ``name`` (a Keras name or alias) for a model trained with ``loss``.

    Args:
        name: A name from :data:`core.training_settings.METRICS` or an alias (``"acc"``).
        loss: The output's loss; it decides how ``f1_score`` picks predicted classes.
        class_axis: The classes' axis of the outputs (1 for channels-first images).

    Raises:
        ValueError: For a metric or loss name that is not known.
    """
    metric, loss_name = canonical_metric(name), canonical_loss(loss)
    if metric is None:
        raise ValueError(f"The metric {name!r} is not known; use one of: {', '.join(METRICS)}.")
    if loss_name is None:
        raise ValueError(f"The loss {loss!r} is not known; use one of: {', '.join(LOSSES)}.")
    if metric in _MEANS:
        return MeanMetric(metric, _MEANS[metric], class_axis)
    if metric in ("precision", "recall"):
        return _Counts(metric, class_axis)
    if metric == "f1_score":
        return F1Score(None if loss_name in _ARGMAX_LOSSES else THRESHOLD, class_axis)
    others: dict[str, Callable[[int], Metric]] = {"accuracy": Accuracy, "auc": AUC}
    return others.get(metric, R2Score)(class_axis)


_MEANS: dict[str, _Values] = {
    "categorical_accuracy": _categorical_matches,
    "sparse_categorical_accuracy": _sparse_matches,
    "binary_accuracy": _binary_matches,
    "top_k_categorical_accuracy": _top_k_matches,
    "sparse_top_k_categorical_accuracy": _sparse_top_k_matches,
    "mean_absolute_error": _absolute_errors,
    "mean_squared_error": _squared_errors,
}


# ---- evaluation on the host ------------------------------------------------------------------


def _ids(values: np.ndarray | Tensor | Sequence[int], what: str) -> np.ndarray:
    array = values.detach().cpu().numpy() if isinstance(values, Tensor) else np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"The {what} class numbers must be numbers.")
    if array.dtype.kind == "f" and not np.all(np.mod(array, 1) == 0):
        raise ValueError(f"The {what} class numbers must be whole numbers.")
    return array.astype(np.int64).reshape(-1)


def confusion_matrix(
    predicted_ids: np.ndarray | Tensor | Sequence[int],
    true_ids: np.ndarray | Tensor | Sequence[int],
    num_classes: int,
) -> np.ndarray:
    """How often each true class (row) was predicted as each class (column), int64.

    Raises:
        ValueError: When the two lists differ in length or hold a class number out of range.
    """
    predicted, true = _ids(predicted_ids, "predicted"), _ids(true_ids, "true")
    if predicted.shape != true.shape:
        raise ValueError(f"There are {len(predicted)} predictions for {len(true)} labels.")
    for ids in (predicted, true):
        if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
            raise ValueError(f"Class numbers must be from 0 to {num_classes - 1}.")
    cells = np.bincount(true * num_classes + predicted, minlength=num_classes * num_classes)
    return cells.astype(np.int64).reshape(num_classes, num_classes)


@dataclass(frozen=True)
class ClassScores:
    """How well one class was found: precision, recall, F1 (0 when undefined) and support."""

    name: str
    precision: float
    recall: float
    f1: float
    support: int


def per_class_report(cm: np.ndarray, class_names: Sequence[str]) -> list[ClassScores]:
    """Precision, recall, F1 and number of true samples of each class of a confusion matrix.

    Raises:
        ValueError: When the matrix is not square or the names do not match its size.
    """
    matrix = np.asarray(cm, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError("A confusion matrix must be square.")
    if len(class_names) != matrix.shape[0]:
        raise ValueError(f"There are {len(class_names)} names for {matrix.shape[0]} classes.")
    report = []
    for i, name in enumerate(class_names):
        hits, predicted, actual = matrix[i, i], matrix[:, i].sum(), matrix[i].sum()
        precision = float(hits / predicted) if predicted else 0.0
        recall = float(hits / actual) if actual else 0.0
        total = precision + recall
        f1 = 2 * precision * recall / total if total else 0.0
        report.append(ClassScores(str(name), precision, recall, f1, int(actual)))
    return report
