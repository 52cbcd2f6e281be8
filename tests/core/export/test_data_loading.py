"""The data part of the exported script gives the arrays the studio trained on, for every kind
of source, in a process that has only torch, numpy, h5py and Pillow."""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data.spec import load_data
from core.export.data_loading import data_code
from core.export.section import import_block

READER = r"""
import importlib.util, json, sys
import numpy as np

spec = importlib.util.spec_from_file_location("data", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
inputs, y = module.load_data()
np.savez(sys.argv[2], y=y, **{f"x{i}": x for i, x in enumerate(inputs)})
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("core", "sklearn"))))
"""


def exported_data(spec: str, folder: Path) -> tuple[list[np.ndarray], np.ndarray]:
    """What the exported ``load_data`` gives for ``spec``, run in a fresh process."""
    record = load_data(spec).record(spec)
    record = json.loads(json.dumps(record))  # as the model file keeps it
    code = data_code(record, "model")
    script = folder / "model.py"
    script.write_text(
        import_block(list(code.section.imports)) + "\n\n\n" + code.section.source, encoding="utf-8"
    )
    for name, contents in code.companions.items():
        (folder / name).write_bytes(contents)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-I", "-c", READER, str(script), str(folder / "out.npz")],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == []
    with np.load(folder / "out.npz") as out:
        inputs = [out[f"x{i}"] for i in range(len(out.files) - 1)]
        return inputs, out["y"]


def assert_same_data(spec: str, folder: Path) -> None:
    studio = load_data(spec).train
    inputs, y = exported_data(spec, folder)
    assert len(inputs) == len(studio.x)
    for ours, theirs in zip(studio.x, inputs, strict=True):
        assert theirs.dtype == np.asarray(ours).dtype
        np.testing.assert_array_equal(theirs, np.asarray(ours))
    assert y.dtype == studio.y.dtype
    np.testing.assert_array_equal(y, studio.y)


@pytest.mark.parametrize("spec", ["moons:samples=300,noise=0.2,seed=3", "digits", "iris"])
def test_built_in_samples(tmp_path: Path, spec: str) -> None:
    assert_same_data(spec, tmp_path)


@pytest.mark.parametrize("missing", ["drop", "fill"])
def test_a_csv_with_categories_gaps_and_a_text_target(tmp_path: Path, missing: str) -> None:
    rows = ["size,colour,ripe,weight,kind"]
    generator = np.random.default_rng(0)
    for i in range(60):
        colour = ["red", "green", "yellow"][i % 3] if i % 11 else ""
        weight = f"{generator.normal(100, 20):.2f}" if i % 7 else "NA"
        ripe = ["yes", "no"][i % 2]
        rows.append(f"{i % 9},{colour},{ripe},{weight},{['apple', 'pear'][i % 2]}")
    path = tmp_path / "fruit.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert_same_data(f"{path}:target=kind,missing={missing}", tmp_path)


def test_a_csv_with_semicolons_decimal_commas_and_a_number_target(tmp_path: Path) -> None:
    rows = ["a;b;price"] + [f"{i},5;{i % 4};{i * 2},25" for i in range(30)]
    path = tmp_path / "prices.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert_same_data(f"{path}:target=price,task=regression", tmp_path)


def test_a_folder_of_images(tmp_path: Path) -> None:
    generator = np.random.default_rng(1)
    for label, count in (("cats", 4), ("dogs", 3)):
        (tmp_path / "photos" / label).mkdir(parents=True)
        for i in range(count):
            size = (12 + i, 10 + 2 * i)
            pixels = generator.integers(0, 255, (*size[::-1], 3), dtype=np.uint8)
            image = Image.fromarray(pixels)
            (image.convert("L") if i % 2 else image).save(tmp_path / "photos" / label / f"{i}.png")
    (tmp_path / "photos" / "cats" / "notes.txt").write_text("not an image")
    assert_same_data(f"{tmp_path / 'photos'}:size=8x8,color=grayscale", tmp_path)
    assert_same_data(f"{tmp_path / 'photos'}:size=6x9", tmp_path)


def test_an_npz_of_8_bit_images_and_one_hot_labels(tmp_path: Path) -> None:
    generator = np.random.default_rng(2)
    x = generator.integers(0, 255, (20, 6, 6), dtype=np.uint8)
    y = np.eye(3, dtype=np.float32)[generator.integers(0, 3, 20)]
    np.savez(tmp_path / "small.npz", x_train=x, y_train=y, x_test=x[:4], y_test=y[:4])
    assert_same_data(str(tmp_path / "small.npz"), tmp_path)


def test_mnist_idx_files(tmp_path: Path) -> None:
    generator = np.random.default_rng(3)
    folder = tmp_path / "mnist"
    folder.mkdir()

    def idx(name: str, array: np.ndarray, zipped: bool) -> None:
        head = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(
            f">{array.ndim}I", *array.shape
        )
        data = head + array.astype(np.uint8).tobytes()
        path = folder / (name + (".gz" if zipped else ""))
        path.write_bytes(gzip.compress(data) if zipped else data)

    images = generator.integers(0, 255, (12, 5, 5))
    labels = generator.integers(0, 10, 12)
    idx("train-images-idx3-ubyte", images, True)
    idx("train-labels-idx1-ubyte", labels, False)
    idx("t10k-images-idx3-ubyte", images[:3], True)
    idx("t10k-labels-idx1-ubyte", labels[:3], False)
    assert_same_data(str(folder), tmp_path)


def test_no_record_asks_for_data_in_a_sentence(tmp_path: Path) -> None:
    code = data_code(None, "model")
    namespace: dict[str, object] = {"np": np}
    exec(code.section.source, namespace)  # the code under test, with its one import
    with pytest.raises(SystemExit, match=r"pass --data FILE\.npz"):
        namespace["load_data"]()  # type: ignore[operator]


def test_paths_and_names_holding_code_stay_strings(tmp_path: Path) -> None:
    folder = tmp_path / "x\"')\n__import__('os').system('touch owned')#"
    folder.mkdir()
    path = folder / "d.csv"
    column = "c\"');__import__('os').system('touch owned')#"
    rows = [f'"{column.replace(chr(34), chr(34) * 2)}",label'] + [
        f"{i},{'ab'[i % 2]}" for i in range(20)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert_same_data(f"{path}:target=label", tmp_path)
    assert not (tmp_path / "owned").exists()
