"""Keras's training_config both ways: every Keras 2 and 3 form, and Keras 3 compiles ours."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.keras_training import from_keras_training_config, to_keras_training_config
from core.training_settings import (
    LOSSES,
    METRICS,
    OPTIMIZER_CLASSES,
    OPTIMIZERS,
    SettingsError,
    TrainingSettings,
)
from tests.core.test_training_settings import bare, check_valid, json_values, option_names

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "keras"


# -- Keras training_config: reading -----------------------------------------------------------

FIXTURE_EXPECTED = {
    "cnn": ("adam", "categorical_crossentropy", ["accuracy"]),
    "rnn": ("rmsprop", "sparse_categorical_crossentropy", ["accuracy"]),
    "functional": (
        "adam",
        {"cls": "categorical_crossentropy", "reg": "mean_squared_error"},
        [],
    ),
}


def _training_config(path: Path) -> Any:
    with h5py.File(path, "r") as f:
        return json.loads(f.attrs["training_config"])


@pytest.mark.parametrize("version", ["k2", "k3"])
@pytest.mark.parametrize("model", list(FIXTURE_EXPECTED))
def test_reads_the_real_keras_files(version: str, model: str) -> None:
    settings, notes = from_keras_training_config(
        _training_config(FIXTURES / f"{version}_{model}.h5")
    )
    assert (settings.optimizer, settings.loss, settings.metrics) == FIXTURE_EXPECTED[model]
    assert settings.learning_rate == 0.001 and settings.optimizer_options == {}
    assert notes == []


def test_reads_keras_2_and_keras_3_forms() -> None:
    config = {
        "loss": {"class_name": "CategoricalCrossentropy", "config": {"from_logits": False}},
        "loss_weights": None,
        "metrics": [
            ["acc", {"class_name": "MeanMetricWrapper", "config": {"name": "m", "fn": "mae"}}],
            {"module": "keras.metrics", "class_name": "AUC", "config": {}, "registered_name": None},
        ],
        "optimizer_config": {
            "class_name": "Custom>sgd",
            "config": {"lr": 0.05, "momentum": 0.8999999761581421, "nesterov": True, "clipnorm": 2},
        },
    }
    settings, notes = from_keras_training_config(json.dumps(config))
    assert notes == []
    assert (settings.optimizer, settings.learning_rate, settings.clipnorm) == ("sgd", 0.05, 2.0)
    assert settings.optimizer_options == {"momentum": 0.9, "nesterov": True}
    assert settings.loss == "categorical_crossentropy"
    assert settings.metrics == ["accuracy", "mean_absolute_error", "auc"]
    function = {"class_name": "function", "config": "huber", "module": "keras.losses"}
    assert from_keras_training_config({"loss": function, "optimizer_config": {}})[0].loss == "huber"


def _adam(**config: object) -> dict[str, object]:
    return {"optimizer_config": {"class_name": "Adam", "config": config}}


def _loss(kind: str, **config: object) -> dict[str, object]:
    return {"loss": {"class_name": kind, "config": config}}


NOTES = [
    (
        {"optimizer_config": {"class_name": "Lion", "config": {}}},
        "The file's optimizer 'Lion' is not in the studio; using Adam.",
    ),
    ({"optimizer_config": "adam"}, "optimizer is unclear"),
    ({"optimizer_config": {"class_name": "pkg>Adam"}}, "'pkg>Adam' is not in the studio"),
    ({"loss": "my_loss"}, "loss 'my_loss' is not in the studio; using categorical_crossentropy."),
    ({"loss": None}, "does not say which loss"),
    (_loss("BinaryCrossentropy", from_logits=True), "from_logits"),
    (_loss("Huber", delta=2.0), "delta"),
    (_loss("CategoricalCrossentropy", label_smoothing=0.1), "label smoothing"),
    ({"loss": ["mse", "mae"]}, "using mean_squared_error for all"),
    ({"loss_weights": {"a": 1.0, "b": 0.5}}, "weighs its outputs' losses"),
    ({"weighted_metrics": ["accuracy"]}, "weighted metrics"),
    ({"metrics": ["accuracy", "f1"]}, "metric 'f1' is not in the studio; it is left out."),
    ({"metrics": {"a": ["accuracy"], "b": ["mae"]}}, "different metrics per output"),
    (_adam(weight_decay=0.01), "weight decay"),
    (_adam(global_clipnorm=1.0), "global gradient norm"),
    (_adam(use_ema=True), "use_ema"),
    (_adam(decay=0.01), "drops over time"),
    (_adam(beta_1="x"), "beta_1 'x' cannot be used; using Keras's default 0.9."),
    (_adam(learning_rate=-1), "learning_rate -1 cannot be used"),
    (_adam(clipvalue=0), "clipvalue 0 cannot be used; using no clipping."),
    ("{not json", "unreadable"),
    ([1, 2], "unreadable"),
]


@pytest.mark.parametrize(("config", "words"), NOTES)
def test_what_the_studio_lacks_becomes_a_note(config: Any, words: str) -> None:
    if isinstance(config, dict):
        config = {"loss": "categorical_crossentropy", "loss_weights": None} | config
        config.setdefault("optimizer_config", {"class_name": "Adam", "config": {}})
    settings, notes = from_keras_training_config(config)
    assert any(words in note for note in notes), notes
    assert all(note.endswith(".") for note in notes)
    assert settings.optimizer == "adam" and settings.learning_rate == 0.001


@pytest.mark.parametrize(
    ("schedule", "start"),
    [
        ({"class_name": "ExponentialDecay", "config": {"initial_learning_rate": 0.1}}, 0.1),
        ({"class_name": "PiecewiseConstantDecay", "config": {"values": [0.02, 0.01]}}, 0.02),
        ({"class_name": "Weird", "config": {}}, 0.001),
    ],
)
def test_a_learning_rate_schedule_keeps_its_start(schedule: dict[str, Any], start: float) -> None:
    optimizer = {"class_name": "Adam", "config": {"learning_rate": schedule}}
    settings, notes = from_keras_training_config({"optimizer_config": optimizer, "loss": "mse"})
    assert settings.learning_rate == start and settings.loss == "mean_squared_error"
    assert len(notes) == 1 and schedule["class_name"] in notes[0] and "keeps it at" in notes[0]


training_config_junk = st.dictionaries(
    st.sampled_from(["loss", "metrics", "loss_weights", "weighted_metrics", "optimizer_config"]),
    json_values
    | st.fixed_dictionaries(
        {
            "class_name": st.sampled_from([*OPTIMIZER_CLASSES.values(), "Custom>Adam"])
            | json_values,
            "config": st.dictionaries(
                st.sampled_from([*option_names, "lr", "clipnorm", "decay"]), json_values
            ),
        }
    ),
)


@given(json_values | training_config_junk)
def test_keras_junk_gives_defaults_and_notes_never_an_exception(config: object) -> None:
    settings, notes = from_keras_training_config(config)
    assert isinstance(settings, TrainingSettings) and all(isinstance(n, str) for n in notes)
    check_valid(settings)


# -- Keras training_config: writing, and Keras 3 compiling from it -----------------------------


def _write_h5(path: Path, training_config: dict[str, Any], units: int = 3) -> None:
    """The minimal legacy file of keras-h5.md §10: Input(4) -> Dense(units, softmax)."""
    first = {"name": "input_layer", "batch_input_shape": [None, 4], "dtype": "float32"}
    dense = {"name": "dense", "units": units, "activation": "softmax"}
    layers = [
        {"class_name": "InputLayer", "config": first},
        {"class_name": "Dense", "config": dense},
    ]
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(
            {"class_name": "Sequential", "config": {"name": "m", "layers": layers}}
        )
        f.attrs["training_config"] = json.dumps(training_config)
        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = [b"dense"]
        group = weights.create_group("dense")
        group.attrs["weight_names"] = [b"dense/kernel:0", b"dense/bias:0"]
        group.create_dataset("dense/kernel:0", data=np.zeros((4, units), np.float32))
        group.create_dataset("dense/bias:0", data=np.zeros((units,), np.float32))


def test_writes_what_keras_2_and_3_both_read() -> None:
    settings = TrainingSettings(optimizer="adamw", metrics=["precision", "accuracy", "r2_score"])
    config = to_keras_training_config(settings, ["dense"])
    assert config["loss"] == "categorical_crossentropy" and config["loss_weights"] is None
    assert config["metrics"] == ["Precision", "accuracy", "R2Score"]
    assert config["optimizer_config"] == {
        "class_name": "AdamW",
        "config": {"name": "adamw", "clipnorm": None, "clipvalue": None, **OPTIMIZERS["adamw"]},
    }
    several = to_keras_training_config(TrainingSettings(loss="mse", metrics=[]), ["a", "b"])
    assert several["loss"] == {"a": "mean_squared_error", "b": "mean_squared_error"}
    assert several["metrics"] is None
    with pytest.raises(SettingsError, match="loss for the output 'b'"):
        to_keras_training_config(TrainingSettings(loss={"a": "mse"}), ["a", "b"])
    with pytest.raises(SettingsError, match="at least one output"):
        to_keras_training_config(TrainingSettings(), [])
    back, notes = from_keras_training_config(config)
    assert back == settings and notes == []


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_keras_3_compiles_every_optimizer(keras: Any, tmp_path: Path, name: str) -> None:
    option = next(k for k, v in OPTIMIZERS[name].items() if k != "learning_rate")
    value = not OPTIMIZERS[name][option] if isinstance(OPTIMIZERS[name][option], bool) else 0.5
    settings = TrainingSettings(
        optimizer=name, learning_rate=0.0123, optimizer_options={option: value}, clipvalue=0.25
    )
    _write_h5(tmp_path / "m.h5", to_keras_training_config(settings, ["dense"]))
    model = keras.models.load_model(tmp_path / "m.h5", compile=True)
    config = model.optimizer.get_config()
    assert type(model.optimizer).__name__ == OPTIMIZER_CLASSES[name]
    assert config["learning_rate"] == pytest.approx(0.0123, rel=1e-6)
    assert config[option] == pytest.approx(value) and config["clipvalue"] == 0.25
    assert from_keras_training_config(to_keras_training_config(settings, ["dense"]))[0] == settings


@pytest.mark.parametrize("loss", list(LOSSES))
def test_keras_3_compiles_every_loss(keras: Any, tmp_path: Path, loss: str) -> None:
    _write_h5(tmp_path / "m.h5", to_keras_training_config(TrainingSettings(loss=loss), ["dense"]))
    model = keras.models.load_model(tmp_path / "m.h5", compile=True)
    assert model.loss.__name__ == loss


@pytest.mark.parametrize("sparse", [False, True])
def test_keras_3_compiles_every_metric(keras: Any, tmp_path: Path, sparse: bool) -> None:
    metrics = [m for m in METRICS if ("sparse" in m) == sparse or m == "accuracy"]
    loss = "sparse_categorical_crossentropy" if sparse else "categorical_crossentropy"
    settings = TrainingSettings(loss=loss, metrics=metrics)
    _write_h5(tmp_path / "m.h5", to_keras_training_config(settings, ["dense"]), units=6)
    model = keras.models.load_model(tmp_path / "m.h5", compile=True)
    x = np.random.default_rng(0).random((8, 4), dtype=np.float32)
    labels = np.arange(8) % 6
    y = labels if sparse else np.eye(6, dtype=np.float32)[labels]
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(bare(k) for k in result) == sorted([*metrics, "loss"])


@pytest.mark.parametrize("model", ["k2_cnn", "k3_cnn", "k2_functional", "k3_functional"])
def test_keras_3_compiles_the_real_files_with_what_the_studio_writes(
    keras: Any, tmp_path: Path, model: str
) -> None:
    path = tmp_path / f"{model}.h5"
    shutil.copy(FIXTURES / f"{model}.h5", path)
    settings, _ = from_keras_training_config(_training_config(path))
    settings = dataclasses.replace(settings, learning_rate=0.02, metrics=["mae"])
    outputs = list(settings.loss) if isinstance(settings.loss, dict) else ["out"]
    with h5py.File(path, "r+") as f:
        f.attrs["training_config"] = json.dumps(to_keras_training_config(settings, outputs))
        # Keras 3 files keep the learning rate among the optimizer's saved variables too, and
        # Keras 3 restores it over the training_config's: test the training_config alone.
        del f["optimizer_weights"]
    loaded = keras.models.load_model(path, compile=True)
    assert loaded.optimizer.get_config()["learning_rate"] == pytest.approx(0.02)
    names = (
        {k: getattr(v, "__name__", v) for k, v in dict(loaded.loss).items()}
        if isinstance(loaded.loss, dict)
        else loaded.loss.__name__
    )
    assert names == settings.loss
