"""Checks that the data fits the model before training (:func:`check_fit`), and :func:`adapt`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from core.data import Dataset
from core.fit_checks import adapt, check_fit
from core.graph import Graph
from core.templates import load_template
from core.training_settings import TrainingSettings

SETTINGS = TrainingSettings()  # categorical_crossentropy, as the templates end with softmax


def chain(
    input_shape: Sequence[int], layers: Sequence[tuple[str, dict[str, Any]]], name: str = "m"
) -> Graph:
    """Input, the layers one after the other, Output."""
    graph = Graph(name=name)
    last = graph.add_node("Input", {"shape": list(input_shape)}).id
    for kind, params in layers:
        node = graph.add_node(kind, params).id
        graph.connect(last, node)
        last = node
    graph.connect(last, graph.add_node("Output").id)
    return graph


def dense(units: int, activation: str = "softmax") -> tuple[str, dict[str, Any]]:
    return "Dense", {"units": units, "activation": activation}


def table(classes: int, rows: int = 20, features: int = 4) -> Dataset:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, features)).astype(np.float32)
    return Dataset("table", [x], np.arange(rows, dtype=np.int64) % classes, "classification")


def regression(width: int, rows: int = 20, features: int = 4) -> Dataset:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, features)).astype(np.float32)
    y = rng.normal(size=(rows, width)).astype(np.float32)
    return Dataset("numbers", [x], y, "regression")


# -- check_fit ------------------------------------------------------------------------------


def test_a_fitting_model_has_no_problems(iris: Dataset) -> None:
    assert check_fit(load_template("mlp"), iris, SETTINGS) == []
    assert check_fit(chain([4], [dense(3)]), iris, SETTINGS) == []


def test_input_shape_mismatch_says_what_to_set(iris: Dataset, digits: Dataset) -> None:
    problems = check_fit(chain([5], [dense(3)]), iris, SETTINGS)
    assert problems == [
        "Your samples are 4 but the Input layer 'input' expects 5: set its shape to 4."
    ]
    problems = check_fit(load_template("mnist_cnn"), digits, SETTINGS)
    assert len(problems) == 1
    assert "1×8×8" in problems[0] and "1×28×28" in problems[0]
    assert problems[0].endswith("set its shape to 1×8×8.")


def test_wrong_number_of_classes(iris: Dataset) -> None:
    problems = check_fit(chain([4], [dense(10)]), iris, SETTINGS)
    assert problems == ["Your data has 3 classes but the last Dense has 10 units: set it to 3."]


def test_input_and_classes_both_wrong_give_both_problems(digits: Dataset) -> None:
    problems = check_fit(chain([4], [dense(3)]), digits, SETTINGS)
    assert len(problems) == 2
    assert "set its shape to 1×8×8" in problems[0]
    assert problems[1] == "Your data has 10 classes but the last Dense has 3 units: set it to 10."


def test_the_width_layer_is_found_past_dropout_and_activation(iris: Dataset) -> None:
    graph = chain(
        [4],
        [dense(7, "linear"), ("Dropout", {"rate": 0.5}), ("Activation", {"activation": "softmax"})],
    )
    assert check_fit(graph, iris, SETTINGS) == [
        "Your data has 3 classes but the last Dense has 7 units: set it to 3."
    ]


def test_regression_width() -> None:
    settings = TrainingSettings(loss="mse", metrics=[])
    problems = check_fit(chain([4], [dense(3, "linear")]), regression(2), settings)
    assert problems == [
        "Your data has 2 numbers to predict per sample but the last Dense gives 3: set it to 2."
    ]
    problems = check_fit(chain([4], [dense(3, "linear")]), regression(1), settings)
    assert problems == [
        "Your data has 1 number to predict per sample but the last Dense gives 3: set it to 1."
    ]
    assert check_fit(chain([4], [dense(2, "linear")]), regression(2), settings) == []


def test_binary_crossentropy_with_five_classes_suggests_the_sparse_loss() -> None:
    settings = TrainingSettings(loss="binary_crossentropy")
    problems = check_fit(chain([4], [dense(5, "sigmoid")]), table(5), settings)
    assert len(problems) == 1
    assert "class numbers (5 classes)" in problems[0]
    assert "sparse_categorical_crossentropy" in problems[0]


def test_binary_crossentropy_wants_one_unit_for_two_classes() -> None:
    settings = TrainingSettings(loss="binary_crossentropy")
    assert check_fit(chain([4], [dense(1, "sigmoid")]), table(2), settings) == []
    problems = check_fit(chain([4], [dense(2, "sigmoid")]), table(2), settings)
    assert problems == ["Your data has 2 classes but the last Dense has 2 units: set it to 1."]


def test_one_unit_is_said_in_the_singular() -> None:
    problems = check_fit(chain([4], [dense(1, "sigmoid")]), table(5), SETTINGS)
    assert problems == ["Your data has 5 classes but the last Dense has 1 unit: set it to 5."]


def test_one_input_is_said_in_the_singular() -> None:
    data = table(3, features=3)
    problems = check_fit(two_inputs([3], [5]), data, SETTINGS)
    assert problems[0] == "The model has 2 Input layers but the data gives 1 input."


def test_a_model_with_problems_is_reported_first(iris: Dataset) -> None:
    graph = chain([1, 8, 8], [dense(3)])  # Dense on images without a Flatten
    problems = check_fit(graph, iris, SETTINGS)
    assert len(problems) == 1
    assert problems[0].startswith("The model has problems to fix first:")
    assert "Flatten" in problems[0]


def two_inputs(first: Sequence[int], second: Sequence[int], units: int = 3) -> Graph:
    graph = Graph(name="two")
    a = graph.add_node("Input", {"shape": list(first)}, name="left").id
    b = graph.add_node("Input", {"shape": list(second)}, name="right").id
    join = graph.add_node("Concatenate").id
    graph.connect(a, join, 0, 0)
    graph.connect(b, join, 0, 1)
    head = graph.add_node("Dense", {"units": units, "activation": "softmax"}).id
    graph.connect(join, head)
    graph.connect(head, graph.add_node("Output").id)
    return graph


def test_several_inputs() -> None:
    rng = np.random.default_rng(0)
    data = Dataset(
        "pair",
        [rng.normal(size=(12, 3)).astype(np.float32), rng.normal(size=(12, 5)).astype(np.float32)],
        np.arange(12, dtype=np.int64) % 3,
        "classification",
    )
    assert check_fit(two_inputs([3], [5]), data, SETTINGS) == []
    problems = check_fit(two_inputs([2], [6]), data, SETTINGS)
    assert problems == [
        "Your samples are 3 but the Input layer 'left' expects 2: set its shape to 3.",
        "Your samples are 5 but the Input layer 'right' expects 6: set its shape to 5.",
    ]
    one = Dataset("one", [data.x[0]], data.y, "classification")
    problems = check_fit(two_inputs([3], [5]), one, SETTINGS)
    assert problems and problems[0].startswith("The model has 2 Input layers but the data gives 1")


def test_several_outputs_are_refused(iris: Dataset) -> None:
    graph = chain([4], [dense(3)])
    head = next(n.id for n in graph.nodes.values() if n.kind == "Dense")
    graph.connect(head, graph.add_node("Output").id)
    settings = TrainingSettings(loss={"output": "categorical_crossentropy"})
    assert check_fit(graph, iris, settings) == ["Training needs a model with one Output layer."]


# -- adapt ----------------------------------------------------------------------------------


def test_adapt_fixes_input_shape_and_units_and_leaves_the_original(digits: Dataset) -> None:
    graph = load_template("mnist_cnn")
    before = graph.to_dict()
    adapted = adapt(graph, digits, SETTINGS)
    assert graph.to_dict() == before
    assert adapted.graph is not graph
    assert adapted.changes == ["Input 'input': shape 1×28×28 → 1×8×8."]  # 10 units already
    assert check_fit(adapted.graph, digits, SETTINGS) == []


def test_adapt_gives_an_mlp_a_flatten_for_images(digits: Dataset) -> None:
    graph = load_template("mlp")
    before = graph.to_dict()
    adapted = adapt(graph, digits, SETTINGS)
    assert graph.to_dict() == before
    assert adapted.changes == [
        "Input 'input': shape 4 → 1×8×8.",
        "Flatten 'flatten' added after 'input'.",
        "Dense 'dense_2': units 3 → 10.",
    ]
    assert check_fit(adapted.graph, digits, SETTINGS) == []


def test_adapt_sets_units_for_the_classes(iris: Dataset) -> None:
    graph = chain([4], [dense(10)])
    before = graph.to_dict()
    adapted = adapt(graph, iris, SETTINGS)
    assert graph.to_dict() == before
    assert adapted.changes == ["Dense 'dense': units 10 → 3."]
    assert check_fit(adapted.graph, iris, SETTINGS) == []


def test_adapt_walks_past_dropout_and_activation(iris: Dataset) -> None:
    graph = chain(
        [5],
        [dense(7, "linear"), ("Dropout", {"rate": 0.5}), ("Activation", {"activation": "softmax"})],
    )
    adapted = adapt(graph, iris, SETTINGS)
    dense_node = next(n for n in adapted.graph.nodes.values() if n.kind == "Dense")
    assert dense_node.params["units"] == 3
    assert graph.node(dense_node.id).params["units"] == 7
    assert len(adapted.changes) == 2
    assert check_fit(adapted.graph, iris, SETTINGS) == []


def test_adapt_for_regression_and_binary() -> None:
    settings = TrainingSettings(loss="mse", metrics=[])
    adapted = adapt(chain([3], [dense(5, "linear")]), regression(2), settings)
    assert check_fit(adapted.graph, regression(2), settings) == []
    binary = TrainingSettings(loss="binary_crossentropy")
    adapted = adapt(chain([4], [dense(3, "sigmoid")]), table(2), binary)
    assert adapted.changes == ["Dense 'dense': units 3 → 1."]
    assert check_fit(adapted.graph, table(2), binary) == []


def test_adapt_fixes_several_inputs() -> None:
    rng = np.random.default_rng(0)
    data = Dataset(
        "pair",
        [rng.normal(size=(12, 3)).astype(np.float32), rng.normal(size=(12, 5)).astype(np.float32)],
        np.arange(12, dtype=np.int64) % 4,
        "classification",
    )
    adapted = adapt(two_inputs([2], [6]), data, SETTINGS)
    assert len(adapted.changes) == 3
    assert check_fit(adapted.graph, data, SETTINGS) == []


def test_adapt_changes_nothing_when_the_model_fits(iris: Dataset) -> None:
    adapted = adapt(load_template("mlp"), iris, SETTINGS)
    assert adapted.changes == []
    assert adapted.graph.to_dict() == load_template("mlp").to_dict()
