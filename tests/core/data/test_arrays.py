"""NumPy (.npz, .npy) and MNIST IDX files as datasets: layouts, labels and every bad file."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from core.data.arrays import (
    NumpyData,
    from_arrays,
    read_npy,
    read_npz,
)
from core.data.dataset import DataError, split
from core.data.idx import read_idx, read_keras_mnist, read_mnist_folder

RNG = np.random.default_rng(0)


def idx_bytes(array: np.ndarray, type_byte: int = 0x08) -> bytes:
    """An IDX file's bytes: magic, dimensions, big-endian data."""
    big = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    head = bytes([0, 0, type_byte, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return head + array.astype(big[type_byte]).tobytes()


def save_npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


# --- samples ---------------------------------------------------------------------------------


def test_uint8_grey_images_become_channels_first_floats(tmp_path: Path) -> None:
    x = RNG.integers(0, 256, (6, 5, 4), dtype=np.uint8)
    y = np.array([0, 1, 2, 0, 1, 2])
    data = read_npz(save_npz(tmp_path / "d.npz", x=x, y=y))
    assert isinstance(data, NumpyData) and data.test is None
    ds = data.train
    (got,) = ds.x
    assert isinstance(got, np.ndarray)
    assert got.shape == (6, 1, 5, 4) and got.dtype == np.float32
    np.testing.assert_allclose(got[:, 0], x / 255, rtol=1e-6)
    assert ds.task == "classification" and ds.class_names == ["0", "1", "2"]
    assert ds.y.dtype == np.int64 and ds.name == "d.npz" and ds.source.endswith("d.npz")
    assert any("scaled to 0–1" in n for n in ds.notes)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_channels_last_images_become_contiguous_channels_first(
    tmp_path: Path, channels: int
) -> None:
    x = RNG.integers(0, 256, (3, 6, 5, channels), dtype=np.uint8)
    ds = read_npz(save_npz(tmp_path / "d.npz", x=x, y=np.arange(3))).train
    got = ds.x[0]
    assert isinstance(got, np.ndarray)
    assert got.shape == (3, channels, 6, 5) and got.flags.c_contiguous
    np.testing.assert_allclose(got, x.transpose(0, 3, 1, 2) / 255, rtol=1e-6)


def test_channels_first_floats_are_kept(tmp_path: Path) -> None:
    x = RNG.normal(size=(4, 3, 8, 8))
    ds = read_npz(save_npz(tmp_path / "d.npz", x=x, y=np.arange(4))).train
    got = ds.x[0]
    assert isinstance(got, np.ndarray) and got.dtype == np.float32
    np.testing.assert_allclose(got, x.astype(np.float32))


def test_explicit_layouts_override_the_guess(tmp_path: Path) -> None:
    x = RNG.normal(size=(2, 3, 4, 3)).astype(np.float32)  # ambiguous: 3 first and last
    path = save_npz(tmp_path / "d.npz", x=x, y=np.arange(2))
    assert read_npz(path).train.input_shapes == [(3, 3, 4)]  # Keras's habit: channels last
    first = read_npz(path, layout="channels_first").train
    assert first.input_shapes == [(3, 4, 3)]
    last = read_npz(path, layout="channels_last").train.x[0]
    assert isinstance(last, np.ndarray)
    np.testing.assert_array_equal(last, x.transpose(0, 3, 1, 2))
    x4 = RNG.normal(size=(2, 3, 5, 4)).astype(np.float32)  # 3 first, 4 last: channels first
    path4 = save_npz(tmp_path / "e.npz", x=x4, y=np.arange(2))
    assert read_npz(path4).train.input_shapes == [(3, 5, 4)]


def test_tables_and_vectors(tmp_path: Path) -> None:
    ds = from_arrays(np.arange(10, dtype=np.int16).reshape(5, 2), np.arange(5), name="t")
    assert ds.input_shapes == [(2,)] and ds.x[0].dtype == np.float32
    assert any("kept as they are" in n for n in ds.notes)
    assert from_arrays(np.arange(5.0), np.arange(5), name="v").input_shapes == [(1,)]
    sequences = from_arrays(np.zeros((5, 7, 2)), np.arange(5), name="s")
    assert sequences.input_shapes == [(7, 2)]  # float (N, L, F) stays a sequence


# --- labels ----------------------------------------------------------------------------------


def test_one_hot_labels_become_class_ids() -> None:
    ids = np.array([2, 0, 1, 2])
    ds = from_arrays(np.zeros((4, 2)), np.eye(3, dtype=np.float32)[ids], name="o")
    assert ds.task == "classification" and ds.y.tolist() == ids.tolist()
    assert ds.class_names == ["0", "1", "2"]
    assert any("one-hot" in n for n in ds.notes)


def test_regression_targets() -> None:
    y1 = np.array([0.5, 1.25, -3.0])
    ds = from_arrays(np.zeros((3, 2)), y1, name="r")
    assert ds.task == "regression" and ds.y.shape == (3, 1) and ds.y.dtype == np.float32
    yk = RNG.normal(size=(3, 2))
    ds2 = from_arrays(np.zeros((3, 2)), yk, name="r")
    assert ds2.task == "regression" and ds2.y.shape == (3, 2)
    negative_whole = from_arrays(np.zeros((3, 1)), np.array([-5.0, 3.0, 10.0]), name="r")
    assert negative_whole.task == "regression"
    big_whole = from_arrays(np.zeros((3, 1)), np.array([100.0, 3000.0, 8000.0]), name="r")
    assert big_whole.task == "regression"


def test_whole_floats_are_classes_unless_told() -> None:
    y = np.array([0.0, 1.0, 2.0, 1.0])
    ds = from_arrays(np.zeros((4, 1)), y, name="w")
    assert ds.task == "classification" and ds.y.tolist() == [0, 1, 2, 1]
    assert any("choose regression" in n for n in ds.notes)
    forced = from_arrays(np.zeros((4, 1)), y, name="w", task="regression")
    assert forced.task == "regression" and forced.y.shape == (4, 1)
    with pytest.raises(DataError, match="not whole numbers"):
        from_arrays(np.zeros((2, 1)), np.array([0.5, 1.0]), name="w", task="classification")


def test_text_labels_and_column_labels() -> None:
    ds = from_arrays(np.zeros((3, 1)), np.array(["dog", "cat", "dog"]), name="s")
    assert ds.class_names == ["cat", "dog"] and ds.y.tolist() == [1, 0, 1]
    column = from_arrays(np.zeros((3, 1)), np.array([[1], [0], [3]], dtype=np.uint8), name="c")
    assert column.y.tolist() == [1, 0, 3] and column.y.dtype == np.int64
    assert any("1 class id has no samples: 2" in n for n in column.notes)


def test_keras_schema_gives_train_and_test(tmp_path: Path) -> None:
    path = save_npz(
        tmp_path / "k.npz",
        x_train=RNG.integers(0, 256, (8, 4, 4), dtype=np.uint8),
        y_train=np.array([0, 1, 2, 3, 0, 1, 2, 3], dtype=np.uint8),
        x_test=RNG.integers(0, 256, (3, 4, 4), dtype=np.uint8),
        y_test=np.array([0, 1, 4], dtype=np.uint8),
    )
    data = read_npz(path)
    assert data.test is not None
    assert len(data.train) == 8 and len(data.test) == 3
    assert data.train.class_names == data.test.class_names == [str(i) for i in range(5)]
    assert data.test.name == "k.npz (test)" and data.test.input_shapes == [(1, 4, 4)]
    assert read_keras_mnist(path).test is not None
    splits = split(data.train, validation=0.5)
    assert splits.validation is not None


def test_train_only_keras_schema(tmp_path: Path) -> None:
    path = save_npz(tmp_path / "k.npz", x_train=np.zeros((2, 3)), y_train=np.arange(2))
    assert read_npz(path).test is None
    with pytest.raises(DataError, match="x_train, y_train, x_test and y_test"):
        read_keras_mnist(path)


def test_npy_pair(tmp_path: Path) -> None:
    x = RNG.integers(0, 256, (4, 3, 3, 3), dtype=np.uint8)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.array([1, 0, 1, 0]))
    ds = read_npy(tmp_path / "x.npy", tmp_path / "y.npy")
    assert ds.input_shapes == [(3, 3, 3)] and ds.class_names == ["0", "1"]


# --- bad files -------------------------------------------------------------------------------


def test_missing_arrays_are_listed(tmp_path: Path) -> None:
    path = save_npz(tmp_path / "d.npz", images=np.zeros(2), targets=np.zeros(2))
    with pytest.raises(DataError, match="holds images, targets"):
        read_npz(path)
    half = save_npz(
        tmp_path / "h.npz", x_train=np.zeros(2), y_train=np.zeros(2), x_test=np.zeros(1)
    )
    with pytest.raises(DataError, match="no array y_test"):
        read_npz(half)


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (np.zeros((3, 2)), np.arange(2), "3 samples but 2 labels"),
        (np.array([[np.nan, 1.0], [np.inf, 0.0]]), np.arange(2), "2 values that are not numbers"),
        (np.zeros((3, 2)), np.array([0, -1, -2]), "2 labels are negative"),
        (np.zeros((0, 2)), np.zeros(0), "empty"),
        (np.zeros((2, 2)), np.array([0.5, np.nan]), "1 labels are not numbers"),
        (np.zeros((2, 2)), np.zeros((2, 2, 2)), "one value per sample"),
        (np.zeros((2, 2)), np.array([0, 10**6]), "largest class id"),
        (np.array([1 + 1j, 2j]), np.arange(2), "must be numbers"),
    ],
)
def test_bad_arrays(tmp_path: Path, x: np.ndarray, y: np.ndarray, message: str) -> None:
    with pytest.raises(DataError, match=message):
        read_npz(save_npz(tmp_path / "bad.npz", x=x, y=y))


def test_too_big_for_memory(tmp_path: Path) -> None:
    path = save_npz(tmp_path / "d.npz", x=np.zeros((100, 10), dtype=np.uint8), y=np.arange(100))
    with pytest.raises(DataError, match="memory"):
        read_npz(path, max_bytes=1000)
    assert len(read_npz(path, max_bytes=100_000).train) == 100


def test_objects_are_refused(tmp_path: Path) -> None:
    objects = np.array([{"a": 1}, None], dtype=object)
    path = save_npz(tmp_path / "o.npz", x=objects, y=np.arange(2))
    with pytest.raises(DataError, match="Python objects"):
        read_npz(path)
    np.save(tmp_path / "o.npy", objects, allow_pickle=True)
    np.save(tmp_path / "y.npy", np.arange(2))
    with pytest.raises(DataError, match="Python objects"):
        read_npy(tmp_path / "o.npy", tmp_path / "y.npy")
    import pickle

    (tmp_path / "p.npy").write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(DataError, match="pickled"):
        read_npy(tmp_path / "p.npy", tmp_path / "y.npy")


def test_damaged_and_wrong_files(tmp_path: Path) -> None:
    path = save_npz(tmp_path / "d.npz", x=RNG.normal(size=(50, 50)), y=np.arange(50))
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut\.npz"):
        read_npz(tmp_path / "cut.npz")
    garbled = bytearray(data)
    garbled[200:400] = b"\xff" * 200  # inside x's data: the zip's CRC check fails
    (tmp_path / "garbled.npz").write_bytes(bytes(garbled))
    with pytest.raises(DataError, match=r"garbled\.npz"):
        read_npz(tmp_path / "garbled.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(DataError, match=r"not an \.npz file"):
        read_npz(tmp_path / "text.npz")
    with pytest.raises(DataError, match="no file"):
        read_npz(tmp_path / "missing.npz")
    with pytest.raises(DataError, match=r"open it as an \.npz"):
        read_npy(path, path)
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(DataError, match=r"open it as an \.npy"):
        read_npz(tmp_path / "one.npy")


# --- IDX files -------------------------------------------------------------------------------


@pytest.mark.parametrize("type_byte", [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E])
def test_idx_types_round_trip(tmp_path: Path, type_byte: int) -> None:
    array = np.arange(-12, 12).reshape(2, 3, 4) if type_byte != 0x08 else np.arange(24)
    path = tmp_path / "a-idx"
    path.write_bytes(idx_bytes(array, type_byte))
    got = read_idx(path)
    np.testing.assert_array_equal(got, array.reshape(got.shape))
    assert got.dtype.isnative and got.flags.writeable


def test_idx_gzip(tmp_path: Path) -> None:
    images = RNG.integers(0, 256, (3, 4, 5), dtype=np.uint8)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(images)))
    np.testing.assert_array_equal(read_idx(path), images)


def test_bad_idx_files(tmp_path: Path) -> None:
    good = idx_bytes(np.zeros((2, 3, 3), dtype=np.uint8))
    cases = {
        "magic": b"\x1f\x00" + good[2:],
        "type": good[:2] + b"\x07" + good[3:],
        "cut": good[:-2],
        "long": good + b"\0",
        "header": good[:6],
    }
    messages = {
        "magic": "not an IDX",
        "type": "not an IDX",
        "cut": "cut short",
        "long": "too long",
        "header": "cut short",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DataError, match=messages[name]) as err:
            read_idx(tmp_path / name)
        assert name in str(err.value)
    (tmp_path / "cut.gz").write_bytes(gzip.compress(good[:-2]))
    (tmp_path / "long.gz").write_bytes(gzip.compress(good + b"\0"))
    (tmp_path / "trunc.gz").write_bytes(gzip.compress(good)[:-12])
    compressed = bytearray(gzip.compress(good * 50))
    compressed[30:40] = b"\xaa" * 10
    (tmp_path / "garbled.gz").write_bytes(bytes(compressed))
    for name in ("cut.gz", "long.gz", "trunc.gz", "garbled.gz"):
        with pytest.raises(DataError, match=name.replace(".", r"\.")):
            read_idx(tmp_path / name)
    with pytest.raises(DataError, match="memory"):
        read_idx(tmp_path / "long", max_bytes=10)


def write_mnist(folder: Path, n_train: int = 6, n_test: int = 4, gz: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for part, n in (("train", n_train), ("t10k", n_test)):
        images = RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        for kind, array, dims in (("images", images, 3), ("labels", labels, 1)):
            name = f"{part}-{kind}-idx{dims}-ubyte"
            data = idx_bytes(array)
            if gz:
                (folder / f"{name}.gz").write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_folder(tmp_path: Path, gz: bool) -> None:
    write_mnist(tmp_path / "mnist" / "raw", gz=gz)
    data = read_mnist_folder(tmp_path / "mnist")
    assert data.test is not None
    assert data.train.input_shapes == [(1, 28, 28)] and len(data.train) == 6
    assert len(data.test) == 4 and data.train.class_names == data.test.class_names
    assert data.train.task == "classification"
    x = data.train.x[0]
    assert isinstance(x, np.ndarray) and x.min() >= 0 and x.max() <= 1


def test_mnist_folder_with_keras_npz_and_errors(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    with pytest.raises(DataError, match="no MNIST files"):
        read_mnist_folder(folder)
    save_npz(
        folder / "mnist.npz",
        x_train=np.zeros((2, 28, 28), dtype=np.uint8),
        y_train=np.array([0, 1]),
        x_test=np.zeros((1, 28, 28), dtype=np.uint8),
        y_test=np.array([1]),
    )
    assert len(read_mnist_folder(folder).train) == 2
    write_mnist(tmp_path / "bad")
    (tmp_path / "bad" / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(5, np.uint8)))
    with pytest.raises(DataError, match="6 samples but 5 labels"):
        read_mnist_folder(tmp_path / "bad")
    with pytest.raises(DataError, match="no folder"):
        read_mnist_folder(tmp_path / "nowhere")
