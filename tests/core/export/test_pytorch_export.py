"""The exported PyTorch script: run in a separate process with the studio's weights, it predicts
what the studio predicts; it reads like hand-written code, is clean under ruff, and no name in
a model file can add code to it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from torch import fx

from core.compile import compile_graph
from core.export.pytorch import ExportGraphError, pytorch_export
from core.export.torch_layers import kinds_with_code
from core.graph import Graph
from core.h5io import save_model
from core.templates import load_template, template_names
from core.training_settings import TrainingSettings
from tests.core.export.torch_checks import example_inputs, exported_outputs, studio_outputs
from tests.core.graph_strategies import valid_graphs

TOLERANCE = 1e-6
WRITTEN = [k for k in kinds_with_code() if k not in ("Input", "Output")]


def randomised(graph: Graph, seed: int) -> fx.GraphModule:
    """The compiled model with every weight and statistic moved away from its initial value,
    so that a loader that missed one (a bias, a moving variance) cannot go unnoticed."""
    module = compile_graph(graph, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
            if tensor.is_floating_point():  # at the scale of trained weights
                scale = 1 + 0.2 * torch.randn(tensor.shape, generator=generator)
                shift = 0.05 * torch.randn(tensor.shape, generator=generator)
                moved = tensor * scale + shift
                tensor.copy_(moved.abs() if "var" in name else moved)
    return module


def assert_same(ours: list[np.ndarray], theirs: list[np.ndarray]) -> None:
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(b, a, atol=TOLERANCE, rtol=TOLERANCE)


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], capture_output=True, text=True, check=False
    )


def test_every_template_predicts_like_the_studio(tmp_path: Path) -> None:
    models = []
    for index, name in enumerate(template_names()):
        graph = load_template(name)
        module = randomised(graph, index)
        models.append((graph, module, example_inputs(graph)))
    results = exported_outputs(models, tmp_path)
    for (_, module, inputs), theirs in zip(models, results, strict=True):
        assert_same(studio_outputs(module, inputs), theirs)


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # each try is a process: no shrinking
)
@given(st.lists(valid_graphs(max_layers=8, kinds=WRITTEN), min_size=8, max_size=8))
def test_random_graphs_predict_like_the_studio(tmp_path: Path, graphs: list[Graph]) -> None:
    folder = Path(os.path.join(tmp_path, f"run{len(list(tmp_path.iterdir()))}"))
    folder.mkdir()
    models = []
    for index, graph in enumerate(graphs):
        try:
            pytorch_export(graph)
        except ExportGraphError:  # a setting the export refuses in a sentence (tested below)
            continue
        module = randomised(graph, index)
        models.append((graph, module, example_inputs(graph)))
    results = exported_outputs(models, folder)
    for (_, module, inputs), theirs in zip(models, results, strict=True):
        assert_same(studio_outputs(module, inputs), theirs)
    scripts = [str(path) for path in folder.glob("model_*.py")]
    checked = ruff("check", "--isolated", "--select", "E,F,W,B,UP", "--ignore", "E501", *scripts)
    assert checked.returncode == 0, checked.stdout
    formatted = ruff("format", "--isolated", "--diff", *scripts)
    assert formatted.returncode == 0, formatted.stdout


def test_a_stack_reads_like_hand_written_code() -> None:
    code = pytorch_export(load_template("mnist_cnn")).code
    assert "class MnistCnn(nn.Module):" in code
    assert "self.conv2d = nn.Conv2d(1, 32, (3, 3))" in code
    assert "        x = F.relu(self.conv2d(x))\n" in code
    assert "    def forward(self, x):\n" in code
    for other in ("core", "studio", "keras", "sklearn"):
        assert f"import {other}" not in code and f"from {other}" not in code


def test_a_graph_names_its_values_after_its_layers() -> None:
    code = pytorch_export(load_template("residual")).code
    assert "add = conv2d + conv2d_2" in code


@pytest.mark.parametrize("name", template_names())
def test_the_script_is_clean_under_ruff(tmp_path: Path, name: str) -> None:
    script = tmp_path / "model.py"
    script.write_text(pytorch_export(load_template(name)).code, encoding="utf-8")
    checked = ruff(
        "check", "--isolated", "--select", "E,F,W,B,UP,I", "--ignore", "E501", str(script)
    )
    assert checked.returncode == 0, checked.stdout
    formatted = ruff("format", "--isolated", "--diff", str(script))
    assert formatted.returncode == 0, formatted.stdout


def test_an_incomplete_model_is_refused_in_a_sentence() -> None:
    graph = load_template("mlp")
    dense = next(n for n in graph.nodes.values() if n.kind == "Dense")
    graph.remove_node(dense.id)
    with pytest.raises(ExportGraphError, match="not complete yet"):
        pytorch_export(graph)


def test_names_holding_code_stay_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the names touch a file here if they ever run
    owned = Path("owned")
    graph = load_template("mlp")
    graph.name = "m'); import os; os.system('touch " + str(owned) + '\'); (\'\n"""\\'
    for index, node in enumerate(list(graph.nodes.values())):
        evil = f"n{index}\"''') or __import__('os').system('touch {owned}')#\\"
        graph.rename(node.id, evil)
    module = compile_graph(graph, seed=0)
    inputs = example_inputs(graph)
    (theirs,) = exported_outputs([(graph, module, inputs)], tmp_path)
    assert_same(studio_outputs(module, inputs), theirs)
    assert not (tmp_path / owned).exists()
    script = tmp_path / "model_0.py"
    assert ruff("check", "--isolated", str(script)).returncode == 0


def test_the_command_line_predicts_with_the_studio_weights(tmp_path: Path) -> None:
    graph = load_template("mnist_cnn")
    module = compile_graph(graph, seed=3)
    save_model(tmp_path / "cnn.h5", graph, module)
    (tmp_path / "cnn.py").write_text(pytorch_export(graph, stem="cnn").code, encoding="utf-8")
    (x,) = example_inputs(graph, count=5)
    np.save(tmp_path / "x.npy", x)
    command = [sys.executable, "cnn.py", "--weights", "cnn.h5", "--predict", "x.npy"]
    done = subprocess.run(
        [*command, "-o", "y.npy"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert_same(studio_outputs(module, [x]), [np.load(tmp_path / "y.npy")])
    wrong = subprocess.run(
        [*command, "--predict", "x.npy"], cwd=tmp_path, capture_output=True, text=True
    )
    assert wrong.returncode != 0 and "one --predict each" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def tiny_digits(folder: Path, graph: Graph) -> Path:
    """A small .npz of random 28×28 'digits' with learnable labels, in the --data format."""
    generator = np.random.default_rng(0)
    x = generator.normal(size=(64, 1, 28, 28)).astype(np.float32)
    y = (x[:, 0, :14].mean(axis=(1, 2)) > 0).astype(np.int64)
    path = folder / "tiny.npz"
    np.savez(path, x=x, y=y)
    return path


def run_script(folder: Path, *command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        list(command), cwd=folder, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_script_trains_an_epoch_and_saves(tmp_path: Path) -> None:
    graph = load_template("mnist_cnn")
    settings = TrainingSettings(epochs=1, batch_size=16, validation_split=0.25)
    (tmp_path / "cnn.py").write_text(
        pytorch_export(graph, settings, stem="cnn").code, encoding="utf-8"
    )
    tiny_digits(tmp_path, graph)
    done = run_script(tmp_path, sys.executable, "cnn.py", "--data", "tiny.npz")
    assert done.returncode == 0, done.stderr
    assert "Epoch 1/1" in done.stdout and "val_loss" in done.stdout
    state = torch.load(tmp_path / "cnn.pt", weights_only=True)
    assert state["conv2d.weight"].shape == (32, 1, 3, 3)
    command = ["--weights", "cnn.pt", "--data", "tiny.npz", "--evaluate"]
    evaluated = run_script(tmp_path, sys.executable, "cnn.py", *command)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "loss: " in evaluated.stdout and "accuracy: " in evaluated.stdout


def test_the_script_trains_under_torchrun_on_two_processes(tmp_path: Path) -> None:
    graph = load_template("mlp")
    entry = next(n for n in graph.nodes.values() if n.kind == "Input")
    graph.set_param(entry.id, "shape", (8,))
    settings = TrainingSettings(epochs=2, batch_size=8, validation_split=0.0)
    (tmp_path / "mlp.py").write_text(pytorch_export(graph, settings, stem="mlp").code)
    generator = np.random.default_rng(1)
    x = generator.normal(size=(64, 8)).astype(np.float32)
    np.savez(tmp_path / "tiny.npz", x=x, y=(x[:, 0] > 0).astype(np.int64))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    done = run_script(tmp_path, *command, "--nproc_per_node", "2", "mlp.py", "--data", "tiny.npz")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("Epoch 2/2") == 1  # only the main process reports
    assert (tmp_path / "mlp.pt").exists()


def test_what_the_export_cannot_write_yet_is_said_in_a_sentence() -> None:
    graph = Graph("bidirectional")
    entry = graph.add_node("Input", params={"shape": (5, 3)})
    layer = graph.add_node("Bidirectional", params={"dropout": 0.2})
    out = graph.add_node("Output")
    graph.connect(entry.id, layer.id)
    graph.connect(layer.id, out.id)
    with pytest.raises(ExportGraphError, match="Bidirectional layers without return_state"):
        pytorch_export(graph)
