"""BatchLoader: batches in order, read in worker processes or in the calling thread."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.data import DataError, split
from core.data.images import ImageFolderSource, read_image_folder
from core.data.loader import MIN_BATCHES_PER_WORKER, BatchLoader, auto_workers


def children() -> set[int]:
    return {p.pid for p in multiprocessing.active_children() if p.pid is not None}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """3 classes of 8 small PNGs, each image a different pattern."""
    rng = np.random.default_rng(0)
    for i in range(24):
        sub = tmp_path / f"class{i % 3}"
        sub.mkdir(exist_ok=True)
        pixels = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(sub / f"{i:02d}.png")
    return tmp_path


def lazy(folder: Path) -> ImageFolderSource:
    source = read_image_folder(folder, size=(6, 5), memory_budget=100).x[0]
    assert isinstance(source, ImageFolderSource)
    return source


def in_batches(n: int, size: int, seed: int = 0) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return [order[s : s + size] for s in range(0, n, size)]


def test_arrays_in_order_with_float64_as_float32() -> None:
    x = np.arange(40, dtype=np.float64).reshape(10, 4)
    ids = np.arange(10, dtype=np.int64) * 3
    chosen = in_batches(10, 3)
    got = list(BatchLoader([x, ids], workers=2).batches(chosen))
    assert len(got) == len(chosen)
    for index, (a, b) in zip(chosen, got, strict=True):
        assert a.dtype == torch.float32 and b.dtype == torch.int64
        assert a.is_contiguous() and b.is_contiguous()
        np.testing.assert_array_equal(a.numpy(), x[index].astype(np.float32))
        np.testing.assert_array_equal(b.numpy(), ids[index])


@pytest.mark.parametrize("workers", [0, 2])
def test_image_folder_batches_equal_take(folder: Path, workers: int) -> None:
    source = lazy(folder)
    extra = np.arange(len(source), dtype=np.float64)  # an in-memory input beside it
    chosen = in_batches(len(source), 5)
    assert len(chosen) >= MIN_BATCHES_PER_WORKER * 2
    loader = BatchLoader([extra, source], workers=workers)
    assert loader.workers == workers
    before = children()
    run = loader.batches(chosen)
    first = next(run)
    assert (len(children() - before) == workers) if workers else children() == before
    got = [first, *run]
    assert len(got) == len(chosen)
    for index, (e, images) in zip(chosen, got, strict=True):
        np.testing.assert_array_equal(e.numpy(), index.astype(np.float32))
        assert images.dtype == torch.float32 and images.shape == (len(index), 3, 6, 5)
        np.testing.assert_array_equal(images.numpy(), source.take(index))
    assert children() == before


def test_workers_zero_and_two_agree_on_a_split(folder: Path) -> None:
    data = read_image_folder(folder, size=(6, 5), memory_budget=100)
    train = split(data, validation=0.25, seed=3).train  # a lazy subset of the folder
    chosen = in_batches(len(train), 4, seed=1)
    here = list(BatchLoader(train.x, workers=0).batches(chosen))
    there = list(BatchLoader(train.x, workers=2).batches(chosen))
    assert len(here) == len(there) == len(chosen)
    for a, b in zip(here, there, strict=True):
        assert torch.equal(a[0], b[0])


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("damage", ["corrupt", "deleted"])
def test_image_damaged_after_loading_is_a_data_error(
    folder: Path, workers: int, damage: str
) -> None:
    source = lazy(folder)
    victim = Path(source.paths[13])
    if damage == "corrupt":
        victim.write_bytes(b"not a png at all")
    else:
        victim.unlink()
    chosen = [np.arange(s, s + 4) for s in range(0, 24, 4)]
    run = BatchLoader([source], workers=workers).batches(chosen)
    assert next(run)[0].shape[0] == 4  # the batches before it read
    with pytest.raises(DataError, match=rf"The image .*{victim.name} could not be read") as err:
        list(run)
    assert "Traceback" not in str(err.value)
    assert not multiprocessing.active_children()


def test_black_when_asked_and_recorded_in_the_callers_source(folder: Path) -> None:
    data = read_image_folder(folder, size=(6, 5), memory_budget=100)
    source = data.x[0]
    assert isinstance(source, ImageFolderSource)
    victim = source.paths[5]
    Path(victim).write_bytes(b"broken")
    part = data.subset(np.arange(2, 24))  # a subset: the record goes to the folder's source
    chosen = [np.arange(s, s + 2) for s in range(0, 22, 2)]
    got = list(BatchLoader(part.x, workers=2, unreadable="black").batches(chosen))
    assert torch.all(got[1][0][1] == 0) and not torch.all(got[1][0][0] == 0)  # sample 5
    assert source.unreadable == {victim}


@pytest.mark.parametrize("how", ["close", "del", "loader.close"])
def test_stopping_early_stops_the_workers(folder: Path, how: str) -> None:
    source = lazy(folder)
    chosen = [np.array([i % 24]) for i in range(400)]
    loader = BatchLoader([source], workers=2, prefetch=4)
    before = children()
    run = loader.batches(chosen)
    next(run), next(run)
    assert len(children() - before) == 2
    start = time.perf_counter()
    if how == "close":
        run.close()
    elif how == "del":
        del run
    else:
        loader.close()
    assert time.perf_counter() - start < 2
    assert children() == before


def test_few_batches_start_fewer_workers_or_none(folder: Path) -> None:
    source = lazy(folder)
    loader = BatchLoader([source], workers=2)
    for n, started in [(MIN_BATCHES_PER_WORKER - 1, 0), (2 * MIN_BATCHES_PER_WORKER - 1, 1)]:
        chosen = in_batches(len(source), 2)[:n]
        before = children()
        run = loader.batches(chosen)
        got = [next(run)]
        assert len(children() - before) == started
        got += run
        for (images,), index in zip(got, chosen, strict=True):
            np.testing.assert_array_equal(images.numpy(), source.take(index))
        assert children() == before


class Unpicklable:
    """A lazy source that cannot go to another process, and whose file has gone."""

    shape = (6, 2)
    dtype = np.dtype(np.float32)

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return 6

    def take(self, indices: np.ndarray) -> np.ndarray:
        if 5 in indices:
            raise FileNotFoundError(2, "No such file or directory", "/data/part5.bin")
        return np.ones((len(indices), 2), dtype=np.float32)


def test_a_source_that_does_not_pickle_is_read_here_and_errors_are_sentences() -> None:
    loader = BatchLoader([Unpicklable()], workers=2)
    assert loader.workers == 0
    run = loader.batches([np.array([0, 1]), np.array([4, 5])])
    assert next(run)[0].shape == (2, 2)
    with pytest.raises(DataError, match=r"^/data/part5\.bin could not be read"):
        next(run)


def test_automatic_workers() -> None:
    assert 0 <= auto_workers() <= 4
    assert BatchLoader([np.zeros(3)]).workers == 0  # nothing lazy: nothing to read ahead
