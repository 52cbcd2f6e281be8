"""The exported script's training loop trains as the studio's own ``fit`` does: with the same
weights, data and settings, every epoch's loss and metrics are the same numbers."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.compile import compile_graph
from core.data.dataset import Dataset
from core.data.samples import load_sample
from core.export.pytorch import class_name, pytorch_export
from core.graph import Graph
from core.h5io import save_model
from core.training import Trainer
from core.training_settings import TrainingSettings


def small_model(features: int, units: int, activation: str) -> Graph:
    graph = Graph("small")
    entry = graph.add_node("Input", params={"shape": (features,)})
    hidden = graph.add_node("Dense", params={"units": 8, "activation": "relu"})
    head = graph.add_node("Dense", params={"units": units, "activation": activation})
    out = graph.add_node("Output")
    graph.connect(entry.id, hidden.id)
    graph.connect(hidden.id, head.id)
    graph.connect(head.id, out.id)
    return graph


CASES = [
    ("adam", "sparse_categorical_crossentropy", ["accuracy"], "ids"),
    ("sgd", "categorical_crossentropy", ["accuracy", "precision", "recall"], "ids"),
    ("rmsprop", "categorical_crossentropy", ["categorical_accuracy"], "one-hot"),
    ("adamw", "binary_crossentropy", ["binary_accuracy"], "binary"),
    ("adagrad", "mean_squared_error", ["mean_absolute_error"], "numbers"),
    ("nadam", "huber", ["mean_squared_error"], "numbers"),
]


def data_for(targets: str) -> Dataset:
    iris = load_sample("iris")
    x = iris.x[0]
    if targets == "ids":
        return iris
    if targets == "one-hot":
        y = np.eye(3, dtype=np.float32)[iris.y]
        return Dataset("one-hot", [x], y, "regression")
    if targets == "binary":
        return Dataset("binary", [x], (iris.y == 2).astype(np.float32)[:, None], "regression")
    return Dataset("numbers", [x[:, :3]], x[:, 3:], "regression")


@pytest.mark.parametrize(("optimizer", "loss", "metrics", "targets"), CASES)
def test_the_script_trains_like_the_studio(
    tmp_path: Path, optimizer: str, loss: str, metrics: list[str], targets: str
) -> None:
    data = data_for(targets)
    units = 1 if targets == "binary" else data.y.shape[1] if data.y.ndim == 2 else 3
    activation = {"binary": "sigmoid", "numbers": "linear"}.get(targets, "softmax")
    graph = small_model(data.x[0].shape[1], units, activation)
    settings = TrainingSettings(
        optimizer=optimizer,
        loss=loss,
        metrics=metrics,
        epochs=3,
        batch_size=16,
        validation_split=0.0,
        shuffle=False,
        device="cpu",
    )
    module = compile_graph(graph, seed=0)
    save_model(tmp_path / "start.h5", graph, module)
    studio = Trainer(copy.deepcopy(module), settings).fit(data).as_keras()
    namespace: dict[str, Any] = {"__name__": "exported"}
    exec(compile(pytorch_export(graph, settings).code, "exported.py", "exec"), namespace)
    model = namespace[class_name(graph)]()
    namespace["load_weights"](model, str(tmp_path / "start.h5"))
    ours = namespace["fit"](model, [data.x[0]], data.y, epochs=3, batch_size=16)
    assert set(ours) == {"loss", *metrics}
    for name, values in ours.items():
        np.testing.assert_allclose(values, studio[name], rtol=1e-5, atol=1e-6, err_msg=name)
