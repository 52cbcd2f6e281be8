"""One line that names a dataset, as the command line takes it (``--data SPEC``).

- a built-in sample: ``digits``, ``moons:samples=2000,noise=0.2``
- a CSV file: ``data.csv``, ``data.csv:target=label,missing=fill``
- a NumPy file: ``data.npz`` (arrays ``x`` and ``y``, or Keras's ``x_train`` ... ``y_test``)
- a folder: of images, one subfolder per class (``photos:size=64x64,color=grayscale``), or of
  MNIST's IDX files

Options follow the last ``:`` when it is followed by ``name=value`` pairs, so Windows paths
(``C:\\data.csv``) still work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.data.dataset import DataError, Dataset
from core.data.samples import load_sample, sample_names
from core.data.table_pipeline import TablePipeline


@dataclass(frozen=True)
class LoadedData:
    """The data a spec names: what to train on, a test part when the source has one, and for
    a CSV the pipeline that encoded its rows."""

    train: Dataset
    test: Dataset | None = None
    pipeline: TablePipeline | None = None

    def record(self, spec: str) -> dict[str, Any]:
        """What a model file keeps about the data it was trained on (``ModelFile.data``)."""
        record: dict[str, Any] = {
            "spec": spec,
            "task": self.train.task,
            "class_names": self.train.class_names,
            "feature_names": self.train.feature_names,
        }
        if self.pipeline is not None:
            record["pipeline"] = self.pipeline.to_dict()
        return record


def saved_pipeline(record: Mapping[str, Any]) -> TablePipeline | None:
    """The CSV pipeline in a model file's data record, or None when it has none.

    Raises:
        DataError: When the record holds a pipeline the studio cannot read.
    """
    value = record.get("pipeline")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise DataError("The model file's CSV column handling is damaged; train the model again.")
    return TablePipeline.from_dict(value)


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """The source and its options: ``"a.csv:target=y"`` is ``("a.csv", {"target": "y"})``."""
    spec = spec.strip()
    if not spec:
        raise DataError("Name the data: a built-in sample (digits), a CSV, a .npz or a folder.")
    head, sep, tail = spec.rpartition(":")
    if not sep or "=" not in tail:
        return spec, {}
    options: dict[str, str] = {}
    for pair in tail.split(","):
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise DataError(f"{pair!r} in {spec!r} is not an option; write name=value.")
        options[key.strip()] = value.strip()
    return head, options


def _number(text: str, key: str) -> int | float:
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"The option {key} must be a number, not {text!r}.") from None
    return int(value) if value.is_integer() and "." not in text else value


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().replace("×", "x").split("x")
    try:
        height, width = (int(p) for p in parts) if len(parts) == 2 else (int(parts[0]),) * 2
    except ValueError:
        raise DataError(f"size must look like 28x28, not {text!r}.") from None
    return height, width


def load_data(spec: str, pipeline: TablePipeline | None = None) -> LoadedData:
    """Load what ``spec`` names; :class:`DataError` says why when it cannot.

    ``pipeline`` (a CSV's, from training) encodes a CSV's rows as the training rows were:
    the same columns, categories and standardisation. Other kinds of data ignore it.
    """
    source, options = parse_spec(spec)
    path = Path(source)
    if source in sample_names():
        values = {k: _number(v, k) for k, v in options.items()}
        return LoadedData(load_sample(source, **values))
    if not path.exists():
        raise DataError(
            f"There is no file or folder {source!r}, and no built-in sample of that name "
            f"(built-in: {', '.join(sample_names())})."
        )
    suffix = path.suffix.lower()
    if path.is_dir():
        return _folder(path, options)
    if suffix in (".csv", ".tsv", ".txt"):
        from core.data.csv_table import read_csv_with_pipeline

        missing = options.pop("missing", "drop")
        target = options.pop("target", None)
        task = options.pop("task", None)
        _no_more(options, source)
        if missing not in ("drop", "fill"):
            raise DataError(f"missing must be drop or fill, not {missing!r}.")
        if task not in (None, "classification", "regression"):
            raise DataError(f"task must be classification or regression, not {task!r}.")
        if pipeline is not None:
            if target is not None and target.lower() != pipeline.target.lower():
                raise DataError(
                    f"The model was trained to predict the column '{pipeline.target}', "
                    f"not '{target}'."
                )
            data, used = read_csv_with_pipeline(path, pipeline=pipeline)
        else:
            data, used = read_csv_with_pipeline(path, target, task=task, missing=missing)  # type: ignore[arg-type]
        return LoadedData(data, pipeline=used)
    if suffix == ".npz":
        from core.data.arrays import read_npz

        _no_more(options, source)
        found = read_npz(path)
        return LoadedData(found.train, found.test)
    raise DataError(
        f"{source} is not a kind of data the studio reads: use a .csv, a .npz, or a folder."
    )


def _folder(path: Path, options: dict[str, str]) -> LoadedData:
    names = {p.name.lower() for p in path.iterdir()}
    if any("idx" in n and "ubyte" in n for n in names):
        from core.data.idx import read_mnist_folder

        _no_more(options, str(path))
        found = read_mnist_folder(path)
        return LoadedData(found.train, found.test)
    from core.data.images import read_image_folder

    size = _size(options.pop("size")) if "size" in options else (32, 32)
    color = options.pop("color", "rgb")
    _no_more(options, str(path))
    if color not in ("rgb", "grayscale"):
        raise DataError(f"color must be rgb or grayscale, not {color!r}.")
    return LoadedData(read_image_folder(path, size=size, color=color))  # type: ignore[arg-type]


def _no_more(options: dict[str, str], source: str) -> None:
    if options:
        raise DataError(f"{source} takes no option {', '.join(sorted(options))}.")
