"""The metrics against Keras 3 metric objects fed the same batches, and the host-side reports."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch

from core.metrics import (
    ClassScores,
    Metric,
    confusion_matrix,
    make_metric,
    per_class_report,
)
from core.training_settings import METRICS

os.environ.setdefault("KERAS_BACKEND", "torch")

BATCHES = (5, 8, 1, 13)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


Batch = tuple[np.ndarray, np.ndarray, np.ndarray]  # outputs, targets, sample weights


def batches(kind: str, seed: int = 0) -> Iterator[Batch]:
    """A few batches of float32 outputs and targets of one kind, with sample weights."""
    rng = np.random.default_rng(seed)
    for n in BATCHES:
        weight = rng.uniform(0, 2, n).astype(np.float32)
        if kind in ("categorical", "sparse", "sparse_column"):
            out = softmax(rng.normal(scale=2, size=(n, 12)))
            ids = rng.integers(0, 12, n)
            # make the model right about half of the time
            ids = np.where(rng.uniform(size=n) < 0.5, out.argmax(-1), ids)
            y = {"categorical": np.eye(12)[ids], "sparse": ids, "sparse_column": ids[:, None]}[kind]
        elif kind in ("sequence", "sequence_sparse"):
            out = softmax(rng.normal(scale=2, size=(n, 4, 6)))
            ids = np.where(
                rng.uniform(size=(n, 4)) < 0.5, out.argmax(-1), rng.integers(0, 6, (n, 4))
            )
            y = ids if kind == "sequence_sparse" else np.eye(6)[ids]
        elif kind in ("binary", "binary_flat"):
            out = sigmoid(rng.normal(scale=2, size=(n, 1)))
            y = (rng.uniform(size=(n, 1)) < out).astype(np.float32)
            y = y[:, 0] if kind == "binary_flat" else y
        elif kind == "multilabel":
            out = sigmoid(rng.normal(scale=2, size=(n, 3)))
            y = (rng.uniform(size=(n, 3)) < out).astype(np.float32)
        else:  # regression
            shape = {"regression": (n, 3), "regression_flat": (n, 1), "regression_seq": (n, 2, 3)}
            y = rng.normal(size=shape[kind])
            out = y + rng.normal(scale=0.5, size=y.shape)
            y = y[:, 0] if kind == "regression_flat" else y
        yield out.astype(np.float32), np.asarray(y), weight


def keras_weight(weight: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Per-sample weights in the shape Keras broadcasts against sequence outputs."""
    return weight.reshape(-1, *([1] * (outputs.ndim - 2))) if outputs.ndim > 2 else weight


def one_hot_for_keras(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Class numbers as one-hot rows: what our confusion-based metrics do before Keras's maths."""
    if outputs.shape[-1] > 1 and (targets.ndim < outputs.ndim or targets.shape[-1] == 1):
        ids = targets.reshape(outputs.shape[:-1])
        return np.eye(outputs.shape[-1], dtype=np.float32)[ids]
    return targets


def flatten_for_keras(outputs: np.ndarray, targets: np.ndarray, weight: np.ndarray) -> Batch:
    """Keras's F1Score takes (N, C) only: every position of a sequence is one sample."""
    targets = one_hot_for_keras(outputs, targets)
    positions = int(np.prod(outputs.shape[1:-1]))
    return (
        outputs.reshape(-1, outputs.shape[-1]),
        targets.reshape(-1, outputs.shape[-1]),
        np.repeat(weight, positions),
    )


def flatten_columns(outputs: np.ndarray, targets: np.ndarray, weight: np.ndarray) -> Batch:
    """Keras's R2Score takes (N, K) only: every value of a sample is one column."""
    return outputs.reshape(len(outputs), -1), targets.reshape(len(outputs), -1), weight


Prepare = Callable[[np.ndarray, np.ndarray, np.ndarray], Batch]


def as_is(outputs: np.ndarray, targets: np.ndarray, weight: np.ndarray) -> Batch:
    return outputs, targets, keras_weight(weight, outputs)


def one_hot_prep(outputs: np.ndarray, targets: np.ndarray, weight: np.ndarray) -> Batch:
    return outputs, one_hot_for_keras(outputs, targets), keras_weight(weight, outputs)


# metric, loss, the Keras object, how Keras is fed, the kinds of data, tolerance
CLASSES = ("categorical", "sparse", "sparse_column", "sequence", "sequence_sparse")
YES_NO = ("binary", "binary_flat", "multilabel")
REGRESSION = ("regression", "regression_flat", "regression_seq")
SPECS: list[tuple[str, str, Callable[[Any], Any], Prepare, tuple[str, ...], float]] = [
    ("categorical_accuracy", "categorical_crossentropy", lambda k: k.metrics.CategoricalAccuracy(),
     as_is, ("categorical", "sequence", "multilabel"), 1e-6),
    ("sparse_categorical_accuracy", "sparse_categorical_crossentropy",
     lambda k: k.metrics.SparseCategoricalAccuracy(), as_is,
     ("sparse", "sparse_column", "sequence_sparse"), 1e-6),
    ("binary_accuracy", "binary_crossentropy", lambda k: k.metrics.BinaryAccuracy(), as_is,
     YES_NO, 1e-6),
    ("top_k_categorical_accuracy", "categorical_crossentropy",
     lambda k: k.metrics.TopKCategoricalAccuracy(), as_is, ("categorical", "sequence"), 1e-6),
    ("sparse_top_k_categorical_accuracy", "sparse_categorical_crossentropy",
     lambda k: k.metrics.SparseTopKCategoricalAccuracy(), as_is,
     ("sparse", "sparse_column", "sequence_sparse"), 1e-6),
    ("precision", "binary_crossentropy", lambda k: k.metrics.Precision(), one_hot_prep,
     CLASSES + YES_NO, 1e-6),
    ("recall", "binary_crossentropy", lambda k: k.metrics.Recall(), one_hot_prep,
     CLASSES + YES_NO, 1e-6),
    ("auc", "binary_crossentropy", lambda k: k.metrics.AUC(), one_hot_prep,
     CLASSES + YES_NO, 1e-3),
    ("f1_score", "categorical_crossentropy",
     lambda k: k.metrics.F1Score(average="macro", dtype="float64"), flatten_for_keras,
     CLASSES, 1e-6),
    ("f1_score", "binary_crossentropy",
     lambda k: k.metrics.F1Score(average="macro", threshold=0.5, dtype="float64"),
     flatten_for_keras, YES_NO[:1] + YES_NO[2:] + ("categorical",), 1e-6),
    ("mean_absolute_error", "mean_squared_error", lambda k: k.metrics.MeanAbsoluteError(),
     as_is, REGRESSION, 1e-6),
    ("mean_squared_error", "mean_squared_error", lambda k: k.metrics.MeanSquaredError(),
     as_is, REGRESSION, 1e-6),
    ("r2_score", "mean_squared_error", lambda k: k.metrics.R2Score(), flatten_columns,
     REGRESSION, 1e-6),
]  # fmt: skip
CASES = [
    pytest.param(name, loss, make, prep, kind, tol, id=f"{name}-{loss[:6]}-{kind}")
    for name, loss, make, prep, kinds, tol in SPECS
    for kind in kinds
]


def run_both(keras: Any, metric: Metric, reference: Any, prep: Prepare, kind: str, weighted: bool):
    metric.reset()
    reference.reset_state()
    for out, y, w in batches(kind, seed=len(kind)):
        metric.update(torch.tensor(out), torch.tensor(y), torch.tensor(w) if weighted else None)
        k_out, k_y, k_w = prep(out, y, w)
        reference.update_state(k_y, k_out, sample_weight=k_w if weighted else None)
    return metric.result(), float(reference.result())


@pytest.mark.parametrize(("name", "loss", "make", "prep", "kind", "tol"), CASES)
def test_metrics_equal_keras(
    keras: Any, name: str, loss: str, make: Any, prep: Prepare, kind: str, tol: float
) -> None:
    metric, reference = make_metric(name, loss), make(keras)
    for weighted in (False, True):
        ours, theirs = run_both(keras, metric, reference, prep, kind, weighted)
        assert abs(ours - theirs) <= tol, (weighted, ours, theirs)
    assert 0 < abs(ours) < 1 or name.startswith("mean")  # the data is not trivial


ACCURACY_KINDS = CLASSES + YES_NO + ("regression", "regression_flat")


@pytest.mark.parametrize("kind", ACCURACY_KINDS)
def test_accuracy_is_chosen_as_keras_chooses(keras: Any, kind: str) -> None:
    from keras.src.trainers.compile_utils import get_metric

    out, y, w = next(batches(kind))
    chosen = get_metric(
        "accuracy", keras.ops.convert_to_tensor(y), keras.ops.convert_to_tensor(out)
    )
    expected = {
        "BinaryAccuracy": "binary_accuracy",
        "SparseCategoricalAccuracy": "sparse_categorical_accuracy",
        "CategoricalAccuracy": "categorical_accuracy",
    }[type(chosen).__name__]
    for loss in ("categorical_crossentropy", "binary_crossentropy", "mean_squared_error"):
        metric = make_metric("acc", loss)
        assert metric.name == "accuracy" and metric.kind == "accuracy"
        for out, y, w in batches(kind):
            metric.update(torch.tensor(out), torch.tensor(y), torch.tensor(w))
            chosen.update_state(y, out, sample_weight=keras_weight(w, out))
        assert metric.kind == expected
        assert abs(metric.result() - float(chosen.result())) < 1e-6
        chosen.reset_state()


@pytest.mark.parametrize("name", list(METRICS))
def test_channels_first_matches_channels_last(name: str) -> None:
    rng = np.random.default_rng(7)
    probs = softmax(rng.normal(scale=2, size=(3, 4, 5, 6)), axis=1)  # (N, C, H, W)
    ids = rng.integers(0, 4, size=(3, 5, 6))
    regression = name in ("mean_absolute_error", "mean_squared_error", "r2_score")
    sparse = name.startswith("sparse") or name in ("accuracy", "f1_score")
    if regression:
        first, last = torch.tensor(probs), torch.tensor(probs).movedim(1, -1)
        y_first, y_last = first + 0.1 * torch.tensor(rng.normal(size=first.shape)), None
        y_last = y_first.movedim(1, -1)
    elif sparse:
        first, last = torch.tensor(probs), torch.tensor(probs).movedim(1, -1)
        y_first = y_last = torch.tensor(ids)
    else:
        first, last = torch.tensor(probs), torch.tensor(probs).movedim(1, -1)
        y_last = torch.eye(4, dtype=torch.float64)[torch.tensor(ids)]
        y_first = y_last.movedim(-1, 1)
    loss = "sparse_categorical_crossentropy"
    a, b = make_metric(name, loss, class_axis=1), make_metric(name, loss)
    weight = torch.tensor([0.5, 1.0, 2.0])
    a.update(first, y_first, weight)
    b.update(last, y_last, weight)
    assert a.result() == pytest.approx(b.result(), abs=1e-9)


@pytest.mark.parametrize("name", list(METRICS))
def test_update_never_reads_back(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    kind = {"mean_absolute_error": "regression", "mean_squared_error": "regression"}
    kind |= {"r2_score": "regression", "sparse_categorical_accuracy": "sparse"}
    kind |= {"sparse_top_k_categorical_accuracy": "sparse_column"}
    data = [tuple(map(torch.tensor, b)) for b in batches(kind.get(name, "categorical"))]
    metric = make_metric(name, "categorical_crossentropy")

    def refuse(*args: object, **kwargs: object) -> Any:
        raise AssertionError("update() synchronised with the host")

    with monkeypatch.context() as patch:
        for method in ("item", "tolist", "numpy", "cpu", "__bool__", "__float__", "__int__"):
            patch.setattr(torch.Tensor, method, refuse)
        for out, y, w in data:
            assert metric.update(out, y, w) is None
            assert metric.update(out.requires_grad_(), y) is None
    assert np.isfinite(metric.result())
    metric.reset()
    assert metric.result() == 0.0


def test_names_and_errors() -> None:
    assert make_metric("mae", "mse").name == "mean_absolute_error"
    assert repr(make_metric("AUC", "bce")) == "AUC('auc')"
    with pytest.raises(ValueError, match="metric"):
        make_metric("iou", "mse")
    with pytest.raises(ValueError, match="loss"):
        make_metric("accuracy", "hinge")
    metric = make_metric("precision", "bce")
    with pytest.raises(ValueError, match="weight"):
        metric.update(torch.rand(4, 1), torch.ones(4, 1), torch.ones(3))
    with pytest.raises(ValueError, match="shape"):
        make_metric("binary_accuracy", "bce").update(torch.rand(4, 2), torch.ones(4, 3))


def test_small_cases() -> None:
    top = make_metric("sparse_top_k_categorical_accuracy", "sparse_categorical_crossentropy")
    top.update(torch.tensor([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]]), torch.tensor([0, 9]))
    assert top.result() == 0.5  # 3 classes < k = 5: always in the top; 9 is no class at all
    r2 = make_metric("r2_score", "mse")
    r2.update(torch.tensor([[1.0], [1.0]]), torch.tensor([[1.0], [1.0]]))
    assert r2.result() == 0.0  # targets that never vary
    acc = make_metric("binary_accuracy", "bce")
    acc.update(torch.zeros(0, 1), torch.zeros(0, 1))
    assert acc.result() == 0.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", list(METRICS))
def test_cuda_equals_cpu(name: str) -> None:
    kind = (
        "regression"
        if name in ("mean_absolute_error", "mean_squared_error", "r2_score")
        else ("sparse" if name.startswith("sparse") else "categorical")
    )
    on_cpu, on_gpu = make_metric(name, "categorical_crossentropy"), make_metric(name, "cce")
    for out, y, w in batches(kind):
        on_cpu.update(torch.tensor(out), torch.tensor(y), torch.tensor(w))
        tensors = [torch.tensor(a, device="cuda") for a in (out, y, w)]
        on_gpu.update(*tensors)
    assert on_gpu.result() == pytest.approx(on_cpu.result(), abs=1e-6)


# ---- host-side reports ------------------------------------------------------------------------


def test_confusion_matrix_and_report() -> None:
    from sklearn.metrics import confusion_matrix as sk_matrix
    from sklearn.metrics import precision_recall_fscore_support

    rng = np.random.default_rng(11)
    true = rng.integers(0, 4, 200)
    predicted = np.where(rng.uniform(size=200) < 0.6, true, rng.integers(0, 3, 200))
    cm = confusion_matrix(torch.tensor(predicted), true, 4)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, sk_matrix(true, predicted, labels=range(4)))
    report = per_class_report(cm, ["a", "b", "c", "d"])
    p, r, f, s = precision_recall_fscore_support(true, predicted, labels=range(4), zero_division=0)
    for i, scores in enumerate(report):
        assert isinstance(scores, ClassScores) and scores.name == "abcd"[i]
        assert scores.precision == pytest.approx(p[i])
        assert scores.recall == pytest.approx(r[i])
        assert scores.f1 == pytest.approx(f[i])
        assert scores.support == s[i]
    empty = per_class_report(np.zeros((2, 2), int), ["x", "y"])
    assert empty[0] == ClassScores("x", 0.0, 0.0, 0.0, 0)
    with pytest.raises(ValueError, match="0 to 3"):
        confusion_matrix([4], [0], 4)
    with pytest.raises(ValueError, match="predictions"):
        confusion_matrix([1, 2], [0], 4)
    with pytest.raises(ValueError, match="names"):
        per_class_report(cm, ["a"])
