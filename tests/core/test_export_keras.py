"""Keras code export: it builds in Keras 3 with the studio's parameter count, takes the studio's
``.h5`` weights and predicts the same; names from the document cannot add code."""

from __future__ import annotations

import ast
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings

from core.compile import compile_graph
from core.export.keras import keras_code
from core.graph import Graph
from core.h5io import save_model
from core.summary import summarize
from core.templates import load_template, template_names
from core.training_settings import TrainingSettings
from tests.core.graph_strategies import example_batch, keras_compatible_graphs
from tests.core.test_h5io import example_inputs, randomised, run, to_keras_layout

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


def build(code: str) -> Any:
    """Run the exported file as a module (not as __main__) and give back its model."""
    namespace: dict[str, Any] = {"__name__": "exported"}
    exec(compile(code, "exported.py", "exec"), namespace)  # the test's own output
    return namespace["model"]


@pytest.mark.parametrize("name", template_names())
def test_every_template_builds_in_keras_and_predicts_like_the_studio(
    keras: Any, tmp_path: Path, name: str
) -> None:
    graph = load_template(name)
    module = compile_graph(graph, seed=0)
    settings = TrainingSettings(optimizer="rmsprop", learning_rate=0.01, metrics=["accuracy"])
    code = keras_code(graph, settings)
    ast.parse(code)
    model = build(code)
    assert model.count_params() == summarize(graph).total
    assert model.optimizer.__class__.__name__ == "RMSprop"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    path = tmp_path / f"{name}.h5"
    save_model(path, graph, module, training=settings)
    model.load_weights(str(path))
    xs = example_inputs(graph, module)
    ours = run(module, xs)
    theirs = model.predict([to_keras_layout(x.numpy()) for x in xs], verbose=0)
    theirs = theirs if isinstance(theirs, list) else [theirs]
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(to_keras_layout(a), np.asarray(b), atol=1e-5)


def test_a_stack_is_sequential_and_a_graph_is_functional() -> None:
    assert "keras.Sequential(" in keras_code(load_template("mlp"))
    assert "layers.Dense(64, activation='relu', name='dense')" in keras_code(load_template("mlp"))
    residual = keras_code(load_template("residual"))
    assert "keras.Model(inputs=" in residual and "layers.Add(" in residual


def test_names_holding_code_stay_strings(keras: Any, tmp_path: Path) -> None:
    graph = load_template("mlp")
    evil = "x'); import os; os.system('touch " + str(tmp_path / "owned") + '\'); (\'\n"""'
    graph.name = evil
    first = next(n for n in graph.nodes.values() if n.kind == "Dense")
    graph.rename(first.id, "d\"e'n\\se")
    code = keras_code(graph)
    model = build(code)
    assert not (tmp_path / "owned").exists()
    assert model.count_params() == summarize(graph).total


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=keras_compatible_graphs(max_layers=6))
def test_random_graphs_build_in_keras_and_predict_like_the_studio(graph: Graph) -> None:
    pytest.importorskip("keras")
    module = randomised(compile_graph(graph, seed=0), seed=2)
    xs = [torch.as_tensor(x) for x in example_batch(graph, np.random.default_rng(0), batch=3)]
    model = build(keras_code(graph))
    assert model.count_params() == summarize(graph).total
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.h5"
        save_model(path, graph, module)
        model.load_weights(str(path))
    ours = run(module, xs)
    theirs = model.predict([to_keras_layout(x.numpy()) for x in xs], verbose=0)
    theirs = theirs if isinstance(theirs, list) else [theirs]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(to_keras_layout(a), np.asarray(b), atol=1e-5)
