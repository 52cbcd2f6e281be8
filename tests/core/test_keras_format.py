"""Opening the real Keras 2 and Keras 3 files of ../shared/fixtures/keras: same predictions."""

from pathlib import Path

import numpy as np
import pytest
import torch

from core.compile import model_info
from core.h5io import load_model
from core.keras_format import KerasFormatError, graph_from_keras_config

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "keras"
NAMES = sorted(p.stem for p in FIXTURES.glob("*.h5"))


def test_the_fixtures_are_there():
    assert len(NAMES) == 6, FIXTURES


@pytest.mark.parametrize("name", NAMES)
def test_keras_files_predict_keras_numbers(name):
    opened = load_model(FIXTURES / f"{name}.h5")
    graph, model = opened.graph, opened.module
    assert model is not None
    model.eval()
    xs = []
    for i, node_id in enumerate(model_info(model).inputs):
        x = np.load(FIXTURES / f"{name}.x{i}.npy")
        x = np.moveaxis(x, -1, 1) if x.ndim >= 4 else x  # channels last -> our layout
        dtype = torch.int64 if graph.nodes[node_id].params["dtype"] == "int32" else torch.float32
        xs.append(torch.as_tensor(np.ascontiguousarray(x), dtype=dtype))
    with torch.no_grad():
        out = model(*xs)
    outs = out if isinstance(out, tuple) else (out,)
    for i, ours in enumerate(outs):
        ref = np.load(FIXTURES / f"{name}.ref{i}.npy")
        assert np.abs(ours.numpy() - ref).max() < 1e-5


def test_unknown_layers_are_named_and_nothing_is_loaded():
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "m",
            "layers": [
                {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4]}},
                {"class_name": "Dense", "config": {"name": "d", "units": 2}},
                {"class_name": "FancyAttention", "config": {"name": "fa"}},
                {"class_name": "Embedding", "config": {"name": "e", "mask_zero": True}},
            ],
        },
    }
    with pytest.raises(KerasFormatError) as info:
        graph_from_keras_config(config)
    text = str(info.value)
    assert "'fa' is a FancyAttention" in text and "mask_zero" in text
    assert "The studio can open models made of" in text and "Conv2D" in text


def functional(layers):
    return {
        "class_name": "Functional",
        "config": {
            "name": "f",
            "layers": layers,
            "input_layers": [["x", 0, 0]],
            "output_layers": [["d", 0, 0]],
        },
    }


def test_broken_and_shared_functional_models_are_refused_in_one_error():
    x = {
        "class_name": "InputLayer",
        "name": "x",
        "config": {"batch_input_shape": [None, 3]},
        "inbound_nodes": [],
    }
    to_missing = {
        "class_name": "Dense",
        "name": "d",
        "config": {"name": "d", "units": 2},
        "inbound_nodes": [[["nowhere", 0, 0, {}]]],
    }
    with pytest.raises(KerasFormatError, match="inconsistent"):
        graph_from_keras_config(functional([x, to_missing]))
    shared = {
        "class_name": "Dense",
        "name": "d",
        "config": {"name": "d", "units": 3},
        "inbound_nodes": [[["x", 0, 0, {}]], [["x", 0, 0, {}]]],
    }
    with pytest.raises(KerasFormatError, match="shared layer"):
        graph_from_keras_config(functional([x, shared]))
    wrong = {
        "class_name": "Dense",
        "name": "d",
        "config": {"name": "d", "units": 2},
        "inbound_nodes": [[["x", 0, 0, {}]]],
    }
    imported = graph_from_keras_config(functional([x, wrong]))
    assert [n.kind for n in imported.graph.nodes.values()] == ["Input", "Dense", "Output"]
    for bad in (None, {"class_name": "Sequential"}, {"class_name": "Sequential", "config": {}}):
        with pytest.raises(KerasFormatError):
            graph_from_keras_config(bad)


def test_keras_files_with_training_only_settings_open_with_notes(tmp_path):
    """Regularizers, constraints and frozen layers change training, not predictions."""
    import keras

    model = keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            keras.layers.Conv2D(3, 3, kernel_regularizer="l2", bias_constraint="non_neg"),
            keras.layers.BatchNormalization(trainable=False),
            keras.layers.Flatten(),
            keras.layers.Dense(4, activation="softmax", kernel_regularizer="l1"),
        ]
    )
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    path = tmp_path / "regularised.h5"
    model.save(path)
    x = np.random.default_rng(0).normal(size=(3, 6, 6, 2)).astype(np.float32)
    expected = model.predict(x, verbose=0)
    opened = load_model(path)
    text = "\n".join(opened.notes)
    assert "kernel_regularizer" in text and "bias_constraint" in text and "frozen" in text
    assert opened.training.optimizer == "sgd"
    assert opened.module is not None
    opened.module.eval()
    with torch.no_grad():
        ours = opened.module(torch.as_tensor(np.ascontiguousarray(np.moveaxis(x, -1, 1))))
    assert np.abs(ours.numpy() - expected).max() < 1e-5


def test_a_keras_file_with_unknown_layers_is_refused_whole(tmp_path):
    import keras

    from core.h5io import ModelFileError

    model = keras.Sequential(
        [
            keras.Input((5, 4)),
            keras.layers.Conv1D(2, 2),
            keras.layers.LayerNormalization(rms_scaling=True),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.UnitNormalization(),
            keras.layers.Dense(2),
        ]
    )
    path = tmp_path / "unknown.h5"
    model.save(path)
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    text = str(info.value)
    assert str(path) in text
    assert "UnitNormalization, which the studio does not have" in text
    assert "rms_scaling" in text
    assert "The studio can open models made of" in text and "LSTM" in text
