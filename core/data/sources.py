"""Small helpers for the dataset chooser: spec strings from choices, what each CSV column became,
preview pictures of image data, and error messages in words.

Nothing here reads a whole dataset; everything is cheap enough for an interface to call, apart
from :func:`dataset_images`, which copies only the few samples it shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.csv_format import short_list
from core.data.dataset import DataError, Dataset
from core.data.samples import SAMPLES, OptionValue
from core.data.spec import parse_spec
from core.data.table_pipeline import TablePipeline

#: Characters that would end an option's value in a spec string (see ``parse_spec``).
_SPEC_BREAKERS = ",="

_ENCODINGS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with a byte-order mark",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16 (little-endian)",
    "utf-16-be": "UTF-16 (big-endian)",
    "cp1252": "Windows Western (cp1252)",
    "latin-1": "Latin-1",
}


def _value_text(value: OptionValue) -> str:
    """An option value as ``parse_spec`` reads it back: ``3`` stays whole, ``0.1`` a decimal."""
    if isinstance(value, bool):
        raise DataError(f"An option must be a number, not {value!r}.")
    if isinstance(value, int):
        return str(value)
    text = f"{float(value):.10g}"
    return text if any(c in text for c in ".en") else text + ".0"


def sample_spec(name: str, values: Mapping[str, OptionValue] | None = None) -> str:
    """The spec of a built-in sample with option ``values`` (``moons:samples=500,noise=0.2``).

    Options follow the sample's declared order; those not given are left to their defaults.

    Raises:
        DataError: For an unknown sample or option.
    """
    info = SAMPLES.get(name)
    if info is None:
        raise DataError(f"There is no sample called {name!r}; choose one of {', '.join(SAMPLES)}.")
    values = dict(values or {})
    known = [option.name for option in info.options]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise DataError(f"{name} has no option {', '.join(unknown)}.")
    pairs = [f"{key}={_value_text(values[key])}" for key in known if key in values]
    return f"{name}:{','.join(pairs)}" if pairs else name


def _checked_path(path: str | Path) -> str:
    text = str(path)
    if not text.strip():
        raise DataError("Choose a file or a folder first.")
    return text


def _join(source: str, options: Sequence[tuple[str, str]]) -> str:
    if not options:
        return source
    return source + ":" + ",".join(f"{k}={v}" for k, v in options)


def csv_spec(
    path: str | Path, target: str | None = None, task: str = "auto", missing: str = "drop"
) -> str:
    """The spec of a CSV file read with these choices (``data.csv:target=label,missing=fill``).

    Args:
        path: The file.
        target: The column to predict (None: the reader's default, the last column).
        task: ``auto``, ``classification`` or ``regression``.
        missing: ``drop`` or ``fill``.

    Raises:
        DataError: For a choice the spec cannot carry (a column name with ``,`` or ``=``).
    """
    source = _checked_path(path)
    if task not in ("auto", "classification", "regression"):
        raise DataError(f"task must be auto, classification or regression, not {task!r}.")
    if missing not in ("drop", "fill"):
        raise DataError(f"missing must be drop or fill, not {missing!r}.")
    options: list[tuple[str, str]] = []
    if target is not None:
        if (
            not target.strip()
            or any(c in target for c in _SPEC_BREAKERS)
            or target != target.strip()
        ):
            raise DataError(
                f"The column name {target!r} has a comma, an equals sign or spaces at its ends, "
                "which a data setting cannot hold. Rename the column in the file (for example "
                "in your spreadsheet program) and choose the file again."
            )
        options.append(("target", target))
    if task != "auto":
        options.append(("task", task))
    options.append(("missing", missing))
    return _join(source, options)


def image_folder_spec(path: str | Path, size: tuple[int, int], color: str) -> str:
    """The spec of a folder of images (``photos:size=64x64,color=grayscale``)."""
    source = _checked_path(path)
    height, width = size
    if color not in ("rgb", "grayscale"):
        raise DataError(f"color must be rgb or grayscale, not {color!r}.")
    return _join(source, [("size", f"{int(height)}x{int(width)}"), ("color", color)])


def plain_spec(path: str | Path) -> str:
    """The spec of a source that takes no options (a ``.npz`` file, a folder of IDX files)."""
    return _join(_checked_path(path), [])


def encoding_name(encoding: str) -> str:
    """A text encoding as people know it (``utf-8-sig`` is UTF-8 with a byte-order mark)."""
    return _ENCODINGS.get(encoding.lower(), encoding)


@dataclass(frozen=True)
class ColumnRole:
    """What one column of a CSV file became.

    Attributes:
        name: The column's name.
        role: ``target``, ``numeric``, ``categorical``, ``boolean`` or ``dropped``.
        text: What happened to it, in words.
    """

    name: str
    role: str
    text: str


def column_roles(names: Sequence[str], pipeline: TablePipeline) -> list[ColumnRole]:
    """What each column of a file (``names``, in file order) became under ``pipeline``."""
    specs = {spec.name: spec for spec in pipeline.columns}
    roles = []
    for name in names:
        spec = specs.get(name)
        if name == pipeline.target:
            if pipeline.task == "regression":
                text = "The target: a number to predict, kept in its own units."
            else:
                classes = pipeline.class_names or []
                text = (
                    f"The target: {len(classes)} classes to tell apart ({short_list(classes, 5)})."
                )
            roles.append(ColumnRole(name, "target", text))
        elif spec is None:
            roles.append(ColumnRole(name, "dropped", "Left out: it has no values."))
        elif spec.kind == "numeric":
            text = (
                f"A number, standardised (mean {spec.mean:.4g}, standard deviation {spec.std:.4g})."
            )
            roles.append(ColumnRole(name, "numeric", text))
        elif spec.kind == "categorical":
            count = len(spec.levels)
            text = (
                f"Text: one-hot, {count} {'category' if count == 1 else 'categories'} "
                f"({short_list(spec.levels, 5)}), one column each."
            )
            roles.append(ColumnRole(name, "categorical", text))
        else:
            roles.append(
                ColumnRole(name, "boolean", "Yes/no: yes and true became 1, no and false 0.")
            )
    return roles


def _as_picture(sample: np.ndarray) -> np.ndarray:
    """One image ``(C, H, W)`` as uint8 ``(H, W, 3)``, scaled to show its range."""
    image = np.asarray(sample, dtype=np.float64)
    low, high = float(image.min()), float(image.max())
    if low < 0.0 or high > 1.0:
        image = (image - low) / (high - low) if high > low else np.zeros_like(image)
    pixels = np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
    if pixels.shape[0] == 1:
        pixels = np.repeat(pixels, 3, axis=0)
    return np.ascontiguousarray(pixels.transpose(1, 2, 0))


def is_image_data(data: Dataset) -> bool:
    """Whether ``data`` has one input of pictures, ``(N, C, H, W)`` with 1 or 3 channels."""
    if len(data.x) != 1:
        return False
    shape = data.x[0].shape
    return len(shape) == 4 and shape[1] in (1, 3)


def dataset_images(data: Dataset, per_class: int = 8) -> dict[str, list[np.ndarray]]:
    """The first ``per_class`` pictures of each class as uint8 ``(H, W, 3)`` arrays, for a
    preview (regression data: the first ones, under ``samples``). Empty for data that is not
    pictures (see :func:`is_image_data`)."""
    if not is_image_data(data) or per_class < 1 or len(data) == 0:
        return {}
    if data.task == "classification":
        names = data.class_names or [str(c) for c in range(data.num_classes)]
        groups = {name: np.flatnonzero(data.y == c)[:per_class] for c, name in enumerate(names)}
    else:
        groups = {"samples": np.arange(min(per_class, len(data)))}
    wanted = np.concatenate(list(groups.values())).astype(np.int64)
    x = data.x[0]
    chosen = x[wanted] if isinstance(x, np.ndarray) else x.take(wanted)  # lazy: decodes these
    out: dict[str, list[np.ndarray]] = {}
    at = 0
    for name, members in groups.items():
        out[name] = [_as_picture(chosen[at + i]) for i in range(len(members))]
        at += len(members)
    return out


def preview_pictures(
    spec: str, data: Dataset, per_class: int = 8
) -> tuple[str, dict[str, list[np.ndarray]]]:
    """A title and a few pictures per class for a preview of the data ``spec`` named: the
    files themselves for a folder of images (aspect kept, at most 64 pixels), the samples as
    the model sees them for other pictures, nothing for data that is not pictures."""
    source, _ = parse_spec(spec)
    folder = Path(source)
    if folder.is_dir() and not is_idx_folder(folder) and data.task == "classification":
        from core.data.images import thumbnails

        return "Pictures from the folder", thumbnails(folder, per_class=per_class, size=64)
    pictures = dataset_images(data, per_class)
    return ("Samples as the model sees them", pictures) if pictures else ("", {})


def is_idx_folder(path: Path) -> bool:
    """Whether ``path`` is a folder that holds MNIST-style IDX files."""
    try:
        return any("idx" in p.name.lower() and "ubyte" in p.name.lower() for p in path.iterdir())
    except OSError:
        return False


def failure_text(error: BaseException, what: str) -> str:
    """What to show for a load that failed: a :class:`DataError`'s own words, else
    ``Could not read WHAT: REASON``."""
    if isinstance(error, DataError):
        return str(error)
    if isinstance(error, MemoryError):
        return f"Could not read {what}: it does not fit in memory. Use a smaller part of it."
    reason = str(error).strip() or type(error).__name__
    return f"Could not read {what}: {reason}"
