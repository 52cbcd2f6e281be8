"""Hints from a training history: they fire on clear synthetic histories, stay quiet on healthy
ones and on young runs; and the moving average that smooths the per-batch loss."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.training_hints import MIN_EPOCHS, PATIENCE, hints, smooth


def history(loss, val_loss=None, accuracy=None, val_accuracy=None) -> list[dict[str, float]]:
    records = []
    for i, value in enumerate(loss):
        record = {"loss": float(value), "learning_rate": 0.001}
        for name, column in (
            ("val_loss", val_loss),
            ("accuracy", accuracy),
            ("val_accuracy", val_accuracy),
        ):
            if column is not None:
                record[name] = float(column[i])
        records.append(record)
    return records


def kinds(epochs, batch_losses=()) -> list[str]:
    return [h.kind for h in hints(epochs, batch_losses)]


def healthy(epochs: int, seed: int = 0) -> list[dict[str, float]]:
    """Loss and validation loss falling together with a little noise, accuracy rising."""
    rng = np.random.default_rng(seed)
    e = np.arange(epochs)
    loss = 1.2 * 0.8**e + 0.1
    val = (1.2 * 0.8**e + 0.13) * (1 + rng.uniform(-0.01, 0.01, epochs))
    acc = 0.95 - 0.6 * 0.75**e
    return history(loss, val, acc, acc - 0.03)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_healthy_run_gets_no_hint_at_any_epoch(seed) -> None:
    records = healthy(20, seed)
    for end in range(1, len(records) + 1):
        assert hints(records[:end]) == [], end


def test_a_healthy_run_without_validation_data_gets_no_hint() -> None:
    records = [{"loss": r["loss"], "accuracy": r["accuracy"]} for r in healthy(20)]
    for end in range(1, len(records) + 1):
        assert hints(records[:end]) == []


def test_validation_loss_rising_while_training_loss_falls_is_overfitting() -> None:
    loss = [1.0, 0.7, 0.5, 0.4, 0.33, 0.28, 0.24, 0.21, 0.19]
    val = [1.05, 0.8, 0.65, 0.6, 0.58, 0.6, 0.64, 0.7, 0.77]
    found = hints(history(loss, val))
    assert [h.kind for h in found] == ["overfitting"]
    text = found[0].text
    assert "Dropout" in text and "EarlyStopping" in text and "more training data" in text
    assert "since epoch 5" in text
    # two epochs of rise are not enough to say so
    assert "overfitting" not in kinds(history(loss[:7], val[:7]))


def test_a_wide_accuracy_gap_is_overfitting() -> None:
    n = 8
    loss = np.linspace(0.9, 0.2, n)
    val = np.full(n, 0.5)
    acc = np.linspace(0.7, 0.99, n)
    val_acc = np.full(n, 0.72)
    found = hints(history(loss, val, acc, val_acc))
    assert found[0].kind == "overfitting"
    assert "accuracy 99%" in found[0].text and "(72%)" in found[0].text
    # a small gap is normal
    assert "overfitting" not in kinds(history(loss, val, acc, acc - 0.05))


def test_young_runs_get_no_hint_but_diverging() -> None:
    loss = [1.0, 0.6, 0.5]
    val = [1.0, 1.2, 1.5]
    assert len(loss) < MIN_EPOCHS
    assert hints(history(loss, val, [0.9, 0.95, 0.99], [0.5, 0.5, 0.5])) == []
    assert kinds(history([1.0, math.nan])) == ["diverging"]


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_loss_that_is_not_a_number_is_diverging(bad) -> None:
    found = hints(history([1.0, 0.8, bad]))
    assert [h.kind for h in found] == ["diverging"]
    assert "learning rate" in found[0].text
    assert ("infinite" in found[0].text) == math.isinf(bad)
    # in the batches, before any epoch ended
    assert kinds([], [0.9, 1.3, bad]) == ["diverging"]
    assert kinds([], [0.9, 0.8, 0.7]) == []


def test_a_growing_loss_is_diverging() -> None:
    found = hints(history([1.0, 0.8, 1.0, 1.5, 2.5]))
    assert [h.kind for h in found] == ["diverging"]
    assert "Lower the learning rate" in found[0].text
    assert kinds(history([1.0, 0.8, 0.85, 0.9])) == []  # a small rise is not


def test_no_progress_for_a_while_is_a_plateau() -> None:
    loss = [1.0, 0.6, 0.4, 0.32, 0.3, 0.3, 0.3001, 0.3, 0.3002, 0.3]
    val = [1.0, 0.65, 0.45, 0.36, 0.35, 0.35, 0.351, 0.35, 0.3505, 0.352]
    acc = [0.6, 0.8, 0.88, 0.9, 0.91, 0.91, 0.91, 0.91, 0.91, 0.91]
    found = hints(history(loss, val, acc, acc))
    assert [h.kind for h in found] == ["plateau"]
    assert f"for {PATIENCE} epochs" in found[0].text and "Lower the learning rate" in found[0].text
    # still improving at the last epoch: no plateau
    assert kinds(history([*loss[:-1], 0.25], [*val[:-1], 0.3], acc, acc)) == []


def test_stuck_with_a_low_accuracy_is_underfitting() -> None:
    loss = [1.1, 1.0, 0.98, 0.97, 0.97, 0.97, 0.97, 0.97, 0.97]
    acc = [0.3, 0.4, 0.42, 0.43, 0.43, 0.43, 0.43, 0.43, 0.43]
    found = hints(history(loss, loss, acc, acc))
    assert [h.kind for h in found] == ["underfitting"]
    assert "accuracy 43%" in found[0].text and "more units or layers" in found[0].text


def test_a_slowly_falling_loss_suggests_a_higher_learning_rate() -> None:
    loss = [1.0 - 0.01 * i for i in range(8)]
    found = hints(history(loss))
    assert [h.kind for h in found] == ["slow"]
    assert "higher learning rate" in found[0].text and "7%" in found[0].text


def test_a_jumpy_loss_is_noisy() -> None:
    found = hints(history([0.5, 0.7, 0.45, 0.68, 0.42, 0.66]))
    assert [h.kind for h in found] == ["noisy"]
    assert "batch size" in found[0].text
    assert found[0].title == "Jumpy loss"


def test_missing_keys_and_empty_histories_are_fine() -> None:
    assert hints([]) == []
    assert hints([{"accuracy": 0.5}] * 10) == []


def reference_ema(values, weight):
    level, out = 0.0, []
    for i, v in enumerate(values):
        level = weight * level + (1 - weight) * v
        out.append(level / (1 - weight ** (i + 1)) if weight else v)
    return np.array(out)


@pytest.mark.parametrize("weight", [0.0, 0.01, 0.3, 0.6, 0.9, 0.99])
def test_smooth_is_a_debiased_moving_average_and_continues_where_it_stopped(weight) -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(2.0, 0.5, 3000) + np.linspace(3, 0, 3000)
    whole, _ = smooth(values, weight)
    np.testing.assert_allclose(whole, reference_ema(values, weight), rtol=1e-12, atol=1e-12)
    first, state = smooth(values[:1001], weight)
    rest, _ = smooth(values[1001:], weight, state)
    np.testing.assert_allclose(np.concatenate([first, rest]), whole, rtol=1e-12, atol=1e-12)
    if weight:
        assert np.std(np.diff(whole)) < np.std(np.diff(values))


def test_smooth_of_nothing_is_nothing() -> None:
    out, state = smooth([], 0.6)
    assert out.shape == (0,) and state == (0.0, 0)
