"""Helpers of the dataset chooser: specs from choices, what each CSV column became, preview
pictures and failure messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.data.csv_table import read_csv_with_pipeline
from core.data.dataset import DataError, Dataset
from core.data.samples import SAMPLES, load_sample
from core.data.sources import (
    column_roles,
    csv_spec,
    dataset_images,
    encoding_name,
    failure_text,
    image_folder_spec,
    is_image_data,
    plain_spec,
    preview_pictures,
    sample_spec,
)
from core.data.spec import load_data, parse_spec

Image = pytest.importorskip("PIL.Image")


# -- specs -----------------------------------------------------------------------------------


def test_sample_spec_reads_back_as_the_same_data() -> None:
    spec = sample_spec("moons", {"samples": 200, "noise": 0.25, "seed": 3})
    assert spec == "moons:samples=200,noise=0.25,seed=3"
    data = load_data(spec).train
    expected = load_sample("moons", samples=200, noise=0.25, seed=3)
    assert np.array_equal(data.y, expected.y)
    assert np.array_equal(np.asarray(data.x[0]), np.asarray(expected.x[0]))


@pytest.mark.parametrize("name", [n for n, info in SAMPLES.items() if info.options])
def test_every_default_option_survives_the_spec(name: str) -> None:
    values = SAMPLES[name].defaults()
    _, options = parse_spec(sample_spec(name, values))
    assert options.keys() == values.keys()
    assert load_data(sample_spec(name, values)).train.notes == load_sample(name).notes


def test_whole_floats_stay_floats_and_bundled_samples_take_no_options() -> None:
    assert sample_spec("moons", {"noise": 1.0}) == "moons:noise=1.0"
    assert sample_spec("moons", {"noise": 1e-5}) == "moons:noise=1e-05"
    assert sample_spec("digits") == "digits"
    with pytest.raises(DataError, match="no option size"):
        sample_spec("digits", {"size": 3})
    with pytest.raises(DataError, match="no sample called 'pets'"):
        sample_spec("pets")


def test_csv_spec_options_and_names_it_cannot_carry(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    assert csv_spec(path, "label", "auto", "fill") == f"{path}:target=label,missing=fill"
    assert csv_spec(path, None, "regression") == f"{path}:task=regression,missing=drop"
    source, options = parse_spec(csv_spec(path, "y", "classification", "drop"))
    assert (source, options) == (
        str(path),
        {"target": "y", "task": "classification", "missing": "drop"},
    )
    for bad in ("price, usd", "a=b", " padded"):
        with pytest.raises(DataError, match="Rename the column"):
            csv_spec(path, bad)
    with pytest.raises(DataError, match="missing must be drop or fill"):
        csv_spec(path, "y", missing="mean")
    with pytest.raises(DataError, match="Choose a file"):
        csv_spec("", "y")


def test_folder_and_plain_specs() -> None:
    assert (
        image_folder_spec("/d/pets", (64, 48), "grayscale") == "/d/pets:size=64x48,color=grayscale"
    )
    assert parse_spec(image_folder_spec("C:\\pets", (8, 8), "rgb")) == (
        "C:\\pets",
        {"size": "8x8", "color": "rgb"},
    )
    assert plain_spec("C:\\data\\mnist.npz") == "C:\\data\\mnist.npz"
    assert parse_spec(plain_spec("C:\\data\\mnist.npz")) == ("C:\\data\\mnist.npz", {})
    with pytest.raises(DataError, match="color must be rgb or grayscale"):
        image_folder_spec("/d", (8, 8), "sepia")


def test_encoding_names() -> None:
    assert encoding_name("utf-8-sig") == "UTF-8 with a byte-order mark"
    assert encoding_name("cp1252") == "Windows Western (cp1252)"
    assert encoding_name("koi8-r") == "koi8-r"


# -- what each CSV column became ---------------------------------------------------------------


def test_column_roles_follow_the_pipeline(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "size,city,empty,member,label\n"
        "1.5,Paris,,yes,a\n"
        "2.5,Rome,,no,b\n"
        "3.5,Paris,,yes,a\n"
        "4.5,Oslo,,no,b\n",
        encoding="utf-8",
    )
    _, pipeline = read_csv_with_pipeline(path, "label")
    roles = column_roles(["size", "city", "empty", "member", "label"], pipeline)
    assert [(r.name, r.role) for r in roles] == [
        ("size", "numeric"),
        ("city", "categorical"),
        ("empty", "dropped"),
        ("member", "boolean"),
        ("label", "target"),
    ]
    assert "mean 3" in roles[0].text and "standard deviation 1.118" in roles[0].text
    assert "3 categories ('Oslo', 'Paris', 'Rome')" in roles[1].text
    assert "2 classes" in roles[4].text
    _, numbers = read_csv_with_pipeline(path, "size", task="regression")
    assert column_roles(["size"], numbers)[0].text.startswith("The target: a number")


# -- pictures --------------------------------------------------------------------------------


def test_dataset_images_of_digits() -> None:
    digits = load_sample("digits")
    assert is_image_data(digits)
    pictures = dataset_images(digits, per_class=3)
    assert list(pictures) == [str(d) for d in range(10)]
    first = pictures["0"][0]
    assert first.shape == (8, 8, 3) and first.dtype == np.uint8
    x = np.asarray(digits.x[0])
    zero = np.flatnonzero(digits.y == 0)[0]
    assert np.array_equal(first[:, :, 1], np.round(x[zero, 0] * 255).astype(np.uint8))


def test_dataset_images_scale_other_ranges_and_skip_tables() -> None:
    x = np.linspace(-5, 5, 2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
    data = Dataset("r", [x], np.zeros((2, 1), np.float32), "regression")
    pictures = dataset_images(data, per_class=5)
    assert list(pictures) == ["samples"] and len(pictures["samples"]) == 2
    assert pictures["samples"][0].min() == 0 and pictures["samples"][1].max() == 255
    assert dataset_images(load_sample("iris")) == {}
    assert not is_image_data(load_sample("iris"))


def test_preview_pictures_of_a_folder_are_the_files(tmp_path: Path) -> None:
    for name, colour in (("cats", (255, 0, 0)), ("dogs", (0, 0, 255))):
        (tmp_path / name).mkdir()
        Image.new("RGB", (20, 10), colour).save(tmp_path / name / "one.png")
    (tmp_path / "cats" / "bad.png").write_bytes(b"nope")
    data = load_data(f"{tmp_path}:size=8x8").train
    title, pictures = preview_pictures(f"{tmp_path}:size=8x8", data)
    assert title == "Pictures from the folder"
    assert {k: [p.shape for p in v] for k, v in pictures.items()} == {
        "cats": [(10, 20, 3)],  # the file as it is, not resized for the model
        "dogs": [(10, 20, 3)],
    }
    title, pictures = preview_pictures("digits", load_sample("digits"))
    assert title == "Samples as the model sees them" and len(pictures) == 10
    assert preview_pictures("iris", load_sample("iris")) == ("", {})


def test_failure_text() -> None:
    assert failure_text(DataError("Bad file."), "x.csv") == "Bad file."
    assert failure_text(OSError("disk gone"), "x.csv") == "Could not read x.csv: disk gone"
    assert failure_text(KeyError(), "x.csv") == "Could not read x.csv: KeyError"
    assert "does not fit in memory" in failure_text(MemoryError(), "big.npz")
