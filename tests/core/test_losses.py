"""The losses against Keras 3 (torch backend), their logits path, and the label checks."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
import torch

from core.losses import EPSILON, Loss, check_targets, make_loss
from core.training_settings import LOSSES

os.environ.setdefault("KERAS_BACKEND", "torch")

KERAS_NAMES = {
    "categorical_crossentropy": "CategoricalCrossentropy",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "binary_crossentropy": "BinaryCrossentropy",
    "mean_squared_error": "MeanSquaredError",
    "mean_absolute_error": "MeanAbsoluteError",
    "huber": "Huber",
    "kl_divergence": "KLDivergence",
}
SOFTMAX_LOSSES = ("categorical_crossentropy", "sparse_categorical_crossentropy", "kl_divergence")


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def make_case(loss: str, shape: tuple[int, ...], variant: str, seed: int) -> tuple[Any, Any]:
    """Outputs (probabilities or numbers) and targets for one loss, float64."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=shape)
    classes = shape[-1]
    if loss == "categorical_crossentropy":
        if variant == "soft":
            return softmax(logits), softmax(rng.normal(size=shape))
        return softmax(logits), np.eye(classes)[rng.integers(0, classes, shape[:-1])]
    if loss == "sparse_categorical_crossentropy":
        ids = rng.integers(0, classes, shape[:-1])
        return softmax(logits), (ids[:, None] if variant == "column" else ids)
    if loss == "kl_divergence":
        return softmax(logits), softmax(rng.normal(size=shape))
    if loss == "binary_crossentropy":
        targets = rng.integers(0, 2, shape).astype(np.float64)
        if variant == "soft":
            targets = rng.uniform(size=shape)
        return sigmoid(logits), (targets[..., 0] if variant == "flat" else targets)
    targets = rng.normal(scale=2.0, size=shape)
    return logits, (targets[..., 0] if variant == "flat" else targets)


CASES = [
    (loss, shape, variant)
    for loss in LOSSES
    for shape, variant in [
        ((1, 3), ""),
        ((7, 4), ""),
        ((32, 10), ""),
        ((5, 6, 4), ""),
        ((7, 4), "soft"),
        ((7, 4), "column"),
        ((9, 1), "flat"),
        ((9, 1), ""),
    ]
    if not (variant == "soft" and loss not in ("categorical_crossentropy", "binary_crossentropy"))
    if not (variant == "column" and loss != "sparse_categorical_crossentropy")
    if not (shape[-1] == 1 and loss in SOFTMAX_LOSSES)
]


def keras_loss(keras: Any, loss: str, outputs: Any, targets: Any, weight: Any = None) -> float:
    reference = getattr(keras.losses, KERAS_NAMES[loss])(dtype="float64")
    if weight is not None and outputs.ndim > 2:
        weight = weight.reshape(-1, *([1] * (outputs.ndim - 2)))  # Keras's own broadcasting
    return float(reference(targets, outputs, sample_weight=weight))


def close(a: float, b: float, tol: float = 1e-6) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(b))


@pytest.mark.parametrize(("loss", "shape", "variant"), CASES)
def test_losses_equal_keras(keras: Any, loss: str, shape: tuple[int, ...], variant: str) -> None:
    outputs, targets = make_case(loss, shape, variant, seed=sum(map(ord, loss)) + shape[0])
    weight = np.random.default_rng(1).uniform(0, 3, size=shape[0])
    ours = make_loss(loss)
    plain = float(ours(torch.tensor(outputs), torch.tensor(targets)))
    assert close(plain, keras_loss(keras, loss, outputs, targets))
    weighted = float(
        ours(torch.tensor(outputs), torch.tensor(targets), sample_weight=torch.tensor(weight))
    )
    assert close(weighted, keras_loss(keras, loss, outputs, targets, weight))
    # float32, as in training: the same numbers within float32 precision
    single = ours(torch.tensor(outputs, dtype=torch.float32), torch.tensor(targets))
    assert single.dtype == torch.float32 and close(float(single), plain, 1e-5)


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "sparse_categorical_crossentropy"])
def test_channels_first_class_axis(keras: Any, loss: str) -> None:
    rng = np.random.default_rng(3)
    probs = softmax(rng.normal(size=(4, 5, 3, 2)), axis=1)  # (N, C, H, W)
    ids = rng.integers(0, 5, size=(4, 3, 2))
    targets = ids if loss.startswith("sparse") else np.moveaxis(np.eye(5)[ids], -1, 1)
    ours = float(make_loss(loss)(torch.tensor(probs), torch.tensor(targets), class_axis=1))
    last = np.moveaxis(targets, 1, -1) if targets.ndim == 4 else targets
    assert close(ours, keras_loss(keras, loss, np.moveaxis(probs, 1, -1), last))
    logits = float(
        make_loss(loss)(
            torch.tensor(np.log(probs)), torch.tensor(targets), from_logits=True, class_axis=1
        )
    )
    assert close(logits, ours, 1e-5)


LOGIT_CASES = [
    (loss, shape)
    for loss in ("binary_crossentropy", *SOFTMAX_LOSSES)
    for shape in [(8, 5), (3, 4, 6), (6, 1)]
    if shape[-1] > 1 or loss == "binary_crossentropy"
]


@pytest.mark.parametrize(("loss", "shape"), LOGIT_CASES)
def test_logits_equal_probabilities(keras: Any, loss: str, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(5)
    logits = rng.normal(scale=2.0, size=shape)
    probs = sigmoid(logits) if loss == "binary_crossentropy" else softmax(logits)
    _, targets = make_case(loss, shape, "", seed=6)
    for dtype in (torch.float64, torch.float32):
        from_probs = make_loss(loss)(torch.tensor(probs, dtype=dtype), torch.tensor(targets))
        from_logits = make_loss(loss)(
            torch.tensor(logits, dtype=dtype), torch.tensor(targets), from_logits=True
        )
        assert abs(float(from_probs) - float(from_logits)) < 1e-5
    if loss != "kl_divergence":  # Keras's own from_logits agrees too
        reference = getattr(keras.losses, KERAS_NAMES[loss])(from_logits=True, dtype="float64")
        ours = make_loss(loss)(torch.tensor(logits), torch.tensor(targets), from_logits=True)
        assert close(float(ours), float(reference(targets, logits)))


@pytest.mark.parametrize("loss", ["binary_crossentropy", *SOFTMAX_LOSSES])
def test_saturated_logits_stay_finite(keras: Any, loss: str) -> None:
    logits = torch.tensor([[100.0, -100.0, -100.0], [-100.0, 100.0, -100.0]], requires_grad=True)
    targets = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    if loss == "sparse_categorical_crossentropy":
        targets = torch.tensor([1, 2])
    value = make_loss(loss)(logits, targets, from_logits=True)
    value.backward()
    assert torch.isfinite(value) and float(value.detach()) > 10
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    # The probability path saturates; it is clipped at 1e-7 as Keras clips it.
    probs = torch.sigmoid(logits) if loss == "binary_crossentropy" else logits.softmax(-1)
    probs = probs.detach().double()  # float32 cannot hold 1 - 1e-7 exactly
    clipped = float(make_loss(loss)(probs, targets))
    assert np.isfinite(clipped) and clipped <= -np.log(EPSILON) + 1e-3
    reference = keras_loss(keras, loss, probs.numpy(), targets.numpy())
    assert close(clipped, reference, 1e-5)


def test_names_and_options() -> None:
    assert make_loss("mse").name == "mean_squared_error"
    assert make_loss("BinaryCrossentropy").logits_activation == "sigmoid"
    assert make_loss("kld").logits_activation == "softmax"
    assert make_loss("huber").logits_activation is None
    assert isinstance(make_loss("categorical_crossentropy"), Loss)
    with pytest.raises(ValueError, match="not known"):
        make_loss("hinge")
    with pytest.raises(ValueError, match="logits"):
        make_loss("mse")(torch.zeros(2, 1), torch.zeros(2, 1), from_logits=True)
    with pytest.raises(ValueError, match="shape"):
        make_loss("categorical_crossentropy")(torch.full((2, 3), 1 / 3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="class number"):
        make_loss("sparse_categorical_crossentropy")(torch.full((2, 3), 1 / 3), torch.eye(3)[:2])


def test_half_precision_is_computed_in_float32() -> None:
    probs = torch.tensor([[1.0, 0.0], [0.3, 0.7]], dtype=torch.float16)
    value = make_loss("binary_crossentropy")(probs, torch.tensor([[0.0, 1.0], [0.0, 1.0]]))
    assert value.dtype == torch.float32 and torch.isfinite(value)
    reference = make_loss("binary_crossentropy")(probs.float(), torch.tensor([[0.0, 1], [0, 1]]))
    assert float(value) == float(reference)


def test_edge_batches() -> None:
    sparse = make_loss("sparse_categorical_crossentropy")
    bad = sparse(torch.full((2, 3), 1 / 3), torch.tensor([0, 7]))
    assert torch.isnan(bad)  # a class number out of range: NaN, not a device assert
    assert float(sparse(torch.full((2, 3), 1 / 3), torch.tensor([0.0, 2.0]))) == pytest.approx(
        np.log(3)
    )
    empty = make_loss("mse")(torch.zeros(0, 2), torch.zeros(0, 2))
    assert float(empty) == 0.0
    weights = torch.tensor([0.0, 0.0])
    zero = make_loss("mae")(torch.ones(2, 2), torch.zeros(2, 2), sample_weight=weights)
    assert float(zero) == 0.0


# ---- check_targets ----------------------------------------------------------------------------


def check(loss: str, out: tuple[int, ...], y: Any, **kw: Any) -> str | None:
    return check_targets(loss, out, np.asarray(y), **kw)


def test_check_sparse() -> None:
    assert check("sparse_categorical_crossentropy", (3,), [0, 2, 1, 1]) is None
    assert check("sparse_categorical_crossentropy", (10,), [[0], [2], [1]]) is None
    one_hot = check("sparse_categorical_crossentropy", (3,), np.eye(3))
    assert one_hot is not None and "one-hot" in one_hot and "categorical_crossentropy" in one_hot
    too_many = check("sparse_categorical_crossentropy", (3,), np.arange(10))
    assert too_many is not None and "10 classes" in too_many and "3 units" in too_many
    negative = check("sparse_categorical_crossentropy", (3,), [0, -1])
    assert negative is not None and "negative" in negative
    fraction = check("sparse_categorical_crossentropy", (3,), [0.5, 1.0])
    assert fraction is not None and "whole" in fraction
    single = check("sparse_categorical_crossentropy", (1,), [0, 1])
    assert single is not None and "1 unit" in single and "binary_crossentropy" in single
    # sequences (N, T) for (T, C) outputs, and channels-first segmentation maps
    assert check("sparse_categorical_crossentropy", (6, 4), np.zeros((2, 6), int)) is None
    masks = np.zeros((2, 8, 8), int)
    assert check("sparse_categorical_crossentropy", (4, 8, 8), masks, class_axis=1) is None
    masks[0, 0, 0] = 4
    assert "5 classes" in str(
        check("sparse_categorical_crossentropy", (4, 8, 8), masks, class_axis=1)
    )


def test_check_categorical() -> None:
    assert check("categorical_crossentropy", (3,), np.eye(3)) is None
    assert check("categorical_crossentropy", (3,), softmax(np.ones((4, 3)))) is None
    ids = check("categorical_crossentropy", (3,), [0, 2, 1])
    assert ids is not None and "class numbers" in ids and "sparse_categorical_crossentropy" in ids
    # when the trainer one-hot encodes class numbers, they are checked as class numbers
    assert check("categorical_crossentropy", (3,), [0, 2, 1], one_hot_ids=True) is None
    many = check("categorical_crossentropy", (3,), [0, 5], one_hot_ids=True)
    assert many is not None and "6 classes" in many and "3 units" in many
    assert check("categorical_crossentropy", (3,), np.eye(3), one_hot_ids=True) is None
    narrow = check("categorical_crossentropy", (10,), np.eye(3))
    assert narrow is not None and "3 classes" in narrow and "10 units" in narrow
    assert "add up to 1" in str(check("categorical_crossentropy", (3,), np.ones((2, 3))))
    assert "below 0" in str(check("categorical_crossentropy", (2,), [[-1, 2], [0, 1]]))
    assert "binary_crossentropy" in str(check("categorical_crossentropy", (1,), [[1], [0]]))
    channels = np.moveaxis(np.eye(4)[np.zeros((2, 3, 3), int)], -1, 1)
    assert check("categorical_crossentropy", (4, 3, 3), channels, class_axis=1) is None


def test_check_binary() -> None:
    assert check("binary_crossentropy", (1,), [0, 1, 1]) is None
    assert check("binary_crossentropy", (1,), [[0.2], [0.9]]) is None  # soft labels are fine
    assert check("binary_crossentropy", (3,), np.eye(3)) is None  # several yes/no answers
    classes = check("binary_crossentropy", (1,), [0, 1, 4])
    assert classes is not None and "class numbers" in classes and "5 units" in classes
    signs = check("binary_crossentropy", (1,), [-1, 1])
    assert signs is not None and "0 (no) or 1 (yes)" in signs
    units = check("binary_crossentropy", (3,), [0, 1])
    assert units is not None and "1 unit with a sigmoid" in units


def test_check_regression_and_kl() -> None:
    assert check("mean_squared_error", (1,), [0.5, 2.0]) is None
    assert check("huber", (3,), np.ones((4, 3))) is None
    wide = check("mean_absolute_error", (1,), np.ones((4, 3)))
    assert wide is not None and "3 numbers" in wide and "1" in wide
    missing = check("mse", (1,), [1.0, np.nan])
    assert missing is not None and "missing" in missing
    assert "probability" in str(check("kl_divergence", (2,), [[-0.5, 1.5]]))
    assert check("kl_divergence", (2,), [[0.5, 0.5]]) is None
    assert check("mse", (1,), torch.tensor([1.0, 2.0])) is None  # tensors too
    assert "no labels" in str(check("mse", (1,), np.zeros(0)))
    with pytest.raises(ValueError, match="not known"):
        check("nope", (1,), [1.0])
