"""Built-in samples that need no download: small classic datasets and generated toy problems.

Four come from the files bundled with scikit-learn (``digits``, ``iris``, ``wine``,
``breast_cancer``); the rest are generated from a seed with NumPy (``moons``, ``circles``,
``spirals``, ``blobs``, ``xor``, ``sine``), so the same options always give the same data.

:data:`SAMPLES` describes each one (what it is in plain words, its task, and its options with
defaults and ranges, enough for the interface to build a form); :func:`load_sample` makes the
:class:`~core.data.dataset.Dataset`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from core.data.dataset import DataError, Dataset, Task

OptionValue = int | float


@dataclass(frozen=True)
class SampleOption:
    """One setting of a generated sample, with what the interface needs to show it.

    Attributes:
        name: The keyword for :func:`load_sample` (``samples``, ``noise``, ``seed``, ``classes``).
        kind: ``int`` (a whole number) or ``float``.
        default: The value used when the option is not given.
        minimum: The smallest allowed value.
        maximum: The largest allowed value.
        help: One plain sentence saying what the option does.
    """

    name: str
    kind: Literal["int", "float"]
    default: OptionValue
    minimum: OptionValue
    maximum: OptionValue
    help: str

    def check(self, sample: str, value: object) -> OptionValue:
        """``value`` as this option's type, or a :class:`DataError` saying what is allowed."""
        allowed = f"between {self.minimum:,} and {self.maximum:,}"
        checked: OptionValue
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise DataError(
                    f"{self.name} for {sample} must be a whole number {allowed}, not {value!r}."
                )
            checked = int(value)
        else:
            real = (int, float, np.integer, np.floating)
            if isinstance(value, bool) or not isinstance(value, real):
                raise DataError(
                    f"{self.name} for {sample} must be a number {allowed}, not {value!r}."
                )
            checked = float(value)
            if not math.isfinite(checked):
                raise DataError(f"{self.name} for {sample} must be a number {allowed}.")
        if not self.minimum <= checked <= self.maximum:
            raise DataError(f"{self.name} for {sample} must be {allowed}; {checked:,} is not.")
        return checked


@dataclass(frozen=True)
class SampleInfo:
    """What a built-in sample is, for the dataset chooser.

    Attributes:
        name: The name for :func:`load_sample` (``digits``).
        description: One plain sentence saying what the data is.
        task: ``classification`` or ``regression``.
        kind: ``image`` (pictures), ``table`` (measured columns) or ``points`` (generated
            points on a plane or a line).
        options: The settings it takes (none for the bundled datasets).
    """

    name: str
    description: str
    task: Task
    kind: Literal["image", "table", "points"]
    options: tuple[SampleOption, ...] = ()

    def defaults(self) -> dict[str, OptionValue]:
        """Every option with its default value."""
        return {option.name: option.default for option in self.options}


def _samples(default: int = 1000) -> SampleOption:
    return SampleOption("samples", "int", default, 10, 1_000_000, "How many points to make in all.")


def _noise(default: float, more: str = "") -> SampleOption:
    text = "How far points stray at random (0 for none)." + more
    return SampleOption("noise", "float", default, 0.0, 10.0, text)


def _classes(default: int, what: str) -> SampleOption:
    return SampleOption("classes", "int", default, 2, 20, f"How many {what}, one class each.")


_SEED = SampleOption(
    "seed", "int", 0, 0, 2**32 - 1, "Any number; the same number always gives the same data."
)


SAMPLES: dict[str, SampleInfo] = {
    info.name: info
    for info in (
        SampleInfo(
            "digits",
            "1,797 tiny 8×8 pictures of handwritten digits 0 to 9; guess the digit.",
            "classification",
            "image",
        ),
        SampleInfo(
            "iris",
            "Petal and sepal sizes of 150 iris flowers; guess which of 3 species each is.",
            "classification",
            "table",
        ),
        SampleInfo(
            "wine",
            "13 chemical measurements of 178 Italian wines; guess which of 3 growers made each.",
            "classification",
            "table",
        ),
        SampleInfo(
            "breast_cancer",
            "30 measurements of 569 breast tissue samples; guess whether each is benign or "
            "malignant.",
            "classification",
            "table",
        ),
        SampleInfo(
            "moons",
            "Points on two interlocking half circles; a curved line is needed to part them.",
            "classification",
            "points",
            (_samples(), _noise(0.1), _SEED),
        ),
        SampleInfo(
            "circles",
            "A ring of points around a smaller ring; tell inner from outer.",
            "classification",
            "points",
            (_samples(), _noise(0.1), _SEED),
        ),
        SampleInfo(
            "spirals",
            "Points on spiral arms winding around the centre, one class per arm; hard to part.",
            "classification",
            "points",
            (
                _samples(),
                _noise(0.1, " With more arms it shrinks, as the arms lie closer."),
                _classes(2, "spiral arms"),
                _SEED,
            ),
        ),
        SampleInfo(
            "blobs",
            "Round clouds of points set around a circle, one class per cloud; an easy start.",
            "classification",
            "points",
            (_samples(), _noise(0.2), _classes(3, "clouds of points"), _SEED),
        ),
        SampleInfo(
            "xor",
            "Points in four squares where opposite corners share a class (the XOR puzzle).",
            "classification",
            "points",
            (_samples(), _noise(0.1), _SEED),
        ),
        SampleInfo(
            "sine",
            "Predict a number: the height of a sine wave at x between -π and π, with noise.",
            "regression",
            "points",
            (_samples(), _noise(0.1), _SEED),
        ),
    )
}


def sample_names() -> list[str]:
    """The names of every built-in sample, in catalog order."""
    return list(SAMPLES)


def load_sample(name: str, **options: object) -> Dataset:
    """A built-in sample as a :class:`Dataset` (``source`` is ``sample:NAME``).

    Args:
        name: One of :func:`sample_names`.
        **options: Settings of a generated sample (see ``SAMPLES[name].options``); those
            not given take their defaults.

    Raises:
        DataError: An unknown name, an unknown option, or a value out of range.
    """
    info = SAMPLES.get(name)
    if info is None:
        raise DataError(f"There is no sample called {name!r}; choose one of {', '.join(SAMPLES)}.")
    allowed = {option.name: option for option in info.options}
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        takes = f"takes only {', '.join(allowed)}" if allowed else "takes no options"
        verb = "is" if len(unknown) == 1 else "are"
        raise DataError(f"{name} {takes}; {', '.join(unknown)} {verb} not one of them.")
    values = {
        key: option.check(name, options.get(key, option.default)) for key, option in allowed.items()
    }
    data = _LOADERS[name](values)
    data.name, data.source = name, f"sample:{name}"
    if values:
        settings = ", ".join(f"{key}={value}" for key, value in values.items())
        data.notes.append(f"Generated with {settings}.")
    return data


# Bundled with scikit-learn ---------------------------------------------------------------------


def _bundled(loader: str) -> Any:
    """What ``sklearn.datasets.<loader>()`` returns (imported late: it takes a while)."""
    import sklearn.datasets  # type: ignore[import-untyped]

    return getattr(sklearn.datasets, loader)()


def _digits(_: Mapping[str, OptionValue]) -> Dataset:
    bunch = _bundled("load_digits")
    images = np.asarray(bunch.images, dtype=np.float64)
    x = np.ascontiguousarray((images / 16.0).astype(np.float32)[:, None, :, :])
    return Dataset(
        "digits",
        [x],
        np.asarray(bunch.target, dtype=np.int64),
        "classification",
        class_names=[str(int(c)) for c in bunch.target_names],
        notes=["Pixel values 0 to 16 divided by 16, so each lies between 0 and 1."],
    )


def _table(loader: str) -> Callable[[Mapping[str, OptionValue]], Dataset]:
    def load(_: Mapping[str, OptionValue]) -> Dataset:
        bunch = _bundled(loader)
        raw = np.asarray(bunch.data, dtype=np.float64)
        mean, std = raw.mean(axis=0), raw.std(axis=0)
        x = np.ascontiguousarray(((raw - mean) / np.where(std > 0, std, 1.0)).astype(np.float32))
        return Dataset(
            loader.removeprefix("load_"),
            [x],
            np.asarray(bunch.target, dtype=np.int64),
            "classification",
            class_names=[str(c) for c in bunch.target_names],
            feature_names=[str(f) for f in bunch.feature_names],
            notes=[
                f"Each column standardised to mean 0 and standard deviation 1, using all "
                f"{len(raw)} samples."
            ],
        )

    return load


# Generated with NumPy ---------------------------------------------------------------------------


def _counts(n: int, k: int) -> list[int]:
    """``n`` samples shared among ``k`` classes as evenly as possible."""
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def _points(
    name: str,
    parts: list[np.ndarray],
    rng: np.random.Generator,
    class_names: list[str],
    noise: float,
) -> Dataset:
    """Class ``c``'s points are ``parts[c]``; add noise, shuffle, and make the dataset."""
    x = np.concatenate(parts)
    y = np.concatenate([np.full(len(p), c, dtype=np.int64) for c, p in enumerate(parts)])
    x = x + rng.normal(0.0, noise, size=x.shape) if noise else x
    order = rng.permutation(len(y))
    return Dataset(
        name,
        [np.ascontiguousarray(x[order], dtype=np.float32)],
        np.ascontiguousarray(y[order]),
        "classification",
        class_names=class_names,
        feature_names=["x1", "x2"],
    )


def _setup(options: Mapping[str, OptionValue]) -> tuple[int, float, np.random.Generator]:
    return (
        int(options["samples"]),
        float(options["noise"]),
        np.random.default_rng(int(options["seed"])),
    )


def _moons(options: Mapping[str, OptionValue]) -> Dataset:
    n, noise, rng = _setup(options)
    upper, lower = (rng.uniform(0.0, math.pi, size=k) for k in _counts(n, 2))
    parts = [
        np.stack([np.cos(upper) - 0.5, np.sin(upper) - 0.25], axis=1),
        np.stack([0.5 - np.cos(lower), 0.25 - np.sin(lower)], axis=1),
    ]
    return _points("moons", parts, rng, ["upper", "lower"], noise)


def _circles(options: Mapping[str, OptionValue]) -> Dataset:
    n, noise, rng = _setup(options)
    parts = []
    for radius, k in zip((1.0, 0.5), _counts(n, 2), strict=True):
        angle = rng.uniform(0.0, 2 * math.pi, size=k)
        parts.append(radius * np.stack([np.cos(angle), np.sin(angle)], axis=1))
    return _points("circles", parts, rng, ["outer", "inner"], noise)


def _spirals(options: Mapping[str, OptionValue]) -> Dataset:
    n, noise, rng = _setup(options)
    arms = int(options["classes"])
    parts = []
    for arm, k in enumerate(_counts(n, arms)):
        t = np.sqrt(rng.uniform(0.0, 1.0, size=k))  # even spacing along the arm
        angle = 2 * math.pi * arm / arms + 3 * math.pi * t  # one and a half turns
        parts.append(t[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1))
    names = [f"arm {arm + 1}" for arm in range(arms)]
    # More arms lie closer together; the noise shrinks with the gap so they stay apart.
    return _points("spirals", parts, rng, names, noise * 2 / arms)


def _blobs(options: Mapping[str, OptionValue]) -> Dataset:
    n, noise, rng = _setup(options)
    k = int(options["classes"])
    radius = 0.5 / math.sin(math.pi / k)  # neighbouring centres 1 apart
    parts = []
    for c, size in enumerate(_counts(n, k)):
        angle = 2 * math.pi * c / k
        centre = np.array([radius * math.cos(angle), radius * math.sin(angle)])
        parts.append(np.broadcast_to(centre, (size, 2)).copy())
    names = [f"cloud {c + 1}" for c in range(k)]
    return _points("blobs", parts, rng, names, noise)


def _xor(options: Mapping[str, OptionValue]) -> Dataset:
    n, noise, rng = _setup(options)
    parts = []
    for same, k in zip((1.0, -1.0), _counts(n, 2), strict=True):
        sign = rng.choice([-1.0, 1.0], size=k)
        magnitude = rng.uniform(0.0, 1.0, size=(k, 2))
        parts.append(np.stack([sign, same * sign], axis=1) * magnitude)
    return _points("xor", parts, rng, ["same signs", "opposite signs"], noise)


def _sine(options: Mapping[str, OptionValue]) -> Dataset:
    n, noise, rng = _setup(options)
    x = rng.uniform(-math.pi, math.pi, size=(n, 1))
    y = np.sin(x) + (rng.normal(0.0, noise, size=x.shape) if noise else 0.0)
    return Dataset(
        "sine",
        [np.ascontiguousarray(x, dtype=np.float32)],
        np.ascontiguousarray(y, dtype=np.float32),
        "regression",
        feature_names=["x"],
    )


_LOADERS: dict[str, Callable[[Mapping[str, OptionValue]], Dataset]] = {
    "digits": _digits,
    "iris": _table("load_iris"),
    "wine": _table("load_wine"),
    "breast_cancer": _table("load_breast_cancer"),
    "moons": _moons,
    "circles": _circles,
    "spirals": _spirals,
    "blobs": _blobs,
    "xor": _xor,
    "sine": _sine,
}
