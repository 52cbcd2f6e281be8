"""The shared Dataset: checks on the way in, subsets, lazy sources, splits and descriptions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.data import ArraySource, DataError, Dataset, Splits, describe, split, take


def indexed(
    counts: list[int], task: str = "classification", names: bool = True, seed: int = 0
) -> Dataset:
    """``counts[c]`` samples of class ``c`` in shuffled order; ``x[i]`` holds ``i`` itself."""
    y = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    y = np.random.default_rng(seed).permutation(y)
    n = len(y)
    x = np.arange(n, dtype=np.float64).reshape(n, 1)
    if task == "regression":
        return Dataset("numbers", [x], y.astype(np.float32).reshape(n, 1), "regression")
    return Dataset(
        "numbers",
        [x],
        y,
        "classification",
        class_names=[f"c{c}" for c in range(len(counts))] if names else None,
        feature_names=["index"],
        notes=["made for a test"],
        source="test:numbers",
    )


def ids(part: Dataset | None) -> np.ndarray:
    """The original sample indices in a part (empty for a missing part)."""
    if part is None:
        return np.zeros(0, dtype=np.int64)
    x = part.x[0]
    array = x if isinstance(x, np.ndarray) else x.take(np.arange(len(x)))
    return array[:, 0].astype(np.int64)


def check_partition(data: Dataset, parts: Splits) -> None:
    """The parts hold every sample exactly once, each with its own target."""
    every = np.concatenate([ids(parts.train), ids(parts.validation), ids(parts.test)])
    np.testing.assert_array_equal(np.sort(every), np.arange(len(data)))
    for part in (parts.train, parts.validation, parts.test):
        if part is not None:
            np.testing.assert_array_equal(part.y, data.y[ids(part)])


def check_stratified(data: Dataset, parts: Splits, validation: float, test: float) -> None:
    """Each class's count in each part is within one sample of its proportional share."""
    for part, share in (
        (parts.train, 1 - validation - test),
        (parts.validation, validation),
        (parts.test, test),
    ):
        y = np.zeros(0, dtype=np.int64) if part is None else part.y
        for c in range(data.num_classes):
            size = int((data.y == c).sum())
            assert abs(int((y == c).sum()) - share * size) <= 1 + 1e-9, (c, share, size)


# Dataset ----------------------------------------------------------------------------------


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(DataError, match="Input 2 has 3 samples but there are 4 targets"):
        Dataset("d", [np.zeros((4, 1)), np.zeros((3, 2))], np.zeros(4, np.int64), "classification")


def test_class_ids_need_names() -> None:
    with pytest.raises(DataError, match=r"class id \(2\) has no name among 2"):
        Dataset("d", [np.zeros((3, 1))], np.array([0, 1, 2]), "classification", ["a", "b"])


def test_negative_class_id_is_named() -> None:
    with pytest.raises(DataError, match=r"\(-1\)"):
        Dataset("d", [np.zeros((2, 1))], np.array([-1, 0]), "classification", ["a", "b"])


def test_negative_class_id_without_names_is_refused() -> None:
    with pytest.raises(DataError):
        describe(Dataset("d", [np.zeros((2, 1))], np.array([-1, 0]), "classification"))


def test_sizes_and_shapes() -> None:
    data = Dataset(
        "d", [np.zeros((5, 1, 8, 8), np.float32), np.zeros((5, 3))], np.zeros(5), "regression"
    )
    assert len(data) == 5
    assert data.input_shapes == [(1, 8, 8), (3,)]
    assert data.num_classes == 0
    assert indexed([3, 4]).num_classes == 2
    assert indexed([3, 4], names=False).num_classes == 2
    assert (
        Dataset("e", [np.zeros((0, 2))], np.zeros(0, np.int64), "classification").num_classes == 0
    )


def test_subset_keeps_names_and_picks_samples() -> None:
    data = indexed([5, 5, 5])
    part = data.subset([4, 0, 7])
    assert ids(part).tolist() == [4, 0, 7]
    np.testing.assert_array_equal(part.y, data.y[[4, 0, 7]])
    assert part.name == data.name
    assert part.task == data.task
    assert part.class_names == data.class_names
    assert part.feature_names == data.feature_names
    assert part.notes == data.notes
    assert part.source == data.source
    assert len(data) == 15  # the original is untouched
    assert len(data.subset(np.array([], dtype=np.int64))) == 0


def test_take_keeps_arrays_as_arrays() -> None:
    array = np.arange(10)
    chosen = take(array, np.array([3, 1]))
    assert isinstance(chosen, np.ndarray) and chosen.tolist() == [3, 1]


# Lazy sources -----------------------------------------------------------------------------


class Squares:
    """A lazy source: sample ``i`` is ``[i, i * i]``, made when it is taken."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.taken: list[list[int]] = []

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.n, 2)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float64)

    def __len__(self) -> int:
        return self.n

    def take(self, indices: np.ndarray) -> np.ndarray:
        i = np.asarray(indices, dtype=np.int64)
        assert ((i >= 0) & (i < self.n)).all()
        self.taken.append(i.tolist())
        return np.stack([i, i * i], axis=1).astype(np.float64)


def test_lazy_source_stays_lazy_through_subset_and_take() -> None:
    source = Squares(20)
    assert isinstance(source, ArraySource)
    data = Dataset("lazy", [source], np.arange(20) % 2, "classification", ["even", "odd"])
    assert data.input_shapes == [(2,)]
    part = data.subset([10, 3, 5, 18])
    x = part.x[0]
    assert not isinstance(x, np.ndarray) and isinstance(x, ArraySource)
    assert source.taken == []  # nothing read yet
    assert len(x) == 4 and x.shape == (4, 2) and x.dtype == np.float64
    assert part.input_shapes == [(2,)]
    np.testing.assert_array_equal(x.take(np.array([0, 3])), [[10, 100], [18, 324]])
    smaller = part.subset([3, 1])  # a subset of a subset
    y = smaller.x[0]
    assert isinstance(y, ArraySource)
    np.testing.assert_array_equal(y.take(np.arange(2)), [[18, 324], [3, 9]])
    np.testing.assert_array_equal(smaller.y, [0, 1])
    assert source.taken == [[10, 18], [18, 3]]


def test_lazy_source_splits() -> None:
    source = Squares(50)
    data = Dataset("lazy", [source], np.arange(50) % 5, "classification")
    parts = split(data, validation=0.2, test=0.2, seed=3)
    assert isinstance(parts.train.x[0], ArraySource)
    assert parts.validation is not None and parts.test is not None
    assert (len(parts.train), len(parts.validation), len(parts.test)) == (30, 10, 10)
    assert source.taken == []
    every = np.concatenate([ids(parts.train), ids(parts.validation), ids(parts.test)])
    assert sorted(every.tolist()) == list(range(50))
    np.testing.assert_array_equal(parts.test.y, ids(parts.test) % 5)


# split ------------------------------------------------------------------------------------


def test_split_sizes_and_stratification() -> None:
    data = indexed([500, 300, 150, 50])
    parts = split(data, validation=0.2, test=0.1, seed=1)
    assert parts.validation is not None and parts.test is not None
    assert (len(parts.train), len(parts.validation), len(parts.test)) == (700, 200, 100)
    check_partition(data, parts)
    check_stratified(data, parts, 0.2, 0.1)
    assert parts.train.class_names == data.class_names
    assert parts.test.source == data.source


def test_split_with_uneven_classes_stays_within_one_sample() -> None:
    data = indexed([7, 13, 1, 2, 29])
    for validation, test in ((0.2, 0.0), (0.25, 0.25), (0.33, 0.1), (0.0, 0.5)):
        parts = split(data, validation=validation, test=test, seed=4)
        check_partition(data, parts)
        check_stratified(data, parts, validation, test)


def test_split_shuffles_each_part() -> None:
    parts = split(indexed([100, 100]), validation=0.5, seed=0)
    assert parts.validation is not None
    for part in (parts.train, parts.validation):
        assert (np.diff(part.y) != 0).sum() > 10  # classes are mixed, not in blocks
        assert (np.diff(ids(part)) < 0).any()  # and not in the original order


def test_split_without_stratification_and_for_regression() -> None:
    for data in (indexed([90, 10]), indexed([60, 40], task="regression")):
        parts = split(data, validation=0.3, test=0.2, seed=5, stratify=False)
        assert parts.validation is not None and parts.test is not None
        assert (len(parts.train), len(parts.validation), len(parts.test)) == (50, 30, 20)
        check_partition(data, parts)
    regression = indexed([60, 40], task="regression")
    parts = split(regression, validation=0.25, seed=1)  # regression is never stratified
    assert parts.train.y.shape == (75, 1)
    check_partition(regression, parts)


def test_split_is_seeded() -> None:
    data = indexed([40, 60])
    first = split(data, validation=0.2, test=0.2, seed=11)
    again = split(data, validation=0.2, test=0.2, seed=11)
    other = split(data, validation=0.2, test=0.2, seed=12)
    for a, b in ((first.train, again.train), (first.validation, again.validation)):
        np.testing.assert_array_equal(ids(a), ids(b))
    assert not np.array_equal(ids(first.train), ids(other.train))
    assert not np.array_equal(np.sort(ids(first.test)), np.sort(ids(other.test)))


def test_empty_parts_are_none() -> None:
    data = indexed([10, 10])
    parts = split(data, validation=0.0, test=0.0)
    assert parts.validation is None and parts.test is None
    assert len(parts.train) == 20
    parts = split(data, validation=0.0, test=0.3)
    assert parts.validation is None and parts.test is not None and len(parts.test) == 6
    parts = split(indexed([1, 1]), validation=0.2)  # 0.2 of one sample rounds to none
    assert parts.validation is None and len(parts.train) == 2


@pytest.mark.parametrize(
    ("validation", "test"),
    [(-0.1, 0.0), (1.0, 0.0), (0.0, 1.0), (0.5, 0.5), (0.7, 0.4), (math.nan, 0.0), (0.2, -0.01)],
)
def test_bad_fractions_are_refused(validation: float, test: float) -> None:
    with pytest.raises(DataError, match="between 0 and 1, and leave some data to train on"):
        split(indexed([10, 10]), validation=validation, test=test)


def test_too_little_data_is_refused() -> None:
    with pytest.raises(DataError, match=r"numbers has too few samples \(1\) to keep any"):
        split(indexed([1]), validation=0.6)
    with pytest.raises(DataError, match=r"too few samples \(2\)"):
        split(indexed([2]), validation=0.5, test=0.45)
    with pytest.raises(DataError, match=r"too few samples \(0\)"):
        split(indexed([]), validation=0.2)


def test_split_totals_follow_the_fractions() -> None:
    """Ten classes of two: 0.2 of 20 samples is 4, but every class rounds 0.4 down to 0."""
    parts = split(indexed([2] * 10), validation=0.2, seed=0)
    assert parts.validation is not None and len(parts.validation) == 4


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    validation=st.floats(0, 0.6),
    test=st.floats(0, 0.35),
    seed=st.integers(0, 2**32 - 1),
    stratify=st.booleans(),
)
def test_split_properties(
    counts: list[int], validation: float, test: float, seed: int, stratify: bool
) -> None:
    data = indexed(counts, seed=seed)
    try:
        parts = split(data, validation=validation, test=test, seed=seed, stratify=stratify)
    except DataError as err:
        assert "too few samples" in str(err)
        return
    check_partition(data, parts)
    if stratify:
        check_stratified(data, parts, validation, test)
    again = split(data, validation=validation, test=test, seed=seed, stratify=stratify)
    np.testing.assert_array_equal(ids(parts.train), ids(again.train))


# describe ---------------------------------------------------------------------------------


def test_describe_counts_classes() -> None:
    summary = describe(indexed([10, 12, 15]))
    assert summary.name == "numbers"
    assert summary.samples == 37
    assert summary.input_shapes == [(1,)]
    assert summary.task == "classification"
    assert summary.classes == ["c0", "c1", "c2"]
    assert summary.counts == [10, 12, 15]
    assert summary.target_shape == ()
    assert summary.balanced
    assert summary.lines() == [
        "numbers: 37 samples of shape 1.",
        "3 classes.",
        "made for a test",
    ]


def test_describe_names_classes_when_the_data_does_not() -> None:
    summary = describe(indexed([3, 0, 4], names=False))
    assert summary.classes == ["0", "1", "2"]
    assert summary.counts == [3, 0, 4]


def test_describe_flags_unbalanced_data() -> None:
    assert describe(indexed([10, 15])).balanced  # 1.5 times is still balanced
    summary = describe(indexed([1000, 1501]))
    assert not summary.balanced
    assert summary.lines()[1] == "2 classes (unbalanced: c0 1,000, c1 1,501)."
    assert summary.lines()[0] == "numbers: 2,501 samples of shape 1."


def test_describe_a_class_with_no_samples_is_unbalanced() -> None:
    assert not describe(indexed([5, 0])).balanced


def test_describe_a_missing_class_is_unbalanced_even_in_tiny_data() -> None:
    assert not describe(indexed([1, 0])).balanced


def test_describe_regression_and_images() -> None:
    images = Dataset(
        "pictures",
        [np.zeros((6, 3, 4, 5), np.float32)],
        np.zeros((6, 2), np.float32),
        "regression",
        notes=["scaled"],
    )
    summary = describe(images)
    assert summary.classes == [] and summary.counts == [] and summary.balanced
    assert summary.target_shape == (2,)
    assert summary.lines() == [
        "pictures: 6 samples of shape 3×4×5.",
        "Regression: 2 numbers to predict.",
        "scaled",
    ]
    one = describe(indexed([3, 3], task="regression"))
    assert one.lines()[1] == "Regression: 1 number to predict."


def test_describe_several_inputs_and_empty_data() -> None:
    data = Dataset(
        "two", [np.zeros((4, 2)), np.zeros((4, 3, 7))], np.array([0, 1, 0, 1]), "classification"
    )
    assert describe(data).lines()[0] == "two: 4 samples of shape 2, 3×7."
    empty = describe(indexed([]))
    assert empty.samples == 0 and empty.counts == [] and empty.balanced
