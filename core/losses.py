"""Losses by their Keras names, computed by PyTorch with Keras 3's numbers.

:func:`make_loss` gives a :class:`Loss` for each name in :data:`core.training_settings.LOSSES`.
A loss takes a batch of model outputs and targets (samples first) and gives one number, as
Keras's default reduction ``"sum_over_batch_size"`` does: the per-sample losses (for sequences
and images, the mean over positions) are weighted and summed, then divided by the number of
samples. Probabilities are clipped to ``[1e-7, 1 - 1e-7]`` (``keras.backend.epsilon()``) and the
categorical losses first rescale the outputs to sum to 1 along the class axis, as Keras does.

The trainer may strip a final softmax or sigmoid (``Loss.logits_activation`` says which one
the loss can take over) and pass raw scores with ``from_logits=True``: the numbers are then the
same for ordinary outputs and stay finite where probabilities would saturate.

:func:`check_targets` says in plain words why a set of labels cannot work with a loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from core.training_settings import LOSSES, canonical_loss

EPSILON = 1e-7  # keras.backend.epsilon()
HUBER_DELTA = 1.0  # keras.losses.Huber's default

Activation = Literal["softmax", "sigmoid"]
_Values = Callable[[Tensor, Tensor, bool, int], Tensor]


def targets_like(outputs: Tensor, targets: Tensor, what: str) -> Tensor:
    """``targets`` in the shape of ``outputs``: equal, or one trailing axis of size 1 apart.

    This is Keras's ``squeeze_or_expand_to_same_rank``: labels ``(N,)`` fit outputs ``(N, 1)``.

    Raises:
        ValueError: When the shapes cannot be matched.
    """
    if targets.shape == outputs.shape:
        return targets
    if outputs.ndim and outputs.shape[-1] == 1 and targets.shape == outputs.shape[:-1]:
        return targets.unsqueeze(-1)
    if targets.ndim and targets.shape[-1] == 1 and targets.shape[:-1] == outputs.shape:
        return targets.squeeze(-1)
    raise ValueError(
        f"{what}: the labels of this batch have the shape {tuple(targets.shape)} but the model's "
        f"output has the shape {tuple(outputs.shape)}; they must match."
    )


def _log_probabilities(outputs: Tensor, from_logits: bool, axis: int) -> Tensor:
    if from_logits:
        return F.log_softmax(outputs, dim=axis)
    scaled = outputs / outputs.sum(dim=axis, keepdim=True)
    return scaled.clamp(EPSILON, 1.0 - EPSILON).log()


def _categorical(outputs: Tensor, targets: Tensor, from_logits: bool, axis: int) -> Tensor:
    t = targets_like(outputs, targets, "categorical_crossentropy").to(outputs.dtype)
    return -(t * _log_probabilities(outputs, from_logits, axis)).sum(dim=axis)


def _sparse(outputs: Tensor, targets: Tensor, from_logits: bool, axis: int) -> Tensor:
    axis %= outputs.ndim
    ids = targets
    if ids.ndim == outputs.ndim and ids.shape[axis] == 1:
        ids = ids.squeeze(axis)
    expected = outputs.shape[:axis] + outputs.shape[axis + 1 :]
    if ids.shape != expected:
        raise ValueError(
            f"sparse_categorical_crossentropy: the labels of this batch have the shape "
            f"{tuple(targets.shape)} but one class number per output row needs {tuple(expected)}."
        )
    ids = ids.long()
    classes = outputs.shape[axis]
    if from_logits:  # one fused kernel; the same numbers as the log-softmax below
        scores = outputs if outputs.ndim < 2 or axis == 1 else outputs.movedim(axis, 1)
        values = F.cross_entropy(scores, ids.clamp(0, classes - 1), reduction="none")
        return torch.where((ids >= 0) & (ids < classes), values, math.nan)
    picked = _log_probabilities(outputs, from_logits, axis).gather(
        axis, ids.clamp(0, classes - 1).unsqueeze(axis)
    )
    # A class number out of range gives NaN, never a device-side assert that kills CUDA.
    valid = (ids >= 0) & (ids < classes)
    return torch.where(valid, -picked.squeeze(axis), math.nan)


def _binary(outputs: Tensor, targets: Tensor, from_logits: bool, axis: int) -> Tensor:
    t = targets_like(outputs, targets, "binary_crossentropy").to(outputs.dtype)
    if from_logits:
        return F.binary_cross_entropy_with_logits(outputs, t, reduction="none")
    p = outputs.clamp(EPSILON, 1.0 - EPSILON)
    return -(t * p.log() + (1.0 - t) * (1.0 - p).log())


def _difference(outputs: Tensor, targets: Tensor, what: str) -> Tensor:
    return outputs - targets_like(outputs, targets, what).to(outputs.dtype)


def _squared(outputs: Tensor, targets: Tensor, from_logits: bool, axis: int) -> Tensor:
    return _difference(outputs, targets, "mean_squared_error").square()


def _absolute(outputs: Tensor, targets: Tensor, from_logits: bool, axis: int) -> Tensor:
    return _difference(outputs, targets, "mean_absolute_error").abs()


def _huber(outputs: Tensor, targets: Tensor, from_logits: bool, axis: int) -> Tensor:
    error = _difference(outputs, targets, "huber")
    size = error.abs()
    linear = HUBER_DELTA * size - 0.5 * HUBER_DELTA**2
    return torch.where(size <= HUBER_DELTA, 0.5 * error.square(), linear)


def _kl(outputs: Tensor, targets: Tensor, from_logits: bool, axis: int) -> Tensor:
    t = targets_like(outputs, targets, "kl_divergence").to(outputs.dtype).clamp(EPSILON, 1.0)
    if from_logits:
        return (t * (t.log() - F.log_softmax(outputs, dim=axis))).sum(dim=axis)
    return (t * (t / outputs.clamp(EPSILON, 1.0)).log()).sum(dim=axis)


_LOSSES: dict[str, tuple[_Values, Activation | None]] = {
    "categorical_crossentropy": (_categorical, "softmax"),
    "sparse_categorical_crossentropy": (_sparse, "softmax"),
    "binary_crossentropy": (_binary, "sigmoid"),
    "mean_squared_error": (_squared, None),
    "mean_absolute_error": (_absolute, None),
    "huber": (_huber, None),
    "kl_divergence": (_kl, "softmax"),
}
assert set(_LOSSES) == set(LOSSES)


class Loss:
    """A loss with Keras 3's numbers; call it with a batch of outputs and targets.

    Attributes:
        name: The canonical Keras name (``"categorical_crossentropy"``).
        logits_activation: The final activation this loss can take over with
            ``from_logits=True`` (``"softmax"`` or ``"sigmoid"``), or None for the regression
            losses, which always take the model's real outputs.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._values, self.logits_activation = _LOSSES[name]

    def __repr__(self) -> str:
        return f"Loss({self.name!r})"

    def __call__(
        self,
        outputs: Tensor,
        targets: Tensor,
        *,
        from_logits: bool = False,
        class_axis: int = -1,
        sample_weight: Tensor | None = None,
    ) -> Tensor:
        """The mean loss of a batch, a scalar on the outputs' device.

        It has the outputs' dtype, or float32 for half-precision outputs: Keras computes
        losses in float32.

        Args:
            outputs: Model outputs, samples first: probabilities, or raw scores with
                ``from_logits``.
            targets: Labels, samples first: one-hot rows, class numbers (sparse loss: ``(N,)``
                or ``(N, 1)``; ``(N, T)`` for ``(N, T, C)`` outputs), 0/1, or numbers.
            from_logits: Whether ``outputs`` are raw scores before ``logits_activation``.
            class_axis: The axis of the classes (softmax losses only); 1 for channels-first
                images ``(N, C, H, W)``. The other losses work element by element.
            sample_weight: One weight per sample ``(N,)``, e.g. class weights. As in Keras the
                weighted per-sample losses are summed and divided by the number of samples.

        Raises:
            ValueError: When the shapes do not fit, or for ``from_logits`` with a loss that
                takes no raw scores.
        """
        if from_logits and self.logits_activation is None:
            raise ValueError(f"{self.name} takes the model's outputs, not raw scores (logits).")
        if outputs.dtype in (torch.float16, torch.bfloat16):
            outputs = outputs.float()  # as Keras, which computes losses in float32
        values = self._values(outputs, targets, from_logits, class_axis)
        if values.ndim == 0:
            values = values.reshape(1)
        if sample_weight is not None:
            weight = sample_weight.to(device=values.device, dtype=values.dtype)
            if weight.numel() == values.shape[0]:
                weight = weight.reshape(values.shape[0], *([1] * (values.ndim - 1)))
            values = values * weight
        # Keras: the sum divided by the number of per-position losses (0 for an empty batch).
        return values.sum() / max(values.numel(), 1)


def make_loss(name: str) -> Loss:
    """The loss called ``name`` (a Keras name or alias: ``"mse"``, ``"BinaryCrossentropy"``).

    Raises:
        ValueError: For a name that is not a known loss.
    """
    canonical = canonical_loss(name)
    if canonical is None:
        raise ValueError(f"The loss {name!r} is not known; use one of: {', '.join(LOSSES)}.")
    return Loss(canonical)


# ---- checks before training ------------------------------------------------------------------


def _shape_text(shape: tuple[int, ...]) -> str:
    """``(3,)`` -> "3 values", ``(2, 4)`` -> "2×4 values", ``()`` -> "1 value"."""
    return f"{'×'.join(map(str, shape))} values" if shape and shape != (1,) else "1 value"


def check_targets(
    name: str,
    output_shape: tuple[int, ...],
    targets: np.ndarray | Tensor,
    *,
    class_axis: int = -1,
    one_hot_ids: bool = False,
) -> str | None:
    """Why the labels cannot train a model with this loss, in plain words; None if they can.

    Args:
        name: The loss (a Keras name or alias).
        output_shape: The shape of one sample of the model's output, without the batch axis.
        targets: Every label, samples first (a NumPy array or a tensor).
        class_axis: The classes' axis in the batched output (1 for channels-first images).
        one_hot_ids: Whether the trainer turns class numbers into one-hot rows for
            ``categorical_crossentropy``; class numbers are then checked as class numbers
            (range against the units) instead of being refused.

    Raises:
        ValueError: For a name that is not a known loss.
    """
    loss = make_loss(name).name
    y = targets.detach().cpu().numpy() if isinstance(targets, Tensor) else np.asarray(targets)
    if y.ndim == 0 or len(y) == 0:
        return "There are no labels to learn from."
    if y.dtype.kind not in "biuf":
        return "The labels must be numbers."
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        return "Some labels are missing or not numbers (NaN or infinity); fix or drop those rows."
    out = tuple(output_shape) or (1,)
    sample = tuple(int(d) for d in y.shape[1:])
    if loss in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        return _check_classes(loss, out, sample, y, class_axis, one_hot_ids)
    if loss == "binary_crossentropy":
        return _check_binary(out, sample, y)
    if not _fits(out, sample):
        if len(out) == 1 and len(sample) <= 1:
            count = sample[0] if sample else 1
            return (
                f"Each target has {count} number{'s'[: count != 1]} but the last layer gives "
                f"{out[0]}; give the last layer {count} unit{'s'[: count != 1]}."
            )
        return (
            f"Each target has {_shape_text(sample)} but the model gives "
            f"{_shape_text(out)} per sample; they must match."
        )
    if loss == "kl_divergence" and (y.min() < 0 or y.max() > 1):
        return (
            "kl_divergence compares probability distributions: every label must be between "
            "0 and 1 (each row adding up to 1)."
        )
    return None


def _fits(out: tuple[int, ...], sample: tuple[int, ...]) -> bool:
    return sample == out or (*sample, 1) == out or sample == (*out, 1)


def _whole(y: np.ndarray) -> bool:
    return y.dtype.kind in "biu" or bool(np.all(np.mod(y, 1) == 0))


def _class_count(y: np.ndarray) -> int:
    return int(y.max()) + 1


def _check_classes(
    loss: str,
    out: tuple[int, ...],
    sample: tuple[int, ...],
    y: np.ndarray,
    class_axis: int,
    one_hot_ids: bool,
) -> str | None:
    axis = class_axis % (len(out) + 1) - 1  # the class axis within one sample
    if axis < 0:
        return "The class axis cannot be the batch axis."
    units = out[axis]
    ids_shape = out[:axis] + out[axis + 1 :]
    as_ids = sample in (ids_shape, (*out[:axis], 1, *out[axis + 1 :]))
    if units == 1:
        return (
            f"The last layer has 1 unit, but {loss} needs one unit per class. For yes/no labels "
            "use binary_crossentropy with a sigmoid; otherwise give it one unit per class."
        )
    if loss == "categorical_crossentropy" and not (one_hot_ids and as_ids):
        if as_ids and _whole(y):
            return (
                "Your labels are class numbers; use sparse_categorical_crossentropy, or turn "
                "them into one-hot rows (a 1 for the right class, 0 elsewhere)."
            )
        if sample != out:
            same_rows = len(sample) == len(out) and sample[:axis] + sample[axis + 1 :] == ids_shape
            if same_rows and sample[axis] > 1:
                return (
                    f"Your labels have {sample[axis]} classes but the last layer has {units} "
                    f"units; give it {sample[axis]} units, one per class."
                )
            return (
                f"Each label has {_shape_text(sample)} but the model gives "
                f"{_shape_text(out)} per sample; categorical_crossentropy needs one-hot rows "
                "of the same shape."
            )
        if y.min() < 0 or y.max() > 1:
            return (
                "categorical_crossentropy needs one-hot rows (a 1 for the right class, 0 "
                "elsewhere), but some labels are below 0 or above 1."
            )
        sums = y.sum(axis=axis + 1, dtype=np.float64)
        if not np.allclose(sums, 1.0, atol=1e-3):
            return (
                "Each one-hot row must add up to 1 (a single 1 for the right class), but some "
                f"add up to {float(sums.flat[np.argmax(np.abs(sums - 1))]):g}."
            )
        return None
    if not as_ids:  # sparse_categorical_crossentropy from here on
        if sample == out and _is_one_hot(y, axis + 1):
            return (
                "Your labels are one-hot rows; use categorical_crossentropy, or give class "
                "numbers (0, 1, 2, ...)."
            )
        return (
            f"sparse_categorical_crossentropy needs one class number per sample, but each label "
            f"has {_shape_text(sample)}."
        )
    if not _whole(y):
        return "Class numbers must be whole numbers (0, 1, 2, ...), but some labels have fractions."
    if y.min() < 0:
        return f"Class numbers start at 0, but some labels are negative ({y.min():g})."
    if _class_count(y) > units:
        classes = _class_count(y)
        return (
            f"Your data has {classes} classes (class numbers up to {classes - 1}) but the last "
            f"layer has {units} units; give it {classes} units, one per class."
        )
    return None


def _is_one_hot(y: np.ndarray, axis: int) -> bool:
    return bool(np.isin(y, (0, 1)).all() and (y.sum(axis=axis) == 1).all())


def _check_binary(out: tuple[int, ...], sample: tuple[int, ...], y: np.ndarray) -> str | None:
    looks_like_ids = _whole(y) and y.max() > 1 and y.min() >= 0
    if not _fits(out, sample):
        if len(out) == 1 and sample in ((), (1,)):
            if looks_like_ids:
                return (
                    f"Your labels are class numbers ({_class_count(y)} classes); use "
                    "sparse_categorical_crossentropy with a softmax last layer of "
                    f"{_class_count(y)} units."
                )
            return (
                f"Your labels give one yes/no answer per sample but the last layer has "
                f"{out[0]} units; give it 1 unit with a sigmoid."
            )
        return (
            f"Each label has {_shape_text(sample)} but the model gives "
            f"{_shape_text(out)} per sample; binary_crossentropy needs one 0 or 1 per output."
        )
    if looks_like_ids:
        return (
            f"binary_crossentropy needs labels 0 or 1, but yours go up to {y.max():g}: they look "
            "like class numbers. Use sparse_categorical_crossentropy with a softmax last layer "
            f"of {_class_count(y)} units."
        )
    if y.min() < 0 or y.max() > 1:
        return (
            "binary_crossentropy needs labels 0 (no) or 1 (yes), but some are "
            f"{y.min():g}" + (f" or {y.max():g}" if y.max() > 1 else "") + "."
        )
    return None
