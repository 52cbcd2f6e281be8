"""The data cache: a decoded image folder loads again from the cache, exactly as decoded, and
never from a stale, damaged or unwritable cache."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from core.data import cache, images
from core.data.images import read_image_folder

Image = pytest.importorskip("PIL.Image")


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache of this test's own, and the default configuration afterwards."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.ENVIRONMENT, str(folder))
    yield folder
    cache.configure()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two classes of random pictures, and one file that is not a readable image."""
    rng = np.random.default_rng(0)
    root = tmp_path / "pictures"
    for name in ("cats", "dogs"):
        (root / name).mkdir(parents=True)
        for i in range(6):
            pixels = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    (root / "dogs" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    return root


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The images decoded (every call of the decoder, by path)."""
    seen: list[str] = []
    real = images._decode

    def counting(path: Path | str, size: tuple[int, int], color: images.Color) -> np.ndarray:
        seen.append(Path(path).name)
        return real(path, size, color)

    monkeypatch.setattr(images, "_decode", counting)
    return seen


def test_the_second_load_comes_from_the_cache_exactly(folder: Path, decodes: list[str]) -> None:
    first = read_image_folder(folder, size=(8, 8))
    assert len(decodes) == 13 and cache.usage()[1] == 1
    decodes.clear()
    again = read_image_folder(folder, size=(8, 8))
    assert decodes == []  # nothing decoded
    assert isinstance(first.x[0], np.ndarray) and isinstance(again.x[0], np.ndarray)
    np.testing.assert_array_equal(again.x[0], first.x[0])
    assert again.x[0].dtype == np.float32 and again.x[0].flags.c_contiguous
    np.testing.assert_array_equal(again.y, first.y)
    assert again.notes == first.notes and any("broken.jpg" in n for n in again.notes)


def test_another_size_or_colour_is_another_entry(folder: Path, decodes: list[str]) -> None:
    read_image_folder(folder, size=(8, 8))
    read_image_folder(folder, size=(8, 9))
    read_image_folder(folder, size=(8, 8), color="grayscale")
    assert len(decodes) == 3 * 13 and cache.usage()[1] == 3
    grey = read_image_folder(folder, size=(8, 8), color="grayscale")
    assert len(decodes) == 3 * 13 and grey.x[0].shape == (12, 1, 8, 8)


def test_a_changed_added_or_removed_file_is_decoded_again(folder: Path, decodes: list[str]) -> None:
    read_image_folder(folder, size=(8, 8))
    white = folder / "cats" / "0.png"
    Image.new("RGB", (16, 12), (255, 255, 255)).save(white)
    os.utime(white, ns=(1, 1))  # another time, whatever the clock's resolution
    changed = read_image_folder(folder, size=(8, 8))
    x = changed.x[0]
    assert isinstance(x, np.ndarray) and (x[0] == 1).all()  # the new picture, not the old
    decodes.clear()
    Image.new("RGB", (16, 12), (0, 0, 0)).save(folder / "cats" / "new.png")
    assert len(read_image_folder(folder, size=(8, 8)).y) == 13 and len(decodes) == 14
    (folder / "dogs" / "0.png").unlink()
    assert len(read_image_folder(folder, size=(8, 8)).y) == 12


def test_a_damaged_entry_is_decoded_again_and_replaced(
    folder: Path, own_cache: Path, decodes: list[str]
) -> None:
    first = read_image_folder(folder, size=(8, 8))
    (entry,) = own_cache.glob("*.npz")
    entry.write_bytes(entry.read_bytes()[:100])  # cut short, as by a full disk
    decodes.clear()
    again = read_image_folder(folder, size=(8, 8))
    assert len(decodes) == 13
    np.testing.assert_array_equal(again.x[0], first.x[0])
    decodes.clear()
    read_image_folder(folder, size=(8, 8))
    assert decodes == []  # written again, whole


def test_an_entry_of_the_wrong_shape_is_not_used(
    folder: Path, own_cache: Path, decodes: list[str]
) -> None:
    first = read_image_folder(folder, size=(8, 8))
    (entry,) = own_cache.glob("*.npz")
    with entry.open("wb") as out:
        np.savez(out, pixels=np.zeros((3, 3, 8, 8), np.uint8), ok=np.ones(13, bool))
    again = read_image_folder(folder, size=(8, 8))
    np.testing.assert_array_equal(again.x[0], first.x[0])


def test_an_unwritable_cache_only_makes_loading_slower(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, decodes: list[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(cache.ENVIRONMENT, str(blocker / "cache"))
    first = read_image_folder(folder, size=(8, 8))
    again = read_image_folder(folder, size=(8, 8))
    assert len(decodes) == 26
    np.testing.assert_array_equal(again.x[0], first.x[0])
    assert cache.usage() == (0, 0)
    assert not list(tmp_path.glob("**/*.tmp"))


def test_off_means_nothing_is_written(
    folder: Path, own_cache: Path, decodes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache.configure(enabled=False)
    read_image_folder(folder, size=(8, 8))
    read_image_folder(folder, size=(8, 8))
    assert len(decodes) == 26 and not own_cache.exists() and cache.cache_folder() is None


def test_the_environment_chooses_the_folder_before_preferences(
    tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache.configure(tmp_path / "chosen")
    assert cache.cache_folder() == own_cache
    monkeypatch.delenv(cache.ENVIRONMENT)
    assert cache.cache_folder() == tmp_path / "chosen"
    cache.configure()
    assert cache.cache_folder() == cache.default_cache_folder()


def test_the_least_recently_used_go_first_past_the_limit(own_cache: Path) -> None:
    block = np.zeros(1000, np.uint8)
    assert cache.store("a", {"pixels": block})
    entry = (own_cache / "a.npz").stat().st_size  # the array and the file's headers
    cache.configure(limit=int(3.5 * entry))
    for name in ("b", "c"):
        assert cache.store(name, {"pixels": block})
    os.utime(own_cache / "a.npz", (1, 1))
    os.utime(own_cache / "b.npz", (2, 2))
    os.utime(own_cache / "c.npz", (3, 3))
    assert cache.cached("a") is not None  # used now: the newest
    assert cache.store("d", {"pixels": block})
    assert sorted(p.stem for p in own_cache.glob("*.npz")) == ["a", "c", "d"]
    assert not cache.store("huge", {"pixels": np.zeros(5 * entry, np.uint8)})  # never fits
    size, entries = cache.usage()
    assert entries == 3 and size <= 3.5 * entry


def test_clear_removes_entries_and_interrupted_writes(own_cache: Path) -> None:
    assert cache.store("a", {"pixels": np.arange(10)})
    (own_cache / "b.123.tmp").write_bytes(b"half")
    assert cache.clear() > 0
    assert list(own_cache.iterdir()) == [] and cache.usage() == (0, 0)
