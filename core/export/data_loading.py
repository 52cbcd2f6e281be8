"""The data part of the exported PyTorch script: ``load_data()`` gives what the model was
trained on in the studio, as the arrays the studio's trainer got, and ``load_npz(path)`` reads
other data in the ``--data`` format.

Each kind of source is written as its own small reader:

* a built-in sample: the studio writes its arrays beside the script (``<stem>_data.npz``),
  because the samples come from scikit-learn or the studio's own generators;
* a ``.npz`` file or a folder of MNIST IDX files: read with numpy, then the same conversion
  the studio made (channels first, 8-bit pixels scaled to [0, 1], one-hot rows to class ids),
  found at export time by comparing the file's arrays with the studio's;
* a CSV file: read with the ``csv`` module and encoded with the column handling the studio
  learnt (means, categories, fill values), written into the script as plain values;
* a folder of images: decoded with Pillow (the one extra library, only for images), resized and
  scaled as the studio does.

Paths and names reach the code only through :func:`~core.export.codeformat.quoted`.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.data.dataset import DataError
from core.data.idx import _MNIST_NAME, read_idx
from core.data.spec import LoadedData, load_data, parse_spec, saved_pipeline
from core.export.codeformat import format_lines, quoted
from core.export.section import Section

_LOAD_NPZ = '''
    def load_npz(path):
        """Data in the --data format: arrays x (or x0, x1... one per input) and y."""
        with np.load(path) as arrays:
            names = sorted(n for n in arrays.files if n.startswith("x"))
            if "y" not in arrays.files or not names:
                raise SystemExit(f"{path} needs arrays x (or x0, x1...) and y.")
            return [arrays[name] for name in names], arrays["y"]
'''


@dataclass(frozen=True)
class DataCode:
    """The data section, the files it reads from beside the script, and a description.

    Attributes:
        section: Defines ``load_data()`` and ``load_npz(path)``.
        companions: Files to write beside the script, by name.
        description: What the script trains on, in a few words.
    """

    section: Section
    companions: dict[str, bytes] = field(default_factory=dict)
    description: str = ""


def _dedent(text: str) -> str:
    return textwrap.dedent(text).strip("\n") + "\n"


def _npz_bytes(inputs: list[np.ndarray], y: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    names = ["x"] if len(inputs) == 1 else [f"x{i}" for i in range(len(inputs))]
    arrays: dict[str, Any] = {"y": y, **dict(zip(names, inputs, strict=True))}
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def data_code(record: Mapping[str, Any] | None, stem: str) -> DataCode:
    """The data section for a model file's data record (``ModelFile.data``); ``stem`` names
    the script and so its companion files.

    When the data cannot be read now (moved, damaged), the script asks for ``--data`` instead.
    """
    npz = _dedent(_LOAD_NPZ)
    imports = ("import numpy as np",)
    spec = str(record.get("spec", "")) if record else ""
    if not spec:
        reason = "The model has no training data recorded"
        return DataCode(Section(_no_data(reason) + npz, imports), {}, "data passed with --data")
    try:
        loaded = load_data(spec, saved_pipeline(record or {}))
    except DataError as err:
        reason = f"The studio could not read its training data ({err})"
        return DataCode(Section(_no_data(reason) + npz, imports), {}, "data passed with --data")
    source, _ = parse_spec(spec)
    path = Path(source)
    if loaded.pipeline is not None:
        return _csv(loaded, source, npz)
    if not path.exists():  # a built-in sample
        name = f"{stem}_data.npz"
        train = loaded.train
        inputs = [np.asarray(x) for x in train.x]
        body = [
            "def load_data():",
            f'    """The {_words(source)} sample, as the studio made it (saved beside this',
            '    file: the samples come from scikit-learn or the studio\'s generators)."""',
            *format_lines([f"return load_npz(Path(__file__).with_name({quoted(name)}))"], 4),
        ]
        code = "\n".join(body) + "\n\n\n" + npz
        description = f"the built-in {_words(source)} sample"
        companions = {name: _npz_bytes(inputs, np.asarray(train.y))}
        return DataCode(
            Section(code, (*imports, "from pathlib import Path")), companions, description
        )
    if path.is_dir() and not _idx_files(path):
        return _images(loaded, source, npz)
    return _arrays(loaded, path, npz, stem)


def _words(text: str) -> str:
    """A name safe inside a docstring."""
    return "".join(c if c.isalnum() or c in " _-.:=,/" else "_" for c in text)[:60]


def _no_data(reason: str) -> str:
    return (
        _dedent(
            f'''
        def load_data():
            """No data to train on came with the model: pass --data instead."""
            raise SystemExit(
                {quoted(reason + "; pass --data FILE.npz with arrays x (or x0, x1...) and y.")}
            )
        '''
        )
        + "\n\n"
    )


def _csv(loaded: LoadedData, source: str, npz: str) -> DataCode:
    from core.data.csv_format import BOOLEANS, MISSING_TOKENS

    pipeline = loaded.pipeline
    assert pipeline is not None
    columns = [
        {
            "name": c.name,
            "kind": c.kind,
            "mean": c.mean,
            "std": c.std,
            "levels": c.levels,
            "fill": c.fill,
        }
        for c in pipeline.columns
    ]
    lines = [
        f"CSV_PATH = {quoted(source)}",
        f"TARGET = {quoted(pipeline.target)}",
        f"CLASSES = {_literal(pipeline.class_names)}  # in class-id order",
        f"NUMERIC_CLASSES = {pipeline.numeric_target!r}",
        f"FILL_GAPS = {pipeline.missing == 'fill'!r}  # or drop rows with a gap",
        f"DECIMAL_COMMA = {pipeline.decimal_comma!r}",
        f"MISSING = {_literal(sorted({t.lower() for t in MISSING_TOKENS}))}",
        f"BOOLEANS = {_literal(BOOLEANS)}",
        "# How each column became numbers in the studio, in feature order",
        f"COLUMNS = {_literal(columns)}",
    ]
    code = "\n".join(format_lines(lines, 0)) + "\n\n\n" + _dedent(_CSV) + "\n\n" + npz
    imports = ("import csv", "import numpy as np")
    return DataCode(
        Section(code, imports), {}, f"{_words(source)} (column {_words(pipeline.target)!r})"
    )


def _literal(value: Any) -> str:
    """A plain value (numbers, strings, lists, dicts) as Python source; strings quoted."""
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(float(value))
    return repr(value)


_CSV = '''
    def number(text):
        """A cell as a number (1,5 reads as 1.5 when the file uses commas that way)."""
        if DECIMAL_COMMA and text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        return float(text)


    def encode(column, text):
        """One cell as its features: standardised, one-hot, or 0/1."""
        missing = text.lower() in MISSING
        if column["kind"] == "numeric":
            value = column["mean"] if missing else number(text)
            return [(value - column["mean"]) / column["std"]]
        if column["kind"] == "boolean":
            return [float(column["fill"]) if missing else BOOLEANS[text.lower()]]
        level = column["fill"] if missing else text
        return [1.0 if level == known else 0.0 for known in column["levels"]]


    def load_data(path=CSV_PATH):
        """The CSV's rows encoded as the studio encoded them for training."""
        with open(path, encoding="utf-8-sig", newline="") as file:
            sample = file.read(65536)
            file.seek(0)
            delimiter = csv.Sniffer().sniff(sample, ",;\\t|").delimiter
            rows = list(csv.reader(file, delimiter=delimiter))
        header = [name.strip() for name in rows[0]]
        where = {name.casefold(): i for i, name in enumerate(header)}
        wanted = [where[c["name"].casefold()] for c in COLUMNS] + [where[TARGET.casefold()]]
        features, targets = [], []
        for row in rows[1:]:
            cells = [row[i].strip() if i < len(row) else "" for i in wanted]
            if not any(cells):
                continue
            if not FILL_GAPS and any(cell.lower() in MISSING for cell in cells):
                continue
            encoded = [encode(c, cell) for c, cell in zip(COLUMNS, cells[:-1], strict=True)]
            features.append([value for values in encoded for value in values])
            targets.append(cells[-1])
        x = np.array(features, dtype=np.float32).reshape(len(features), -1)
        if CLASSES is None:
            return [x], np.array([[number(t)] for t in targets], dtype=np.float32)
        if NUMERIC_CLASSES:
            ids = {float(name): i for i, name in enumerate(CLASSES)}
            return [x], np.array([ids[number(t)] for t in targets], dtype=np.int64)
        ids = {name: i for i, name in enumerate(CLASSES)}
        return [x], np.array([ids[t] for t in targets], dtype=np.int64)
'''


def _images(loaded: LoadedData, source: str, npz: str) -> DataCode:
    from core.data.images import IMAGE_EXTENSIONS

    train = loaded.train
    shape = tuple(train.x[0].shape[1:])
    channels, height, width = shape
    mode = "L" if channels == 1 else "RGB"
    lines = [
        f"IMAGE_FOLDER = {quoted(source)}",
        f"SIZE = ({width}, {height})  # width, height",
        f'MODE = "{mode}"  # L: grey, RGB: colour',
        f"EXTENSIONS = {_literal(sorted(IMAGE_EXTENSIONS))}",
    ]
    code = "\n".join(format_lines(lines, 0)) + "\n\n\n" + _dedent(_IMAGES) + "\n\n" + npz
    imports = ("import numpy as np", "from pathlib import Path")
    return DataCode(Section(code, imports), {}, f"the images in {_words(source)}")


_IMAGES = '''
    def read_image(path):
        """One image upright, converted and resized, as channels x height x width in [0, 1]."""
        from PIL import Image, ImageOps  # Pillow: torch and numpy cannot decode images

        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            if image.mode.startswith("I") or image.mode == "F":  # 16-bit or float greys
                values = np.asarray(image, dtype=np.float64)
                if image.mode.startswith("I;16") or values.max() > 255:
                    values = values / 257
                image = Image.fromarray(np.clip(values, 0, 255).round().astype(np.uint8))
            elif image.mode == "P" and "transparency" in image.info:
                image = image.convert("RGBA")
            image = image.convert(MODE)
            if image.size != SIZE:
                image = image.resize(SIZE, Image.Resampling.BILINEAR)
            pixels = np.asarray(image).astype(np.float32) * np.float32(1 / 255)
        return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


    def load_data(folder=IMAGE_FOLDER):
        """Every image of every class folder; the sorted folder names are the classes."""
        classes = [
            d for d in sorted(Path(folder).iterdir()) if d.is_dir() and d.name[0] not in "._"
        ]
        images, labels = [], []
        for label, directory in enumerate(classes):
            for path in sorted(directory.rglob("*")):
                parts = path.relative_to(directory).parts
                if path.suffix.lower() not in EXTENSIONS or any(p[0] == "." for p in parts):
                    continue
                try:
                    images.append(read_image(path))
                except OSError:
                    continue  # a damaged file, left out as the studio leaves it out
                labels.append(label)
        return [np.stack(images)], np.array(labels, dtype=np.int64)
'''


def _idx_files(folder: Path) -> dict[str, Path]:
    """The training images and labels among a folder's MNIST IDX files, by part."""
    found: dict[str, Path] = {}
    for path in sorted([*folder.glob("*"), *folder.glob("*/*")]):
        match = _MNIST_NAME.match(path.name)
        if match and path.is_file() and match[1].lower() == "train":
            found.setdefault(match[2].lower(), path)
    return found if len(found) == 2 else {}


#: Conversions the studio makes to samples and labels, as code and as a function.
Step = Callable[[np.ndarray], np.ndarray]
_X_STEPS: list[tuple[str, Step]] = [
    ("", lambda x: x),
    ("x = x[:, None]  # one channel", lambda x: x[:, None]),
    ("x = x.transpose(0, 3, 1, 2)  # channels first", lambda x: x.transpose(0, 3, 1, 2)),
]
_Y_STEPS: list[tuple[str, Step]] = [
    ("y = y.astype(np.int64)", lambda y: y.astype(np.int64)),
    ("y = y.argmax(axis=1)  # one-hot rows to class ids", lambda y: y.argmax(axis=1)),
    (
        "y = y.astype(np.float32).reshape(len(y), -1)",
        lambda y: y.astype(np.float32).reshape(len(y), -1),
    ),
]


def _conversion(
    raw_x: np.ndarray, raw_y: np.ndarray, x: np.ndarray, y: np.ndarray
) -> list[str] | None:
    """The lines that turn the file's arrays into the studio's, or None when none of the
    known conversions does."""
    found = []
    for line, step in _X_STEPS:
        for scale in (False, True):
            if scale and raw_x.dtype != np.uint8:
                continue
            candidate = step(raw_x).astype(np.float32)
            if scale:
                candidate = candidate * np.float32(1 / 255)
            if candidate.shape == x.shape and np.array_equal(candidate, x):
                found = [line] if line else []
                found.append(
                    "x = x.astype(np.float32) * np.float32(1 / 255)  # 8-bit pixels to [0, 1]"
                    if scale
                    else "x = x.astype(np.float32)"
                )
                break
        if found:
            break
    if not found:
        return None
    for line, step in _Y_STEPS:
        candidate = step(raw_y)
        if (
            candidate.shape == y.shape
            and candidate.dtype == y.dtype
            and np.array_equal(candidate, y)
        ):
            return [*found, line]
    return None


def _arrays(loaded: LoadedData, path: Path, npz: str, stem: str) -> DataCode:
    """A ``.npz`` file or a folder of IDX files: read with numpy and converted as the studio
    converted them; when no known conversion matches, the studio's arrays go beside the script."""
    train = loaded.train
    x, y = np.asarray(train.x[0]), np.asarray(train.y)
    imports: tuple[str, ...] = ("import numpy as np",)
    if path.is_dir():
        files = _idx_files(path)
        raw_x, raw_y = read_idx(files["images"]), read_idx(files["labels"])
        read = [
            f"IMAGES = {quoted(str(files['images']))}",
            f"LABELS = {quoted(str(files['labels']))}",
        ]
        reader = _dedent(_IDX) + "\n\n"
        body = ["x, y = read_idx(IMAGES), read_idx(LABELS)"]
        imports += ("import gzip", "import struct")
        signature = "def load_data():"
        what = f"the MNIST files in {_words(str(path))}"
    else:
        with np.load(path, allow_pickle=False) as arrays:
            keys = {k.lower(): k for k in arrays.files}
            names = (
                (keys["x_train"], keys["y_train"]) if "x_train" in keys else (keys["x"], keys["y"])
            )
            raw_x, raw_y = arrays[names[0]], arrays[names[1]]
        read = [f"DATA_FILE = {quoted(str(path))}"]
        reader = ""
        body = [
            "with np.load(path) as arrays:",
            f"    x, y = arrays[{quoted(names[0])}], arrays[{quoted(names[1])}]",
        ]
        signature = "def load_data(path=DATA_FILE):"
        what = _words(str(path))
    steps = _conversion(raw_x, raw_y, x, y)
    if steps is None:
        name = f"{stem}_data.npz"
        code = "\n".join(
            [
                "def load_data():",
                '    """The training arrays as the studio prepared them (saved beside this)."""',
                *format_lines([f"return load_npz(Path(__file__).with_name({quoted(name)}))"], 4),
            ]
        )
        section = Section(code + "\n\n\n" + npz, (*imports, "from pathlib import Path"))
        return DataCode(section, {name: _npz_bytes([x], y)}, what)
    lines = [
        *format_lines(read, 0),
        "",
        "",
        *([*reader.rstrip("\n").splitlines(), "", ""] if reader else []),
        signature,
        f'    """The training samples and labels of {what}, converted as the studio did."""',
        *format_lines(body + steps + ["return [x], y"], 4),
    ]
    return DataCode(Section("\n".join(lines) + "\n\n\n" + npz, imports), {}, what)


_IDX = '''
    def read_idx(path):
        """The array in an MNIST IDX file (gzip-compressed or not)."""
        with open(path, "rb") as file:
            compressed = file.read(2) == b"\\x1f\\x8b"
        with gzip.open(path) if compressed else open(path, "rb") as file:
            _, _, kind, rank = file.read(4)
            shape = struct.unpack(f">{rank}I", file.read(4 * rank))
            types = {8: ">u1", 9: ">i1", 11: ">i2", 12: ">i4", 13: ">f4", 14: ">f8"}
            data = np.frombuffer(file.read(), dtype=types[kind])
        return data.reshape(shape).astype(data.dtype.newbyteorder("="))
'''
