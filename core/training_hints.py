"""Plain-language hints about a training run, read from its per-epoch history.

The dashboard shows these under the curves at each epoch's end. Each rule waits for enough epochs
to be sure (a young run is noisy), says what it sees in everyday words, and what to try next, in
the Keras words the rest of the studio uses (Dropout, EarlyStopping, learning rate).

Also here: :func:`smooth`, the exponential moving average that draws the smoothed loss line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

HintKind = Literal["diverging", "overfitting", "underfitting", "plateau", "slow", "noisy"]

#: Epochs a run needs before any hint other than "diverging" can appear.
MIN_EPOCHS = 4
#: Epochs without a better loss before the run counts as stuck.
PATIENCE = 5
#: Epochs the validation loss must have risen from its best while the training loss fell.
OVERFIT_EPOCHS = 3
#: Training accuracy this far above validation accuracy (over the last epochs) is overfitting.
ACCURACY_GAP = 0.15

_TITLES: dict[str, str] = {
    "diverging": "Training is blowing up",
    "overfitting": "Overfitting",
    "underfitting": "Underfitting",
    "plateau": "No more progress",
    "slow": "Slow learning",
    "noisy": "Jumpy loss",
}


@dataclass(frozen=True)
class Hint:
    """One observation about a run, with what to try.

    Attributes:
        kind: What the rule saw: ``diverging``, ``overfitting``, ``underfitting``,
            ``plateau``, ``slow`` or ``noisy``.
        text: One or two sentences for someone who does not program.
    """

    kind: HintKind
    text: str

    @property
    def title(self) -> str:
        """A two- or three-word heading for the hint."""
        return _TITLES[self.kind]


def hints(epochs: Sequence[Mapping[str, float]], batch_losses: Sequence[float] = ()) -> list[Hint]:
    """What a run's history suggests, most urgent first (an empty list when all looks well).

    Args:
        epochs: One record per finished epoch, oldest first, with Keras names: ``loss``,
            ``val_loss``, ``accuracy``, ``val_accuracy``, ... Missing keys are fine.
        batch_losses: Recent per-batch losses, checked for values that stopped being numbers.

    Returns:
        The hints; ``diverging`` excludes the others, since nothing else matters then.
    """
    loss = _column(epochs, "loss")
    blown = [v for v in loss if not math.isfinite(v)]
    if blown or any(not math.isfinite(float(v)) for v in batch_losses):
        what = "became infinite" if any(map(math.isinf, blown)) else "is no longer a number (NaN)"
        return [
            Hint(
                "diverging",
                f"The loss {what}: the training blew up. Lower the learning rate "
                "(try a tenth of it) and check the data for missing or very large values.",
            )
        ]
    if _growing(loss):
        return [
            Hint(
                "diverging",
                f"The training loss is growing instead of falling (from {min(loss):.3g} up to "
                f"{loss[-1]:.3g}): the learning steps are too big. Lower the learning rate "
                "(try a tenth of it).",
            )
        ]
    if len(epochs) < MIN_EPOCHS:
        return []
    found: list[Hint] = []
    overfit = _overfitting(epochs, loss)
    if overfit:
        found.append(Hint("overfitting", overfit))
    stuck = _plateau(epochs, loss)
    if stuck is not None and not overfit:
        found.append(stuck)
    elif stuck is None and _slow(loss):
        drop = 1 - loss[-1] / loss[0]
        found.append(
            Hint(
                "slow",
                f"The loss falls, but slowly (only {drop:.0%} in {len(loss)} epochs). A higher "
                "learning rate (try 3 times larger) may speed it up, or train for more epochs.",
            )
        )
    if _noisy(loss):
        found.append(
            Hint(
                "noisy",
                "The training loss jumps up and down from epoch to epoch instead of falling "
                "steadily. A lower learning rate or a larger batch size usually calms it.",
            )
        )
    return found


def _column(epochs: Sequence[Mapping[str, float]], name: str) -> list[float]:
    return [float(e[name]) for e in epochs if name in e]


def _finite(values: list[float]) -> bool:
    return bool(values) and all(math.isfinite(v) for v in values)


def _growing(loss: list[float]) -> bool:
    """The loss rose in each of the last two epochs and now stands well above its best."""
    if len(loss) < 3:
        return False
    rising = loss[-1] > loss[-2] > loss[-3]
    return rising and loss[-1] > 1.5 * min(loss) + 1e-12


def _overfitting(epochs: Sequence[Mapping[str, float]], loss: list[float]) -> str:
    val = _column(epochs, "val_loss")
    if len(val) == len(epochs) == len(loss) and _finite(val):
        best = int(np.argmin(val))
        since = len(val) - 1 - best
        risen = val[-1] > val[best] * 1.02 + 1e-12
        if since >= OVERFIT_EPOCHS and risen and loss[-1] < loss[best]:
            return (
                f"The model is learning the training examples by heart: its validation loss "
                f"has risen for {since} epochs (since epoch {best + 1}) while the training loss "
                "keeps falling. Try adding Dropout, fewer epochs (EarlyStopping stops at the "
                "best one) or more training data."
            )
    recent = epochs[-3:]
    for name in sorted({k for e in recent for k in e if k.endswith("accuracy")}):
        if name.startswith("val_") or len(recent) < 3:
            continue
        pairs = [(e.get(name), e.get("val_" + name)) for e in recent]
        gaps = [t - v for t, v in pairs if t is not None and v is not None]
        if len(gaps) == len(recent) and _finite(gaps) and min(gaps) > ACCURACY_GAP:
            train, valid = pairs[-1]
            return (
                f"The model does much better on the training data ({name} {train:.0%}) than "
                f"on the validation data ({valid:.0%}): it is learning the training examples "
                "by heart. Try adding Dropout, fewer epochs (EarlyStopping) or more data."
            )
    return ""


def _plateau(epochs: Sequence[Mapping[str, float]], loss: list[float]) -> Hint | None:
    val = _column(epochs, "val_loss")
    watched, name = (val, "validation loss") if len(val) == len(loss) else (loss, "loss")
    if len(watched) <= PATIENCE or not _finite(watched):
        return None
    before = min(watched[:-PATIENCE])
    if min(watched[-PATIENCE:]) < before - (1e-3 * abs(before) + 1e-9):
        return None
    accuracy = epochs[-1].get("accuracy")
    if accuracy is not None and math.isfinite(accuracy) and accuracy < 0.7:
        return Hint(
            "underfitting",
            f"The model has stopped improving while it still gets many training examples "
            f"wrong (accuracy {accuracy:.0%}): it may be too small for the task. Try more units "
            "or layers, or a higher learning rate.",
        )
    if loss[-1] > 0.9 * loss[0]:
        return Hint(
            "underfitting",
            "The model has stopped improving although its loss barely fell since the first "
            "epoch: it may be too small for the task or the learning rate too low. Try more "
            "units or layers, or a higher learning rate.",
        )
    return Hint(
        "plateau",
        f"The model has stopped improving: the {name} has not got better for {PATIENCE} "
        "epochs. Lower the learning rate (try a tenth) to fine-tune, or stop here.",
    )


def _slow(loss: list[float]) -> bool:
    """Falling every epoch lately, but by little overall."""
    if len(loss) < 5 or not loss[0] > 0:
        return False
    steady = all(b < a for a, b in pairwise(loss[-4:]))
    return steady and loss[-1] > 0.9 * loss[0]


def _noisy(loss: list[float]) -> bool:
    """Over the last six epochs the loss went up at least twice, by more than a tenth."""
    recent = loss[-6:]
    if len(recent) < 6:
        return False
    rises = [b - a for a, b in pairwise(recent) if b > a]
    level = float(np.median(recent))
    return len(rises) >= 2 and sum(r > 0.1 * level for r in rises) >= 2


def smooth(
    values: ArrayLike, weight: float, start: tuple[float, int] = (0.0, 0)
) -> tuple[NDArray[np.float64], tuple[float, int]]:
    """An exponential moving average, debiased at the start (TensorBoard's smoothing).

    ``s = weight * s + (1 - weight) * value``, shown as ``s / (1 - weight ** count)``, so the
    first points are not pulled towards zero. Vectorised in blocks: 100,000 points take about a
    millisecond.

    Args:
        values: The raw values (finite).
        weight: 0 gives the raw values back; 0.99 smooths strongly. Clipped to [0, 0.999].
        start: The state after earlier values: the running sum and how many values it holds
            (the second item of an earlier call's result), to continue without recomputing.

    Returns:
        The smoothed values and the state after them.
    """
    x = np.asarray(values, dtype=np.float64)
    a = min(max(float(weight), 0.0), 0.999)
    level, count = float(start[0]), int(start[1])
    if a == 0.0 or x.size == 0:
        return x.copy(), ((float(x[-1]) if x.size else level), count + x.size)
    block = max(1, min(256, int(250 / -math.log10(a))))  # a ** -block stays far below overflow
    rows = -(-x.size // block)
    grid = np.zeros(rows * block)
    grid[: x.size] = x
    k = np.arange(block, dtype=np.float64)
    # each block smoothed from zero, then the level carried in from the blocks before it
    local = (1 - a) * a**k * np.cumsum(grid.reshape(rows, block) * a ** (-k), axis=1)
    carried = np.empty(rows)
    decay = a**block
    for row in range(rows):
        carried[row] = level
        level = decay * level + float(local[row, -1])
    out = (local + a ** (k + 1) * carried[:, None]).reshape(-1)[: x.size]
    level = float(out[-1])
    shown: NDArray[np.float64] = out
    early = max(0, min(x.size, math.ceil(17 / -math.log10(a)) - count))  # later: 1 - a**n == 1
    if early:
        shown[:early] /= 1 - a ** (count + 1 + np.arange(early, dtype=np.float64))
    return shown, (level, count + x.size)
