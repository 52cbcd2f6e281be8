"""Image folders as datasets: decoding, sizes, colours, the lazy source, bad files."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from core.data.dataset import ArraySource, DataError, split
from core.data.images import ImageFolderSource, read_image_folder, thumbnails

Image = pytest.importorskip("PIL.Image")

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def save(path: Path, color: tuple[int, int, int], size: tuple[int, int] = (8, 6)) -> Path:
    """A plain image of ``color``, ``size`` = (width, height), format from the extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three classes (made out of order), mixed formats and sizes, and some clutter."""
    root = tmp_path / "pictures"
    save(root / "red" / "a.png", RED)
    save(root / "red" / "b.PNG", RED, (10, 10))
    save(root / "red" / "nested" / "c.bmp", RED)
    save(root / "green" / "a.jpg", GREEN)
    save(root / "green" / "b.JPEG", GREEN)
    save(root / "blue" / "a.bmp", BLUE)
    save(root / "blue" / "b.png", BLUE)
    (root / "blue" / "broken.png").write_bytes(b"\x89PNG not really an image")
    (root / "blue" / "readme.txt").write_text("not an image")
    (root / "blue" / ".DS_Store").write_bytes(b"\0")
    (root / "empty").mkdir()
    (root / ".hidden").mkdir()
    save(root / ".hidden" / "x.png", RED)
    return root


def pixels(x: object) -> np.ndarray:
    assert isinstance(x, np.ndarray)
    return x


def test_classes_shapes_and_colours(folder: Path) -> None:
    ds = read_image_folder(folder, size=(4, 5))
    assert ds.class_names == ["blue", "green", "red"]
    assert ds.task == "classification" and ds.source == str(folder) and ds.name == "pictures"
    x = pixels(ds.x[0])
    assert x.shape == (len(ds), 3, 4, 5) and x.dtype == np.float32 and x.flags.c_contiguous
    assert ds.y.tolist() == [0, 0, 1, 1, 2, 2, 2]
    means = x.mean(axis=(2, 3))
    for label, channel in ((0, 2), (1, 1), (2, 0)):
        rows = means[ds.y == label]
        np.testing.assert_allclose(rows[:, channel], 1, atol=0.02)  # JPEG is close, not exact
        np.testing.assert_allclose(np.delete(rows, channel, axis=1), 0, atol=0.02)
    red = x[ds.y == 2]
    assert np.all(red[:, 0] == 1) and np.all(red[:, 1:] == 0)  # lossless formats are exact


def test_notes_name_what_was_left_out(folder: Path) -> None:
    notes = " ".join(read_image_folder(folder).notes)
    assert "Skipped 1 image that could not be read: blue/broken.png" in notes
    assert "Skipped 1 file that are not images: blue/readme.txt" in notes
    assert "not used as classes: empty" in notes
    assert ".DS_Store" not in notes and ".hidden" not in notes
    assert "7 colour images, resized to 32×32" in notes


def test_grayscale_uses_luma(folder: Path) -> None:
    ds = read_image_folder(folder, size=(3, 3), color="grayscale")
    x = pixels(ds.x[0])
    assert x.shape == (7, 1, 3, 3)
    np.testing.assert_allclose(x[ds.y == 2], 76 / 255, atol=1e-6)  # 0.299 × 255
    np.testing.assert_allclose(x[ds.y == 0], 29 / 255, atol=1e-6)  # 0.114 × 255


def test_auto_size_is_the_most_common(folder: Path) -> None:
    ds = read_image_folder(folder, size="auto")
    assert ds.input_shapes == [(3, 6, 8)]
    assert any("6×8 (6), 10×10 (1)" in n for n in ds.notes)


@pytest.mark.parametrize("workers", [0, 3])
def test_lazy_source_matches_memory(folder: Path, workers: int) -> None:
    eager = read_image_folder(folder, size=(5, 7), workers=workers)
    lazy = read_image_folder(folder, size=(5, 7), memory_budget=100, workers=workers)
    source = lazy.x[0]
    assert isinstance(source, ImageFolderSource) and isinstance(source, ArraySource)
    assert source.shape == (7, 3, 5, 7) and source.dtype == np.float32 and len(source) == 7
    assert lazy.y.tolist() == eager.y.tolist() and lazy.class_names == eager.class_names
    assert any("read from disk" in n for n in lazy.notes)
    assert any("blue/broken.png" in n for n in lazy.notes)
    everything = source.take(np.arange(7))
    assert everything.flags.c_contiguous
    np.testing.assert_array_equal(everything, pixels(eager.x[0]))
    order = np.array([6, 0, 3])
    np.testing.assert_array_equal(source.take(order), pixels(eager.x[0])[order])
    parts = split(lazy, validation=0.3, seed=1)
    sub = parts.train.x[0]
    assert not isinstance(sub, np.ndarray)
    np.testing.assert_array_equal(sub.take(np.arange(len(sub))).shape, (len(sub), 3, 5, 7))


def test_damaged_image_found_late_is_black_and_recorded(tmp_path: Path) -> None:
    good = save(tmp_path / "c" / "good.png", RED, (64, 64))
    data = good.read_bytes()
    cut = tmp_path / "c" / "cut.png"
    cut.write_bytes(data[: len(data) // 2])  # the header reads, the pixels do not
    eager = read_image_folder(tmp_path, size=(4, 4))
    assert len(eager) == 1 and any("c/cut.png" in n for n in eager.notes)
    source = ImageFolderSource([good, cut], (4, 4), "rgb")
    out = source.take(np.array([0, 1]))
    assert np.all(out[1] == 0) and np.all(out[0, 0] == 1)
    assert source.unreadable == {str(cut)}


def test_unusual_modes(tmp_path: Path) -> None:
    deep = np.full((4, 4), 65535, dtype=np.uint16)
    (tmp_path / "a").mkdir()
    Image.fromarray(deep).save(tmp_path / "a" / "deep.png")  # 16-bit grey
    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette.info["transparency"] = 0
    palette.save(tmp_path / "a" / "palette.png", transparency=0)
    Image.new("RGBA", (4, 4), (0, 255, 0, 128)).save(tmp_path / "a" / "alpha.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = read_image_folder(tmp_path, size=(4, 4))
    x = pixels(ds.x[0])
    np.testing.assert_allclose(x[0, 1], 1)  # alpha.png: green
    np.testing.assert_allclose(x[1], 1)  # deep.png: white
    np.testing.assert_allclose(x[2, 0], 1)  # palette.png: red


def test_exif_rotation_is_applied(tmp_path: Path) -> None:
    image = Image.new("RGB", (6, 2), RED)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° when shown
    (tmp_path / "a").mkdir()
    image.save(tmp_path / "a" / "r.jpg", exif=exif)
    assert read_image_folder(tmp_path, size="auto").input_shapes == [(3, 6, 2)]


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no folder"):
        read_image_folder(tmp_path / "nowhere")
    save(tmp_path / "loose.png", RED)
    with pytest.raises(DataError, match=r"no subfolders.*1 image directly"):
        read_image_folder(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="None of the subfolders"):
        read_image_folder(tmp_path)
    (tmp_path / "a" / "bad.jpg").write_bytes(b"junk")
    with pytest.raises(DataError, match="could be read"):
        read_image_folder(tmp_path)
    with pytest.raises(DataError, match="could be read"):
        read_image_folder(tmp_path, size="auto")
    save(tmp_path / "a" / "good.png", RED)
    with pytest.raises(DataError, match="height, width"):
        read_image_folder(tmp_path, size=(0, 4))
    assert read_image_folder(tmp_path, size=[np.int64(3), 2]).input_shapes == [(3, 3, 2)]  # type: ignore[arg-type]
    with pytest.raises(DataError, match="colour"):
        read_image_folder(tmp_path, color="cmyk")  # type: ignore[arg-type]
    assert any("only one class" in n for n in read_image_folder(tmp_path).notes)


def test_thumbnails(folder: Path) -> None:
    shown = thumbnails(folder, per_class=2, size=5)
    assert list(shown) == ["blue", "green", "red"]
    assert [len(v) for v in shown.values()] == [2, 2, 2]
    for images in shown.values():
        for image in images:
            assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
            assert max(image.shape[:2]) <= 5
    assert shown["red"][0].shape == (4, 5, 3)  # 8×6 kept its aspect ratio
    assert np.all(shown["red"][0][..., 0] == 255)
