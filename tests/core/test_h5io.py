"""Saving and opening model files: exact round trips, Keras 3 loads what we write, atomic saves."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings

from core import h5io
from core.compile import compile_graph, model_info
from core.graph import Graph
from core.h5io import ModelFile, ModelFileError, load_model, save_model
from core.shapes import infer_shapes
from core.templates import load_template, template_names
from core.training_settings import TrainingSettings
from tests.core.graph_strategies import example_batch, keras_compatible_graphs, two_heads

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "keras"


def example_inputs(graph: Graph, module: torch.fx.GraphModule, seed: int = 0) -> list[torch.Tensor]:
    """A batch of 3 for each model input (ids for int32 inputs)."""
    report = infer_shapes(graph)
    rng = np.random.default_rng(seed)
    xs = []
    for node_id in model_info(module).inputs:
        node = graph.nodes[node_id]
        shape = (3, *node.params["shape"])
        readers = [graph.nodes[e.dst] for e in graph.out_edges(node_id)]
        if any(r.kind == "Embedding" for r in readers):
            top = min(r.params["input_dim"] for r in readers if r.kind == "Embedding")
            ids = rng.integers(0, top, shape)
            xs.append(torch.as_tensor(ids if node.params["dtype"] == "int32" else ids * 1.0))
        else:
            xs.append(torch.as_tensor(rng.normal(size=shape).astype(np.float32)))
    assert report.ok
    return xs


def run(module: torch.fx.GraphModule, xs: list[torch.Tensor]) -> list[np.ndarray]:
    module.eval()
    with torch.no_grad():
        out = module(*xs)
    return [o.numpy() for o in (out if isinstance(out, tuple) else (out,))]


def to_keras_layout(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, 1, -1) if x.ndim >= 4 else x


def keras_predict(path: Path, xs: list[torch.Tensor]) -> list[np.ndarray]:
    import keras

    model = keras.models.load_model(path, compile=False)
    inputs = [to_keras_layout(x.numpy()) for x in xs]
    ys = model(inputs[0] if isinstance(model, keras.Sequential) else inputs, training=False)
    ys = ys if isinstance(ys, (list, tuple)) else [ys]
    return [np.asarray(keras.ops.convert_to_numpy(y)) for y in ys]


def randomised(module: torch.nn.Module, seed: int = 1) -> torch.nn.Module:
    """Every float tensor (BN statistics too) set to random values, so nothing is default."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if t.dtype.is_floating_point and not getattr(t, "keras_redundant", False):
                if "bias_hh" in name and not t.requires_grad:
                    continue
                values = torch.rand(t.shape, generator=gen) * 0.5
                t.copy_(values + 0.5 if "running_var" in name else values - 0.25)
    return module


def assert_same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        assert sa[key].dtype == sb[key].dtype, key
        assert torch.equal(sa[key], sb[key]), key


@pytest.mark.parametrize("name", template_names())
def test_save_then_open_is_bit_identical(tmp_path: Path, name: str) -> None:
    graph = load_template(name)
    graph.set_note(next(iter(graph.nodes)), "first layer: check the shape")
    module = randomised(compile_graph(graph, seed=3))
    settings = TrainingSettings(optimizer="sgd", learning_rate=0.05, epochs=3)
    history = {"loss": [1.5, 0.75, None], "accuracy": [0.25, 0.5, 0.625]}
    path = tmp_path / "model.h5"
    problems = save_model(path, graph, module, training=settings, history=history)
    assert problems == []
    opened = load_model(path)
    assert opened.origin == "studio" and opened.keras_problems == []
    assert opened.graph.to_dict() == graph.to_dict()
    assert opened.training == settings
    assert opened.history == history
    assert opened.module is not None
    assert_same_state(module, opened.module)
    xs = example_inputs(graph, module)
    for ours, back in zip(run(module, xs), run(opened.module, xs), strict=True):
        assert np.array_equal(ours, back)


@pytest.mark.parametrize("name", template_names())
def test_keras_3_opens_studio_files_with_the_same_predictions(tmp_path: Path, name: str) -> None:
    graph = load_template(name)
    module = randomised(compile_graph(graph, seed=4))
    path = tmp_path / f"{name}.h5"
    save_model(path, graph, module)
    xs = example_inputs(graph, module, seed=5)
    ours = run(module, xs)
    theirs = keras_predict(path, xs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert np.abs(to_keras_layout(a) - b).max() < 1e-5


def test_keras_3_compiles_studio_files_with_their_training_settings(tmp_path: Path) -> None:
    import keras

    graph = load_template("mnist_cnn")
    path = tmp_path / "cnn.h5"
    settings = TrainingSettings(optimizer="rmsprop", learning_rate=0.002, metrics=["accuracy"])
    save_model(path, graph, compile_graph(graph, seed=0), training=settings)
    model = keras.models.load_model(path)
    assert type(model.optimizer).__name__ == "RMSprop"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.002)


def text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _attr(obj: Any, name: str) -> Any:
    return text(obj.attrs[name])


def test_studio_files_follow_the_keras_2_profile(tmp_path: Path) -> None:
    """keras-h5.md §10: what tf_keras 2 needs (checked on the structure; no Keras 2 here)."""
    for name in ("mnist_cnn", "residual", "text_classifier"):
        graph = load_template(name)
        path = tmp_path / f"{name}.h5"
        save_model(path, graph, compile_graph(graph, seed=0))
        with h5py.File(path, "r") as f:
            assert _attr(f, "keras_version").startswith("2.")
            assert _attr(f, "backend") == "tensorflow"
            config = json.loads(_attr(f, "model_config"))
            training = json.loads(_attr(f, "training_config"))
            layers = config["config"]["layers"]
            assert layers[0]["class_name"] == "InputLayer"
            assert "batch_input_shape" in layers[0]["config"]
            written = json.dumps(config)
            for key in ("batch_shape", "time_major", "implementation", "input_length", "module"):
                if key == "module" and "Bidirectional" in written:
                    continue
                assert f'"{key}"' not in written, (name, key)
            for layer in layers[1:]:
                assert layer["config"]["dtype"] == "float32"
                if config["class_name"] == "Functional":
                    for node in layer["inbound_nodes"]:
                        assert all(len(ref) == 4 and isinstance(ref[3], dict) for ref in node)
            assert {"loss", "loss_weights", "optimizer_config"} <= set(training)
            group = f["model_weights"]
            names = [text(n) for n in group.attrs["layer_names"]]
            weighted = [n for n in names if len(group[n].attrs["weight_names"])]
            assert weighted, name
            for layer_name in weighted:
                for w in map(text, group[layer_name].attrs["weight_names"]):
                    assert w.startswith(f"{layer_name}/") and w.endswith(":0")
                    assert group[layer_name][w].dtype == np.float32


def test_an_incomplete_model_saves_and_reopens_as_studio_only(tmp_path: Path) -> None:
    graph = load_template("mlp")
    dense = next(n.id for n in graph.nodes.values() if n.kind == "Dense")
    graph.disconnect(graph.in_edges(dense)[0])
    path = tmp_path / "draft.h5"
    problems = save_model(path, graph)
    assert problems and "not complete" in problems[0]
    opened = load_model(path)
    assert opened.module is None and opened.keras_problems == problems
    assert opened.graph.to_dict() == graph.to_dict()
    with h5py.File(path, "r") as f:
        assert "model_config" not in f.attrs  # Keras says it is no model, rather than guess


def test_a_model_keras_cannot_express_keeps_its_weights_in_the_studio_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = load_template("residual")
    module = randomised(compile_graph(graph, seed=0))
    reason = "Keras has no layer like Imaginary ('x')."
    monkeypatch.setattr(h5io, "keras_export_problems", lambda graph, report: [reason])
    path = tmp_path / "studio_only.h5"
    assert save_model(path, graph, module) == [reason]
    monkeypatch.undo()
    opened = load_model(path)
    assert opened.keras_problems == [reason]
    assert opened.module is not None
    assert_same_state(module, opened.module)
    with h5py.File(path, "r") as f:
        assert "model_weights" not in f and "layer_studio/weights" in f


def test_a_crash_mid_save_leaves_the_previous_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = load_template("mlp")
    module = compile_graph(graph, seed=0)
    path = tmp_path / "model.h5"
    save_model(path, graph, module)
    before = path.read_bytes()

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # the user pulls the plug half-way through writing

    monkeypatch.setattr(h5io, "_write_json", crash)
    with pytest.raises(KeyboardInterrupt):
        save_model(path, graph, randomised(module))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.h5"]


def test_saving_where_it_cannot_write_is_a_clear_error(tmp_path: Path) -> None:
    graph = load_template("mlp")
    module = compile_graph(graph, seed=0)
    with pytest.raises(ModelFileError, match="Cannot save"):
        save_model(tmp_path / "no_such_folder" / "m.h5", graph, module)


def test_keras_fixture_files_open_with_their_compile_settings() -> None:
    opened: ModelFile = load_model(FIXTURES / "k2_cnn.h5")
    assert opened.origin == "keras" and opened.module is not None
    assert opened.training.optimizer == "adam"
    assert opened.training.loss == "categorical_crossentropy"
    assert "accuracy" in opened.training.metrics
    for name in sorted(p.stem for p in FIXTURES.glob("*.h5")):
        opened = load_model(FIXTURES / f"{name}.h5")
        assert opened.module is not None, name
        assert not infer_shapes(opened.graph).errors


def test_a_keras_file_resaved_by_the_studio_predicts_the_same_in_keras(tmp_path: Path) -> None:
    for name in ("k2_functional", "k3_rnn"):
        opened = load_model(FIXTURES / f"{name}.h5")
        assert opened.module is not None
        path = tmp_path / f"{name}.h5"
        save_model(path, opened.graph, opened.module, training=opened.training)
        xs = example_inputs(opened.graph, opened.module, seed=2)
        for a, b in zip(run(opened.module, xs), keras_predict(path, xs), strict=True):
            assert np.abs(to_keras_layout(a) - b).max() < 1e-5


def test_a_weights_only_file_says_what_it_is(tmp_path: Path) -> None:
    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"dense"]
    with pytest.raises(ModelFileError, match="no model_config"):
        load_model(path)


def train_epochs(
    module: torch.nn.Module, optimizer: torch.optim.Optimizer, data: tuple, epochs: int
) -> None:
    """A plain loop whose shuffling and dropout draw from torch's global generator."""
    x, y = data
    module.train()
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for i in range(0, len(x), 16):
            batch = order[i : i + 16]
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(module(x[batch]), y[batch])
            loss.backward()
            optimizer.step()


def test_training_continued_from_a_reopened_file_matches_uninterrupted_training(
    tmp_path: Path,
) -> None:
    from core.optimizer_state import capture, restore

    graph = load_template("mlp")
    assert any(n.kind == "Dropout" for n in graph.nodes.values())  # random while training
    features = graph.nodes[model_info(compile_graph(graph)).inputs[0]].params["shape"]
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, *features, generator=gen)
    y = torch.softmax(torch.randn(64, 3, generator=gen), dim=1)

    def start() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
        torch.manual_seed(7)
        module = compile_graph(graph, seed=1)
        return module, torch.optim.Adam(module.parameters(), lr=0.01)

    whole, opt = start()
    train_epochs(whole, opt, (x, y), 4)

    first, opt = start()
    train_epochs(first, opt, (x, y), 2)
    path = tmp_path / "half.h5"
    save_model(path, graph, first, optimizer=capture(opt, first), rng_state=torch.get_rng_state())
    torch.manual_seed(12345)  # whatever happens in between
    opened = load_model(path)
    assert opened.module is not None and opened.optimizer is not None
    assert opened.rng_state is not None
    second = opened.module
    opt = torch.optim.Adam(second.parameters(), lr=0.01)
    restore(opt, second, opened.optimizer)
    torch.set_rng_state(torch.from_numpy(opened.rng_state))
    train_epochs(second, opt, (x, y), 2)
    assert_same_state(whole, second)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=keras_compatible_graphs(max_layers=6))
def test_random_graphs_reopen_exactly_and_load_in_keras_3(graph: Graph) -> None:
    module = randomised(compile_graph(graph, seed=0), seed=2)
    rng = np.random.default_rng(0)
    xs = [torch.as_tensor(x) for x in example_batch(graph, rng, batch=3)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.h5"
        assert save_model(path, graph, module) == []
        opened = load_model(path)
        assert opened.graph.to_dict() == graph.to_dict()
        assert opened.module is not None
        assert_same_state(module, opened.module)
        ours = run(module, xs)
        for a, b in zip(ours, run(opened.module, xs), strict=True):
            assert np.array_equal(a, b)
        theirs = keras_predict(path, xs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert np.abs(to_keras_layout(a) - np.asarray(b, dtype=a.dtype)).max() < 1e-5


def test_a_loss_per_output_reaches_keras_and_comes_back(tmp_path: Path) -> None:
    import keras

    graph = two_heads(classes="cls.a", name="two.heads")
    settings = TrainingSettings(
        loss={"cls.a_out": "categorical_crossentropy", "reg_out": "huber"}, metrics=["mae"]
    )
    path = tmp_path / "two.h5"
    save_model(path, graph, compile_graph(graph, seed=0), training=settings)
    model = keras.models.load_model(path)  # compiles: Keras's names for the outputs
    assert set(model.loss) == {"cls_a", "reg"}
    assert load_model(path).training == settings


def test_a_diverged_history_saves_its_nan_as_missing(tmp_path: Path) -> None:
    graph = load_template("mlp")
    path = tmp_path / "diverged.h5"
    history = {"loss": [0.9, float("nan"), float("inf")]}
    save_model(path, graph, compile_graph(graph, seed=0), history=history)
    assert load_model(path).history == {"loss": [0.9, None, None]}


def test_the_data_record_comes_back_and_a_damaged_one_is_refused(tmp_path: Path) -> None:
    graph = load_template("mlp")
    path = tmp_path / "with_data.h5"
    record = {"spec": "iris", "task": "classification", "class_names": ["a", "b", "c"]}
    save_model(path, graph, compile_graph(graph, seed=0), data=record)
    assert load_model(path).data == record
    save_model(path, graph, compile_graph(graph, seed=0))
    assert load_model(path).data == {}
    save_model(path, graph, compile_graph(graph, seed=0), data=record)
    with h5py.File(path, "r+") as f:
        del f["layer_studio/data"]
        f["layer_studio/data"] = np.bytes_(b"[1, 2]")
    with pytest.raises(ModelFileError, match="layer_studio/data"):
        load_model(path)
