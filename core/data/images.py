"""Folders of images, one subfolder per class, as datasets.

``cats/``, ``dogs/``, ... inside a folder: the sorted subfolder names are the class names, every
PNG, JPEG, BMP or GIF inside a subfolder (at any depth) is a sample of that class. Images are
decoded with Pillow (imported only when images are read), resized to one size and given in the
studio's layout, ``(N, C, H, W)`` float32 in [0, 1]. A folder too big for the memory budget
becomes an :class:`ImageFolderSource` that decodes images when the trainer asks for them.
Unreadable images are skipped and named in the dataset's notes, never a crash.
"""

from __future__ import annotations

import contextlib
import operator
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import numpy as np

from core.data import cache
from core.data.dataset import DataError, Dataset

if TYPE_CHECKING:
    from PIL import Image

Color = Literal["grayscale", "rgb"]
T = TypeVar("T")

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
AUTO_SIZE_SAMPLE = 200
_QUIET = {"thumbs.db", "desktop.ini"}  # files that systems leave in folders, not worth a note
_ROTATED = {5, 6, 7, 8}  # EXIF orientations that swap width and height


def _pillow() -> None:
    try:
        import PIL  # noqa: F401
    except ImportError as err:  # pragma: no cover - Pillow is a dependency
        raise DataError(
            "Reading images needs the Pillow package, which is not installed. "
            "Install it with: pip install pillow"
        ) from err


def _count(n: int, thing: str) -> str:
    return f"{n:,} {thing}" if n == 1 else f"{n:,} {thing}s"


def _listed(names: Sequence[str]) -> str:
    return ", ".join(names[:5]) + (", …" if len(names) > 5 else "")


@dataclass(frozen=True)
class _Listing:
    class_names: list[str]
    paths: list[Path]
    labels: list[int]
    notes: list[str]


def _scan(folder: str | Path) -> _Listing:
    """The image files of each class subfolder, with notes on what was left out."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"There is no folder {root}.")
    subdirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith((".", "__")))
    if not subdirs:
        loose = sum(1 for f in root.iterdir() if f.suffix.lower() in IMAGE_EXTENSIONS)
        raise DataError(
            f"{root.name} has no subfolders. Put the images of each class in a subfolder named "
            f"after the class (for example {root.name}/cats and {root.name}/dogs)."
            + (f" It holds {_count(loose, 'image')} directly." if loose else "")
        )
    names: list[str] = []
    paths: list[Path] = []
    labels: list[int] = []
    empty: list[str] = []
    others: list[str] = []
    for sub in subdirs:
        found: list[Path] = []
        for f in sorted(sub.rglob("*")):
            rel = f.relative_to(sub).parts
            if any(part.startswith(".") for part in rel) or not f.is_file():
                continue
            if f.suffix.lower() in IMAGE_EXTENSIONS:
                found.append(f)
            elif f.name.lower() not in _QUIET:
                others.append(f"{sub.name}/{'/'.join(rel)}")
        if not found:
            empty.append(sub.name)
            continue
        labels += [len(names)] * len(found)
        names.append(sub.name)
        paths += found
    if not names:
        raise DataError(
            f"None of the subfolders of {root.name} holds images (PNG, JPEG, BMP or GIF files)."
        )
    notes: list[str] = []
    if empty:
        notes.append(f"Subfolders with no images, not used as classes: {_listed(empty)}.")
    if others:
        notes.append(
            f"Skipped {_count(len(others), 'file')} that are not images: {_listed(others)}."
        )
    if len(names) == 1:
        notes.append(
            f"There is only one class ({names[0]}); a model needs at least two to learn to "
            "tell them apart."
        )
    return _Listing(names, paths, labels, notes)


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation (1: upright); PNGs are not decoded just to look for one."""
    if im.format not in ("JPEG", "MPO", "WEBP") and "exif" not in im.info:
        return 1
    return int(im.getexif().get(0x0112, 1))


def _to_mode(im: Image.Image, mode: str) -> Image.Image:
    """``im`` in mode ``L`` or ``RGB``; 16-bit and float greys are scaled to 8 bits first."""
    from PIL import Image

    if im.mode.startswith("I") or im.mode == "F":
        values = np.asarray(im, dtype=np.float64)
        if im.mode.startswith("I;16") or values.max() > 255:
            values = values / 257
        im = Image.fromarray(np.clip(values, 0, 255).round().astype(np.uint8))
    elif im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    return im if im.mode == mode else im.convert(mode)


def _decode(path: Path | str, size: tuple[int, int], color: Color) -> np.ndarray:
    """One image as uint8 ``(H, W, C)``, turned upright (EXIF), converted and resized."""
    from PIL import Image, ImageOps

    mode = "L" if color == "grayscale" else "RGB"
    height, width = size
    with Image.open(path) as im:
        im.draft(mode, (width, height))  # JPEG: decode at a smaller scale when much bigger
        upright = ImageOps.exif_transpose(im) if _orientation(im) != 1 else im
        out = _to_mode(upright, mode)
        if out.size != (width, height):
            out = out.resize((width, height), Image.Resampling.BILINEAR)
        array = np.asarray(out)
    return array[:, :, None] if array.ndim == 2 else array


def _map(work: Callable[[T], bool], items: Sequence[T], workers: int) -> list[bool]:
    """``work`` on each item, in ``workers`` threads (Pillow decodes without the GIL)."""
    if workers > 0 and len(items) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(work, items))
    return [work(item) for item in items]


def _decode_pixels(
    paths: Sequence[Path | str], out: np.ndarray, size: tuple[int, int], color: Color, workers: int
) -> list[bool]:
    """Decodes ``paths`` into ``out`` (uint8 ``(N, C, H, W)``).

    Returns which images could be read; an unreadable one leaves zeros.
    """

    def one(i: int) -> bool:
        try:
            pixels = _decode(paths[i], size, color)
        except Exception:  # Pillow raises many kinds (OSError, SyntaxError, ...) on bad files
            out[i] = 0
            return False
        out[i] = pixels.transpose(2, 0, 1)
        return True

    return _map(one, range(len(paths)), workers)


def _scaled(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels as float32 in [0, 1], the studio's images."""
    out = pixels.astype(np.float32)
    out *= np.float32(1 / 255)
    return out


class ImageFolderSource:
    """Images decoded when they are asked for (an :class:`~core.data.dataset.ArraySource`).

    Attributes:
        paths: The image files, one per sample.
        size: ``(height, width)`` every image is resized to.
        color: ``grayscale`` (1 channel) or ``rgb`` (3 channels).
        workers: Threads that decode a batch (0: decode in the calling thread).
        unreadable: Files that failed to decode; their samples are black (all zeros).
    """

    def __init__(
        self, paths: Sequence[Path | str], size: tuple[int, int], color: Color, workers: int = 0
    ) -> None:
        self.paths = [str(p) for p in paths]
        self.size = size
        self.color: Color = color
        self.workers = workers
        self.unreadable: set[str] = set()

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.paths), 1 if self.color == "grayscale" else 3, *self.size)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32)

    def __len__(self) -> int:
        return len(self.paths)

    def take(self, indices: np.ndarray) -> np.ndarray:
        """The images at ``indices`` as one contiguous float32 ``(n, C, H, W)`` array."""
        chosen = [self.paths[int(i)] for i in np.asarray(indices, dtype=np.int64).reshape(-1)]
        pixels = np.empty((len(chosen), *self.shape[1:]), dtype=np.uint8)
        ok = _decode_pixels(chosen, pixels, self.size, self.color, self.workers)
        self.unreadable.update(p for p, good in zip(chosen, ok, strict=True) if not good)
        return _scaled(pixels)


def _checked_size(size: Sequence[int]) -> tuple[int, int]:
    """``size`` as ``(height, width)``; a list or NumPy integers (from a settings file) do."""
    try:
        height, width = (operator.index(d) for d in size)
    except (TypeError, ValueError):
        height = width = 0
    if not (1 <= height <= 4096 and 1 <= width <= 4096):
        raise DataError(
            f"The image size must be (height, width) in pixels, each 1 to 4096, or 'auto'; "
            f"got {size!r}."
        )
    return height, width


def _header_size(path: Path) -> tuple[int, int]:
    """``(height, width)`` of an image as shown (EXIF rotation included), from its header."""
    from PIL import Image

    with Image.open(path) as im:
        width, height = im.size
        if _orientation(im) in _ROTATED:
            width, height = height, width
    return height, width


def _readable(path: Path) -> bool:
    """Whether an image's header reads (its pixels are decoded only when needed)."""
    try:
        _header_size(path)
    except Exception:
        return False
    return True


def _common_size(paths: Sequence[Path]) -> tuple[tuple[int, int], Counter[tuple[int, int]]]:
    """The most common size among up to 200 images spread evenly over ``paths``."""
    spread = np.linspace(0, len(paths) - 1, min(len(paths), AUTO_SIZE_SAMPLE)).round()
    sizes: Counter[tuple[int, int]] = Counter()
    for i in dict.fromkeys(int(j) for j in spread):
        try:
            sizes[_header_size(paths[i])] += 1
        except Exception:  # an unreadable image says nothing about the size
            continue
    if not sizes:
        raise DataError("None of the images could be read; they may be damaged.")
    return sizes.most_common(1)[0][0], sizes


def _decoded_folder(
    root: Path, paths: list[Path], shape: tuple[int, int], color: Color, workers: int
) -> tuple[np.ndarray, np.ndarray]:
    """The readable images as uint8 ``(n, C, H, W)``, and which of ``paths`` could be read:
    from the data cache when it holds these very files at this size, else decoded (and
    kept there for next time)."""
    channels = 1 if color == "grayscale" else 3
    name = None
    with contextlib.suppress(OSError):  # a file gone since the scan: decoding says which
        name = cache.key(
            {
                "kind": "image-folder",
                "folder": str(root.resolve()),
                "size": list(shape),
                "color": color,
                "files": cache.file_signature(paths, root),
            }
        )
    found = cache.cached(name) if name else None
    if found is not None:
        pixels, ok = found.get("pixels"), found.get("ok")
        if (
            pixels is not None
            and ok is not None
            and pixels.dtype == np.uint8
            and ok.shape == (len(paths),)
            and pixels.shape == (int(ok.astype(bool).sum()), channels, *shape)
        ):
            return pixels, ok.astype(bool)
    pixels = np.empty((len(paths), channels, *shape), dtype=np.uint8)
    ok = np.array(_decode_pixels(paths, pixels, shape, color, workers), dtype=bool)
    if not ok.all():
        kept = np.flatnonzero(ok)
        for row, index in enumerate(kept.tolist()):  # in place: no second copy
            if row != index:
                pixels[row] = pixels[index]
        pixels = pixels[: len(kept)]
    if name:
        cache.store(name, {"pixels": pixels, "ok": ok})
    return pixels, ok


def read_image_folder(
    folder: str | Path,
    *,
    size: tuple[int, int] | Literal["auto"] = (32, 32),
    color: Color = "rgb",
    memory_budget: int = 1_000_000_000,
    workers: int = 0,
) -> Dataset:
    """A classification dataset from a folder with one subfolder of images per class.

    Args:
        folder: The folder; its sorted subfolder names become the class names.
        size: ``(height, width)`` every image is resized to, or ``auto``: the most common
            size among 200 images spread over the folder.
        color: ``rgb`` (3 channels) or ``grayscale`` (1 channel).
        memory_budget: The most bytes the decoded images may take in memory; a bigger folder
            is read from disk as the trainer needs it (an :class:`ImageFolderSource`).
        workers: Threads that decode images (0: decode in the calling thread).
    """
    _pillow()
    if color not in ("rgb", "grayscale"):
        raise DataError(f"The colour must be 'rgb' or 'grayscale', not {color!r}.")
    if size != "auto":
        _checked_size(size)
    listing = _scan(folder)
    root = Path(folder)
    notes = list(listing.notes)
    if size == "auto":
        shape, sizes = _common_size(listing.paths)
        if len(sizes) > 1:
            seen = ", ".join(f"{h}×{w} ({k})" for (h, w), k in sizes.most_common(4))
            notes.append(f"Sizes found among {_count(sizes.total(), 'image')} checked: {seen}.")
    else:
        shape = _checked_size(size)
    channels = 1 if color == "grayscale" else 3
    need = len(listing.paths) * channels * shape[0] * shape[1] * 4
    paths, labels = listing.paths, np.array(listing.labels, dtype=np.int64)
    x: np.ndarray | ImageFolderSource
    if need <= memory_budget:
        pixels, ok = _decoded_folder(root, paths, shape, color, workers)
        x = _scaled(pixels)
        del pixels
    else:
        ok = np.array(_map(_readable, paths, workers), dtype=bool)
        good = [p for p, fine in zip(paths, ok, strict=True) if fine]
        x = ImageFolderSource(good, shape, color, workers)
        decoded, budget = cache.amount_text(need), cache.amount_text(memory_budget)
        notes.append(
            f"The images would take {decoded} decoded, more than the memory budget of "
            f"{budget}, so they are read from disk as training needs them."
        )
    bad = [p.relative_to(root).as_posix() for p, fine in zip(paths, ok, strict=True) if not fine]
    if bad:
        notes.append(f"Skipped {_count(len(bad), 'image')} that could not be read: {_listed(bad)}.")
    labels = labels[ok]
    if not len(labels):
        raise DataError(f"None of the images in {root.name} could be read; they may be damaged.")
    kind = "grey" if color == "grayscale" else "colour"
    notes.insert(
        0, f"{_count(len(labels), kind + ' image')}, resized to {shape[0]}×{shape[1]} pixels."
    )
    return Dataset(
        root.name,
        [x],
        labels,
        "classification",
        list(listing.class_names),
        notes=notes,
        source=str(root),
    )


def thumbnails(
    folder: str | Path, per_class: int = 8, size: int = 64
) -> dict[str, list[np.ndarray]]:
    """A few small images per class for a preview: uint8 ``(H, W, 3)`` arrays that fit in
    ``size`` × ``size`` (aspect ratio kept). Unreadable images are left out."""
    _pillow()
    from PIL import Image, ImageOps

    listing = _scan(folder)
    out: dict[str, list[np.ndarray]] = {name: [] for name in listing.class_names}
    for path, label in zip(listing.paths, listing.labels, strict=True):
        shown = out[listing.class_names[label]]
        if len(shown) >= per_class:
            continue
        try:
            with Image.open(path) as im:
                im.draft("RGB", (size, size))
                upright = ImageOps.exif_transpose(im) if _orientation(im) != 1 else im
                small = _to_mode(upright, "RGB")
                small.thumbnail((size, size), Image.Resampling.BILINEAR)
                shown.append(np.array(small, dtype=np.uint8))
        except Exception:  # a preview leaves out what it cannot show
            continue
    return out
