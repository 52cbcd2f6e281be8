"""Training settings: Keras's names and defaults, the studio's JSON, and Keras's training_config."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.keras_training import to_keras_training_config
from core.training_settings import (
    LOSS_ALIASES,
    LOSSES,
    METRIC_ALIASES,
    METRICS,
    OPTIMIZER_CLASSES,
    OPTIMIZERS,
    SettingsError,
    TrainingSettings,
    canonical_loss,
    canonical_metric,
    canonical_optimizer,
    suggest_settings,
)

FIELDS = [f.name for f in dataclasses.fields(TrainingSettings)]
# Options every Keras 3 optimizer has; the studio keeps only each optimizer's own ones.
GENERIC = {"name", "weight_decay", "clipnorm", "global_clipnorm", "clipvalue", "use_ema"}
GENERIC |= {"ema_momentum", "ema_overwrite_frequency", "loss_scale_factor"}
GENERIC |= {"gradient_accumulation_steps"}


def bare(name: str) -> str:
    """A Keras metric name without the ``_3`` Keras adds to repeated automatic names."""
    return re.sub(r"_\d+$", "", name)


# -- catalogs against Keras 3 -----------------------------------------------------------------


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_defaults_are_keras_3_defaults(keras: Any, name: str) -> None:
    optimizer = keras.optimizers.get(name)
    assert type(optimizer).__name__ == OPTIMIZER_CLASSES[name]
    config = optimizer.get_config()
    own = {k: v for k, v in config.items() if k not in GENERIC}
    if config["weight_decay"] is not None:  # AdamW's own option
        own["weight_decay"] = config["weight_decay"]
    assert set(OPTIMIZERS[name]) == set(own)
    for key, value in own.items():
        assert OPTIMIZERS[name][key] == pytest.approx(value, rel=1e-6), key
        assert isinstance(OPTIMIZERS[name][key], bool) == isinstance(value, bool), key
    assert TrainingSettings(optimizer=name).learning_rate == OPTIMIZERS[name]["learning_rate"]


def test_losses_and_metrics_are_keras_names(keras: Any) -> None:
    for name in LOSSES:
        assert keras.losses.get(name).__name__ == name
    for alias, name in LOSS_ALIASES.items():
        assert canonical_loss(alias) == canonical_loss(alias.upper()) == name
        with contextlib.suppress(ValueError):  # Keras 2 aliases: huber_loss, ...
            assert keras.losses.get(alias) is keras.losses.get(name)
    classes = ["CategoricalCrossentropy", "SparseCategoricalCrossentropy", "BinaryCrossentropy"]
    classes += ["MeanSquaredError", "MeanAbsoluteError", "Huber", "KLDivergence"]
    assert [canonical_loss(c) for c in classes] == list(LOSSES)
    assert all(type(keras.losses.get(c)).__name__ == c for c in classes)
    for name in METRICS:
        metric = keras.metrics.get(name)
        assert bare(metric.name) == name
        assert canonical_metric(type(metric).__name__) == name
    for alias, name in METRIC_ALIASES.items():
        assert canonical_metric(alias) == name
    assert canonical_metric("AUC") == "auc" and canonical_metric("Precision") == "precision"
    assert canonical_metric("F1Score") == "f1_score" and canonical_metric("nope") is None
    assert canonical_optimizer("RMSprop") == "rmsprop" and canonical_optimizer("adam_w") == "adamw"


# -- the studio's JSON ------------------------------------------------------------------------


def test_defaults_and_normalization() -> None:
    settings = TrainingSettings()
    assert (settings.optimizer, settings.learning_rate, settings.loss) == (
        "adam",
        0.001,
        "categorical_crossentropy",
    )
    assert (settings.metrics, settings.epochs, settings.batch_size) == (["accuracy"], 10, 32)
    assert (settings.validation_split, settings.shuffle, settings.seed) == (0.2, True, 0)
    assert settings.device == "auto" and settings.clipnorm is None
    odd = TrainingSettings(optimizer="Adam", loss="MSE", metrics=["acc", "AUC", "accuracy"])
    assert (odd.optimizer, odd.loss, odd.metrics) == (
        "adam",
        "mean_squared_error",
        ["accuracy", "auc"],
    )
    sgd = settings.with_optimizer("sgd")
    assert (sgd.learning_rate, sgd.optimizer_options) == (0.01, {})
    assert sgd.all_optimizer_options() == OPTIMIZERS["sgd"]
    tuned = TrainingSettings(optimizer="rmsprop", learning_rate=0.1, optimizer_options={"rho": 0.5})
    assert tuned.all_optimizer_options()["rho"] == 0.5
    assert tuned.all_optimizer_options()["learning_rate"] == 0.1
    with pytest.raises(SettingsError, match="epochs"):
        dataclasses.replace(settings, epochs=0)
    several = TrainingSettings(loss={"a": "mae", "b": "huber"})
    assert several.loss_for("a") == "mean_absolute_error"
    with pytest.raises(SettingsError, match="'c'"):
        several.loss_for("c")


def test_json_round_trip() -> None:
    settings = TrainingSettings(
        optimizer="adamw",
        learning_rate=0.003,
        optimizer_options={"weight_decay": 0.01, "amsgrad": True},
        clipnorm=1.0,
        clipvalue=0.5,
        loss={"cls": "categorical_crossentropy", "reg": "huber"},
        metrics=["accuracy", "mean_absolute_error"],
        epochs=3,
        batch_size=7,
        validation_split=0.0,
        shuffle=False,
        seed=None,
        device="cpu",
    )
    data = json.loads(json.dumps(settings.to_json(), allow_nan=False))
    assert TrainingSettings.from_json(data) == settings
    assert TrainingSettings.from_json(TrainingSettings().to_json()) == TrainingSettings()
    assert TrainingSettings.from_json({}) == TrainingSettings()
    assert TrainingSettings.from_json({"optimizer": "sgd"}).learning_rate == 0.01
    data["loss"]["cls"] = "mae"  # to_json hands out a copy
    assert settings.loss == {"cls": "categorical_crossentropy", "reg": "huber"}


BAD = [
    ("optimizer", "lion", "optimizer 'lion' is not known"),
    ("optimizer", 3, "optimizer must be a name"),
    ("learning_rate", 0, "learning rate must be a number more than 0"),
    ("learning_rate", math.nan, "learning rate"),
    ("learning_rate", math.inf, "learning rate"),
    ("learning_rate", 10**400, "a very large number"),
    ("learning_rate", True, "learning rate"),
    ("learning_rate", "0.1", "learning rate"),
    ("learning_rate", None, "learning rate"),
    ("optimizer_options", {"beta_1": 1.0}, "'beta_1' must be a number at least 0 and less than 1"),
    ("optimizer_options", {"momentum": 0.5}, "'momentum' is not an option of this optimizer"),
    ("optimizer_options", {"learning_rate": 0.5}, "not an option"),
    ("optimizer_options", {"amsgrad": 1}, "'amsgrad' must be true or false"),
    ("optimizer_options", ["beta_1"], "optimizer options must be a table"),
    ("clipnorm", 0, "clipnorm"),
    ("clipvalue", -1.0, "clipvalue"),
    ("clipvalue", "1", "clipvalue"),
    ("loss", "hinge", "loss 'hinge' is not known"),
    ("loss", ["mse"], "loss must be a name"),
    ("loss", {}, "loss per output"),
    ("loss", {"": "mse"}, "output name"),
    ("loss", {"a": "nope"}, "loss for output 'a'"),
    ("metrics", "accuracy", "metrics must be a list"),
    ("metrics", ["nope"], "metric 'nope' is not known"),
    ("metrics", [None], "metric must be a name"),
    ("metrics", ["acc"] * 51, "at most 50"),
    ("epochs", 0, "number of epochs must be a whole number from 1 to 100,000"),
    ("epochs", 100_001, "epochs"),
    ("epochs", 10.0, "epochs"),
    ("epochs", True, "epochs"),
    ("batch_size", 0, "batch size"),
    ("batch_size", 10**7, "batch size"),
    ("validation_split", 1, "validation split must be a number at least 0 and less than 1"),
    ("validation_split", -0.1, "validation split"),
    ("shuffle", 1, "Shuffle must be true or false"),
    ("seed", -1, "random seed"),
    ("seed", 2**32, "random seed"),
    ("seed", 1.5, "random seed"),
    ("device", "tpu", "device 'tpu' is not known"),
    ("device", None, "device must be a name"),
    ("surprise", 1, "'surprise' is not a training setting"),
]


@pytest.mark.parametrize(("key", "value", "words"), BAD)
def test_every_bad_value_is_refused_with_a_sentence(key: str, value: object, words: str) -> None:
    with pytest.raises(SettingsError) as err:
        TrainingSettings.from_json({key: value})
    assert len(err.value.problems) == 1, err.value.problems
    problem = err.value.problems[0]
    assert words in problem and problem.endswith(".") and len(problem) < 400
    assert problem in str(err.value)
    if key in FIELDS and not (isinstance(value, float) and math.isnan(value)):  # NaN: default
        kwargs: dict[str, Any] = {key: value}
        with pytest.raises(SettingsError):
            TrainingSettings(**kwargs)


@pytest.mark.parametrize("data", [None, [], "settings", 3, 1.5, True])
def test_non_tables_are_refused(data: object) -> None:
    with pytest.raises(SettingsError, match="table"):
        TrainingSettings.from_json(data)


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(SettingsError) as err:
        TrainingSettings.from_json({"epochs": 0, "batch_size": 0, "loss": "x", "y": 1})
    assert len(err.value.problems) == 4


leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**400, -(10**400), 2**32, 2**63, 1e308, -0.0])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["adam", "mse", "acc", "auto", "beta_1", "amsgrad", "class_name"])
)
json_values = st.recursive(
    leaves,
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=12,
)


def check_valid(settings: TrainingSettings) -> None:
    data = json.loads(json.dumps(settings.to_json(), allow_nan=False))
    assert TrainingSettings.from_json(data) == settings
    outputs = list(settings.loss) if isinstance(settings.loss, dict) else ["out"]
    json.dumps(to_keras_training_config(settings, outputs), allow_nan=False)


@given(json_values)
def test_from_json_on_any_json_raises_only_settings_error(data: object) -> None:
    try:
        check_valid(TrainingSettings.from_json(data))
    except SettingsError as err:
        assert err.problems and all(isinstance(p, str) and p for p in err.problems)


option_names = sorted({k for options in OPTIMIZERS.values() for k in options})


@given(
    st.dictionaries(
        st.sampled_from(FIELDS),
        json_values
        | st.dictionaries(st.sampled_from(option_names), json_values, max_size=3)
        | st.lists(st.sampled_from([*METRICS, *METRIC_ALIASES, "nope"]), max_size=4),
    )
)
def test_from_json_on_settings_shaped_junk(data: dict[str, object]) -> None:
    try:
        check_valid(TrainingSettings.from_json(data))
    except SettingsError as err:
        assert err.problems


def test_suggested_settings_follow_the_output_layers() -> None:
    from core.templates import load_template
    from tests.core.graph_strategies import two_heads

    settings, why = suggest_settings(load_template("mnist_cnn"), seed=5)
    assert (settings.loss, settings.metrics, settings.seed) == (
        "categorical_crossentropy",
        ["accuracy"],
        5,
    )
    assert "softmax" in why and why.endswith(".")
    assert suggest_settings(load_template("text_classifier"))[0].loss == "binary_crossentropy"
    graph = two_heads()
    settings, why = suggest_settings(graph)
    assert settings.loss == {
        "cls_out": "categorical_crossentropy",
        "reg_out": "mean_squared_error",
    }
    assert settings.metrics == ["accuracy", "mean_absolute_error"]
    assert "reg ends with linear, so mean_squared_error" in why
