"""The built-in samples: shapes, types, classes, determinism, option checks, and the catalog."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.data import DataError, Dataset, describe
from core.data.samples import SAMPLES, SampleInfo, load_sample, sample_names

ROOT = Path(__file__).resolve().parents[3]
GENERATED = [name for name, info in SAMPLES.items() if info.options]
GENERATED_CLASSIFICATION = [n for n in GENERATED if SAMPLES[n].task == "classification"]
TABLES = {"iris": (150, 4, 3), "wine": (178, 13, 3), "breast_cancer": (569, 30, 2)}


def _x(data: Dataset) -> np.ndarray:
    """The one input of a sample, which is always in memory."""
    x = data.x[0]
    assert isinstance(x, np.ndarray)
    return x


def _class_counts(data: Dataset) -> np.ndarray:
    return np.bincount(data.y, minlength=data.num_classes)


# The catalog --------------------------------------------------------------------------------


def test_catalog_lists_every_sample_in_order() -> None:
    names = sample_names()
    assert names == list(SAMPLES)
    assert set(names) == {
        "digits",
        "iris",
        "wine",
        "breast_cancer",
        "moons",
        "circles",
        "spirals",
        "blobs",
        "xor",
        "sine",
    }
    names.clear()  # a copy: the catalog is untouched
    assert sample_names()


@pytest.mark.parametrize("info", SAMPLES.values(), ids=list(SAMPLES))
def test_catalog_entries_are_complete(info: SampleInfo) -> None:
    assert info.description and info.description.endswith(".")
    assert "\n" not in info.description
    assert info.task in ("classification", "regression")
    for option in info.options:
        assert option.minimum <= option.default <= option.maximum
        assert option.help.endswith(".")
        assert isinstance(option.default, int if option.kind == "int" else float)
    assert info.defaults() == {o.name: o.default for o in info.options}
    data = load_sample(info.name)
    assert data.task == info.task


def test_generated_options_have_the_documented_ranges() -> None:
    for name in GENERATED:
        options = {o.name: o for o in SAMPLES[name].options}
        assert {"samples", "noise", "seed"} <= set(options)
        assert (options["samples"].minimum, options["samples"].maximum) == (10, 1_000_000)
        assert (options["noise"].minimum, options["noise"].maximum) == (0.0, 10.0)
        assert 0.1 <= options["noise"].default <= 0.2
        assert options["samples"].default == 1000
    for name in ("blobs", "spirals"):
        classes = next(o for o in SAMPLES[name].options if o.name == "classes")
        assert (classes.minimum, classes.maximum) == (2, 20)


# Every sample -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_sample_has_the_studio_layout(name: str) -> None:
    data = load_sample(name)
    assert data.name == name
    assert data.source == f"sample:{name}"
    assert len(data.x) == 1
    x = _x(data)
    assert x.dtype == np.float32
    assert x.flags.c_contiguous
    assert np.isfinite(x).all()
    if data.task == "classification":
        assert data.y.dtype == np.int64
        assert data.y.shape == (len(x),)
        assert data.class_names is not None
        assert len(data.class_names) == data.num_classes
        assert len(set(data.class_names)) == data.num_classes
        assert (_class_counts(data) > 0).all()  # every class appears
    else:
        assert data.y.dtype == np.float32
        assert data.y.shape == (len(x), 1)
    if data.feature_names is not None:
        assert len(data.feature_names) == x.shape[1]


@pytest.mark.parametrize("name", list(SAMPLES))
def test_each_load_gives_fresh_arrays(name: str) -> None:
    first = load_sample(name)
    x0 = _x(first).copy()
    _x(first)[...] = 0
    first.y[...] = 0
    first.notes.append("changed")
    again = load_sample(name)
    np.testing.assert_array_equal(_x(again), x0)
    assert "changed" not in again.notes


# Bundled with scikit-learn ----------------------------------------------------------------


def test_digits() -> None:
    data = load_sample("digits")
    x = _x(data)
    assert x.shape == (1797, 1, 8, 8)
    assert data.input_shapes == [(1, 8, 8)]
    assert data.class_names == [str(d) for d in range(10)]
    assert x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(x * 16)) <= set(range(17))  # exactly the 0..16 levels, scaled
    from sklearn.datasets import load_digits  # type: ignore[import-untyped]

    raw = load_digits()
    np.testing.assert_allclose(x[:, 0] * 16, raw.images, atol=1e-5)
    np.testing.assert_array_equal(data.y, raw.target)
    assert describe(data).balanced


@pytest.mark.parametrize(("name", "shape"), TABLES.items())
def test_tables(name: str, shape: tuple[int, int, int]) -> None:
    samples, features, classes = shape
    data = load_sample(name)
    x = _x(data)
    assert x.shape == (samples, features)
    assert data.num_classes == classes
    import sklearn.datasets  # type: ignore[import-untyped]

    raw = getattr(sklearn.datasets, f"load_{name}")()
    assert data.feature_names == list(raw.feature_names)
    assert data.class_names == [str(c) for c in raw.target_names]
    np.testing.assert_array_equal(data.y, raw.target)
    # standardised per column, on all the data, and the note says so
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=0), 1.0, atol=1e-4)
    expected = (raw.data - raw.data.mean(axis=0)) / raw.data.std(axis=0)
    np.testing.assert_allclose(x, expected, rtol=1e-5, atol=1e-5)
    assert any("standardised" in note for note in data.notes)


def test_iris_names_and_balance() -> None:
    data = load_sample("iris")
    assert data.class_names == ["setosa", "versicolor", "virginica"]
    assert _class_counts(data).tolist() == [50, 50, 50]
    assert describe(data).balanced
    assert not describe(load_sample("breast_cancer")).balanced  # 357 benign, 212 malignant


def test_bundled_samples_take_no_options() -> None:
    with pytest.raises(DataError, match="digits takes no options; seed is not one of them"):
        load_sample("digits", seed=1)


# Generated --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", GENERATED)
def test_same_seed_same_data_other_seed_other_data(name: str) -> None:
    a, b = load_sample(name, seed=7), load_sample(name, seed=7)
    np.testing.assert_array_equal(_x(a), _x(b))
    np.testing.assert_array_equal(a.y, b.y)
    c = load_sample(name, seed=8)
    assert not np.array_equal(_x(a), _x(c))
    np.testing.assert_array_equal(_x(load_sample(name)), _x(load_sample(name, seed=0)))


@pytest.mark.parametrize("name", GENERATED)
def test_samples_option_sets_the_size(name: str) -> None:
    for n in (10, 11, 1001):
        data = load_sample(name, samples=n)
        assert len(data) == n and len(data.x[0]) == n
    assert len(load_sample(name)) == 1000


@pytest.mark.parametrize("name", GENERATED)
def test_options_are_recorded_in_the_notes(name: str) -> None:
    data = load_sample(name, samples=123, seed=5)
    assert any("samples=123" in note and "seed=5" in note for note in data.notes)


@pytest.mark.parametrize("name", GENERATED_CLASSIFICATION)
@pytest.mark.parametrize("n", [10, 999, 1000])
def test_generated_classes_are_balanced(name: str, n: int) -> None:
    counts = _class_counts(load_sample(name, samples=n))
    assert counts.sum() == n
    assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize("name", ["blobs", "spirals"])
@pytest.mark.parametrize("k", [2, 7, 20])
def test_classes_option(name: str, k: int) -> None:
    data = load_sample(name, classes=k, samples=1000)
    assert data.num_classes == k
    assert data.class_names is not None and len(data.class_names) == k
    counts = _class_counts(data)
    assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize("name", GENERATED_CLASSIFICATION)
def test_generated_classes_are_shuffled(name: str) -> None:
    y = load_sample(name).y
    assert (np.diff(y) != 0).sum() > 100  # not one block per class


def test_generated_points_are_two_numbers() -> None:
    for name in GENERATED_CLASSIFICATION:
        data = load_sample(name)
        assert data.input_shapes == [(2,)]
        assert data.feature_names == ["x1", "x2"]


def test_sine_without_noise_is_the_sine() -> None:
    data = load_sample("sine", noise=0, samples=500)
    x = _x(data)
    assert x.shape == (500, 1) and data.y.shape == (500, 1)
    assert data.task == "regression" and data.class_names is None and data.num_classes == 0
    assert x.min() >= -math.pi and x.max() <= math.pi
    assert x.min() < -3 and x.max() > 3  # spread over the whole range
    np.testing.assert_allclose(data.y, np.sin(x), atol=1e-6)


def test_sine_noise_is_the_spread() -> None:
    data = load_sample("sine", noise=0.1, samples=20_000)
    residual = data.y - np.sin(_x(data))
    assert abs(float(residual.mean())) < 0.005
    assert float(residual.std()) == pytest.approx(0.1, rel=0.05)


def test_circles_without_noise_lie_on_two_rings() -> None:
    data = load_sample("circles", noise=0)
    radius = np.hypot(*_x(data).T)
    np.testing.assert_allclose(radius[data.y == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(radius[data.y == 1], 0.5, atol=1e-6)


def test_moons_without_noise_lie_on_two_arcs() -> None:
    data = load_sample("moons", noise=0)
    x = _x(data).astype(np.float64)
    upper, lower = x[data.y == 0], x[data.y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0] + 0.5, upper[:, 1] + 0.25), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 0.5, lower[:, 1] - 0.25), 1.0, atol=1e-6)
    assert (upper[:, 1] >= -0.25 - 1e-6).all() and (lower[:, 1] <= 0.25 + 1e-6).all()


def test_xor_without_noise_follows_the_signs() -> None:
    data = load_sample("xor", noise=0)
    x = _x(data)
    same = np.sign(x[:, 0]) == np.sign(x[:, 1])
    np.testing.assert_array_equal(data.y, np.where(same, 0, 1))
    quadrants = np.bincount((x[:, 0] > 0) * 2 + (x[:, 1] > 0), minlength=4)
    assert quadrants.min() > 200  # all four squares are used
    assert np.abs(x).max() <= 1.0


def test_blobs_without_noise_are_their_centres() -> None:
    data = load_sample("blobs", noise=0, classes=5)
    x = _x(data)
    centres = np.stack([x[data.y == c][0] for c in range(5)])
    for c in range(5):
        np.testing.assert_array_equal(x[data.y == c], np.broadcast_to(centres[c], (200, 2)))
    gaps = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
    assert gaps[~np.eye(5, dtype=bool)].min() == pytest.approx(1.0, abs=1e-6)


def test_spirals_without_noise_stay_in_the_unit_disc() -> None:
    data = load_sample("spirals", noise=0, classes=3)
    assert np.hypot(*_x(data).T).max() <= 1.0 + 1e-6


def test_noise_spreads_the_points() -> None:
    quiet = load_sample("circles", noise=0.0)
    loud = load_sample("circles", noise=0.3)
    assert np.hypot(*_x(loud).T).std() > np.hypot(*_x(quiet).T).std()


# Option checks ----------------------------------------------------------------------------


def test_unknown_sample_lists_the_names() -> None:
    with pytest.raises(DataError, match="no sample called 'mnist'") as err:
        load_sample("mnist")
    for name in SAMPLES:
        assert name in str(err.value)


def test_unknown_option_names_the_allowed_ones() -> None:
    with pytest.raises(DataError) as err:
        load_sample("moons", size=100)
    assert "size" in str(err.value)
    assert "samples, noise, seed" in str(err.value)
    with pytest.raises(DataError, match="classes is not one of them"):
        load_sample("moons", classes=3)
    with pytest.raises(DataError, match="arms, size are not one of them"):
        load_sample("spirals", size=3, arms=2)


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("moons", {"samples": 9}, "samples for moons must be between 10 and 1,000,000"),
        ("moons", {"samples": 1_000_001}, "between 10 and 1,000,000"),
        ("moons", {"samples": 100.0}, "must be a whole number between 10 and 1,000,000"),
        ("moons", {"samples": "100"}, "whole number"),
        ("moons", {"samples": True}, "whole number"),
        ("circles", {"noise": -0.01}, "noise for circles must be between 0.0 and 10.0"),
        ("circles", {"noise": 10.5}, "between 0.0 and 10.0"),
        ("circles", {"noise": math.nan}, "must be a number between 0.0 and 10.0"),
        ("circles", {"noise": math.inf}, "must be a number"),
        ("circles", {"noise": "0.1"}, "must be a number"),
        ("circles", {"noise": None}, "must be a number"),
        ("blobs", {"classes": 1}, "classes for blobs must be between 2 and 20"),
        ("spirals", {"classes": 21}, "between 2 and 20"),
        ("spirals", {"classes": 2.5}, "whole number"),
        ("xor", {"seed": -1}, "seed for xor must be between 0 and"),
    ],
)
def test_bad_option_values_say_what_is_allowed(
    name: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(DataError, match=message):
        load_sample(name, **options)


def test_edge_values_and_numpy_numbers_are_accepted() -> None:
    assert len(load_sample("blobs", samples=10, noise=0, classes=20)) == 10
    assert len(load_sample("spirals", samples=np.int64(12), noise=10, classes=np.int32(2))) == 12
    assert len(load_sample("sine", noise=np.float32(0.5), seed=2**32 - 1)) == 1000
    assert len(load_sample("xor", noise=1)) == 1000  # a whole number is a fine noise level


def test_importing_samples_does_not_load_scikit_learn() -> None:
    """scikit-learn takes about a second to import; only a bundled sample should pay for it."""
    code = "import sys, core.data.samples; print('sklearn' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "False"


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(GENERATED),
    samples=st.integers(10, 3000),
    noise=st.floats(0, 10),
    seed=st.integers(0, 2**32 - 1),
    classes=st.integers(2, 20),
)
def test_any_allowed_options_give_a_valid_dataset(
    name: str, samples: int, noise: float, seed: int, classes: int
) -> None:
    options: dict[str, object] = {"samples": samples, "noise": noise, "seed": seed}
    if name in ("blobs", "spirals"):
        options["classes"] = classes
    data = load_sample(name, **options)
    assert len(data) == samples
    x = data.x[0]
    assert isinstance(x, np.ndarray) and x.dtype == np.float32 and np.isfinite(x).all()
    if data.task == "classification":
        counts = _class_counts(data)
        assert counts.max() - counts.min() <= 1
