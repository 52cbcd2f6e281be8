"""``layer-studio export``: each format from a model file, a template or a graph, and every
failure as one line."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from core.compile import compile_graph
from core.data.spec import load_data
from core.fit_checks import adapt
from core.h5io import save_model
from core.templates import load_template
from core.training_settings import TrainingSettings
from tests.studio.test_cli import assert_one_line_error, forward

Run = Callable[..., tuple[int, str, str]]


def trained_file(folder: Path) -> Path:
    """A model file as training on digits leaves it: its settings and data record."""
    spec = "digits"
    loaded = load_data(spec)
    settings = TrainingSettings(epochs=1, batch_size=64, loss="sparse_categorical_crossentropy")
    graph = adapt(load_template("mlp"), loaded.train, settings).graph
    path = folder / "digits.h5"
    save_model(
        path, graph, compile_graph(graph, seed=0), training=settings, data=loaded.record(spec)
    )
    return path


def test_pytorch_export_writes_a_script_and_its_data_that_train(cli: Run, tmp_path: Path) -> None:
    model = trained_file(tmp_path)
    code, out, err = cli("export", model, "--format", "pytorch", "-o", tmp_path / "digits.py")
    assert code == 0, err
    assert "digits.py" in out and "digits_data.npz" in out
    done = subprocess.run(
        [sys.executable, "digits.py", "--epochs", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Epoch 1/1" in done.stdout and (tmp_path / "digits.pt").exists()


def test_onnx_export_of_a_saved_model(cli: Run, tmp_path: Path) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    graph = load_template("mnist_cnn")
    module = compile_graph(graph, seed=2)
    save_model(tmp_path / "cnn.h5", graph, module)
    code, out, _ = cli("export", tmp_path / "cnn.h5", "--format", "onnx", "-o", tmp_path / "c.onnx")
    assert code == 0 and "c.onnx" in out
    x = np.random.default_rng(0).normal(size=(3, 1, 28, 28)).astype(np.float32)
    session = onnxruntime.InferenceSession(str(tmp_path / "c.onnx"))
    (theirs,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(theirs, forward(module, x)[0], atol=1e-5)


def test_keras_export_of_a_template_with_the_default_name(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli("export", "residual", "--format", "keras")
    assert code == 0 and "residual_keras.py" in out
    assert "keras.Model(" in (tmp_path / "residual_keras.py").read_text()


def test_onnx_of_an_untrained_template_says_so(cli: Run, tmp_path: Path) -> None:
    code, out, _ = cli("export", "mlp", "--format", "onnx", "-o", tmp_path / "m.onnx")
    assert code == 0 and "untrained" in out


def test_failures_are_one_line(cli: Run, tmp_path: Path) -> None:
    assert_one_line_error(cli("export", tmp_path / "nothing.h5", "--format", "keras"), "nothing")
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not a model at all")
    assert_one_line_error(cli("export", garbage, "--format", "pytorch"), "garbage.h5")
    out = tmp_path / "missing" / "m.py"
    assert_one_line_error(cli("export", "mlp", "--format", "pytorch", "-o", out), "Cannot write")
    model = trained_file(tmp_path)
    assert_one_line_error(cli("export", model, "--format", "keras", "-o", model), "model itself")


def test_a_bad_format_is_refused_by_the_parser(cli: Run) -> None:
    with pytest.raises(SystemExit):
        cli("export", "mlp", "--format", "tflite")
