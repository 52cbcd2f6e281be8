"""Training settings picked from the model and the data, with their reasons."""

from __future__ import annotations

from core.data.samples import load_sample
from core.fit_checks import adapt, check_fit
from core.templates import load_template
from core.training_defaults import suggest_for_data
from core.training_settings import suggest_settings


def test_without_data_the_model_decides() -> None:
    graph = load_template("mlp")
    settings, reasons = suggest_for_data(graph, None)
    assert settings == suggest_settings(graph)[0]
    assert "softmax" in reasons[0]


def test_class_numbers_get_the_sparse_loss_and_a_size_for_the_data() -> None:
    graph, iris = load_template("mlp"), load_sample("iris")
    settings, reasons = suggest_for_data(graph, iris)
    assert settings.loss == "sparse_categorical_crossentropy"
    assert settings.metrics == ["accuracy"]
    assert (settings.batch_size, settings.epochs) == (16, 100)
    assert "class numbers" in reasons[0] and "150 samples" in reasons[-1]
    assert check_fit(graph, iris, settings) == []


def test_numbers_to_predict_get_mean_squared_error() -> None:
    sine = load_sample("sine", samples=3000)
    graph = adapt(load_template("mlp"), sine, suggest_for_data(load_template("mlp"), sine)[0])
    settings, reasons = suggest_for_data(graph.graph, sine)
    assert settings.loss == "mean_squared_error"
    assert settings.metrics == ["mean_absolute_error"]
    assert (settings.batch_size, settings.epochs) == (64, 30)
    assert "regression" in reasons[0]


def test_a_regression_model_given_classes_is_told_about_softmax() -> None:
    graph = load_template("regression_mlp")
    settings, reasons = suggest_for_data(graph, load_sample("moons"))
    assert settings.loss == "mean_squared_error"
    assert any("softmax" in r for r in reasons)
