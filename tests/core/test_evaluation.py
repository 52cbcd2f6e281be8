"""Evaluation results and the try-it helpers, checked against numbers worked out by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from core.compile import compile_graph
from core.data.csv_table import read_csv_with_pipeline
from core.data.dataset import DataError, Dataset
from core.evaluation import (
    Evaluation,
    Predictor,
    as_probabilities,
    cpu_predict_fn,
    evaluate_model,
    load_image,
    prepare_drawing,
    regression_scores,
)
from core.fit_checks import adapt
from core.metrics import confusion_matrix
from core.templates import load_template
from core.training import Trainer
from core.training_settings import TrainingSettings


class StubTrainer:
    """Gives fixed outputs, as a trained model would (``evaluate`` and ``predict`` only)."""

    def __init__(self, outputs: np.ndarray, metrics: dict[str, float] | None = None) -> None:
        self.outputs = np.asarray(outputs, np.float32)
        self.metrics = metrics or {"loss": 0.5}

    def evaluate(self, data: Dataset) -> dict[str, float]:
        return dict(self.metrics)

    def predict(self, xs: list[Any], batch_size: int = 256) -> np.ndarray:
        assert len(xs[0]) == len(self.outputs)
        return self.outputs


def _table(y: list[int] | np.ndarray, names: list[str] | None = None) -> Dataset:
    y = np.asarray(y, np.int64)
    return Dataset("t", [np.zeros((len(y), 2), np.float32)], y, "classification", names)


OUTPUTS = np.array(
    [
        [0.7, 0.2, 0.1],  # true 0 -> 0
        [0.1, 0.8, 0.1],  # true 1 -> 1
        [0.3, 0.3, 0.4],  # true 1 -> 2
        [0.6, 0.3, 0.1],  # true 2 -> 0
        [0.2, 0.1, 0.7],  # true 2 -> 2
        [0.1, 0.0, 0.9],  # true 1 -> 2 (surer than row 2)
    ]
)
TRUE = [0, 1, 1, 2, 2, 1]


def test_classification_by_hand() -> None:
    data = _table(TRUE, ["a", "b", "c"])
    ev = evaluate_model(StubTrainer(OUTPUTS, {"loss": 0.9, "accuracy": 0.5}), data)  # type: ignore[arg-type]
    assert ev.task == "classification"
    assert ev.metrics == {"loss": 0.9, "accuracy": 0.5}
    assert ev.predictions.tolist() == [0, 1, 2, 0, 2, 2]
    assert ev.confusion is not None
    assert ev.confusion.tolist() == [[1, 0, 0], [0, 1, 2], [1, 0, 1]]
    assert ev.accuracy == pytest.approx(3 / 6)
    b = ev.per_class[1]  # precision 1/1, recall 1/3
    assert (b.name, b.precision, b.recall, b.support) == ("b", 1.0, pytest.approx(1 / 3), 3)
    assert b.f1 == pytest.approx(2 * (1 / 3) / (1 + 1 / 3))
    c = ev.per_class[2]  # predicted 3 times, right once; 2 true samples
    assert (c.precision, c.recall) == (pytest.approx(1 / 3), pytest.approx(1 / 2))
    assert ev.misclassified(1, 2).tolist() == [5, 2]  # most confident first
    assert ev.misclassified(0, 0).tolist() == [0]
    assert ev.misclassified(0, 1).tolist() == []
    assert set(ev.wrong().tolist()) == {2, 3, 5}
    assert ev.confidence()[[0, 5]] == pytest.approx([0.7, 0.9])


def test_classification_of_a_trained_model_matches_its_predictions(iris: Dataset) -> None:
    settings = TrainingSettings(epochs=3, batch_size=32, device="cpu", learning_rate=0.01)
    graph = adapt(load_template("mlp"), iris, settings).graph
    trainer = Trainer(compile_graph(graph, seed=0), settings)
    trainer.fit(iris)
    ev = evaluate_model(trainer, iris, batch_size=64)
    outputs = trainer.predict(iris.x)
    assert np.array_equal(ev.predictions, outputs.argmax(axis=1))
    assert ev.probabilities is not None
    assert np.allclose(ev.probabilities.sum(axis=1), 1, atol=1e-5)
    assert np.array_equal(ev.confusion, confusion_matrix(outputs.argmax(1), iris.y, 3))
    assert ev.metrics["accuracy"] == pytest.approx(ev.accuracy, abs=1e-6)
    assert ev.class_names == iris.class_names
    # every sample is in exactly one cell
    cells = [ev.misclassified(t, p) for t in range(3) for p in range(3)]
    assert sorted(np.concatenate(cells).tolist()) == list(range(len(iris)))


def test_probabilities_from_outputs() -> None:
    logits = np.array([[2.0, -1.0, 0.5]])
    expected = np.exp(logits) / np.exp(logits).sum()
    assert as_probabilities(logits) == pytest.approx(expected)
    probs = np.array([[0.2, 0.8]])
    assert as_probabilities(probs) == pytest.approx(probs)
    assert as_probabilities(np.array([[0.9], [0.2]])) == pytest.approx(
        np.array([[0.1, 0.9], [0.8, 0.2]])
    )
    assert as_probabilities(np.array([[0.0]]))[0] == pytest.approx([1.0, 0.0])
    sigmoid = 1 / (1 + np.exp(-3.0))
    assert as_probabilities(np.array([[3.0]]))[0] == pytest.approx([1 - sigmoid, sigmoid])


def test_binary_sigmoid_model_gives_two_classes() -> None:
    ev = evaluate_model(StubTrainer(np.array([[0.9], [0.2], [0.6]])), _table([1, 1, 0]))  # type: ignore[arg-type]
    assert ev.predictions.tolist() == [1, 0, 1]
    assert ev.confusion is not None
    assert ev.confusion.tolist() == [[0, 1], [1, 1]]


def test_wrong_number_of_classes_is_explained() -> None:
    with pytest.raises(ValueError, match="units to 3"):
        evaluate_model(StubTrainer(np.full((3, 4), 0.25)), _table([0, 1, 2], ["a", "b", "c"]))  # type: ignore[arg-type]


def test_regression_scores_by_hand() -> None:
    (score,) = regression_scores(np.array([[1.0], [2.0], [3.0]]), np.array([[1.0], [3.0], [5.0]]))
    assert score.mae == pytest.approx(1.0)
    assert score.r2 == pytest.approx(1 - 5 / 8)
    flat = regression_scores(np.array([[1.0], [2.0]]), np.array([[2.0], [2.0]]), ["price"])
    assert (flat[0].name, flat[0].r2, flat[0].mae) == ("price", 0.0, pytest.approx(0.5))


def test_regression_evaluation() -> None:
    y = np.array([[1.0, 0.0], [3.0, 0.0], [5.0, 1.0]], np.float32)
    data = Dataset("r", [np.zeros((3, 1), np.float32)], y, "regression")
    pred = np.array([[1.0, 0.0], [2.0, 0.5], [3.0, 1.0]])
    ev = evaluate_model(StubTrainer(pred), data, output_names=["a", "b"])  # type: ignore[arg-type]
    assert [s.name for s in ev.regression] == ["a", "b"]
    assert ev.regression[0].r2 == pytest.approx(1 - 5 / 8)
    assert ev.regression[1].mae == pytest.approx(0.5 / 3)
    assert ev.errors() == pytest.approx([0.0, 0.75, 1.0])
    assert ev.wrong().tolist() == [2, 1, 0]  # largest error first
    assert ev.confusion is None and ev.probabilities is None


def test_cpu_snapshot_does_not_follow_the_model() -> None:
    module = torch.nn.Linear(2, 1)
    predict = cpu_predict_fn(module)
    before = predict(np.ones((1, 2), np.float32))
    with torch.no_grad():
        module.weight.add_(1.0)
    assert predict(np.ones((1, 2), np.float32)) == pytest.approx(before)
    assert module.training  # the model itself is left as it was


def _recording(outputs: np.ndarray) -> tuple[list[np.ndarray], Any]:
    seen: list[np.ndarray] = []

    def predict(batch: np.ndarray) -> np.ndarray:
        seen.append(batch.copy())
        return outputs

    return seen, predict


def test_predictor_modes_and_shapes() -> None:
    seen, fake = _recording(np.array([[0.1, 0.9]]))
    drawing = Predictor(fake, (1, 28, 28), "classification", ["no", "yes"])
    assert drawing.mode == "drawing"
    assert drawing(np.zeros((1, 28, 28))) == pytest.approx([0.1, 0.9])
    assert seen[0].shape == (1, 1, 28, 28) and seen[0].dtype == np.float32
    with pytest.raises(DataError, match="1×28×28"):
        drawing(np.zeros((28, 28)))
    assert Predictor(fake, (1, 8, 8), "classification").mode == "drawing"
    assert Predictor(fake, (3, 32, 32), "classification").mode == "image"
    assert Predictor(fake, (1, 64, 64), "classification").mode == "image"
    assert Predictor(fake, (4,), "classification").mode == "table"
    assert Predictor(fake, (10, 4), "classification").mode == "unsupported"
    regression = Predictor(lambda b: np.array([[2.5]]), (3,), "regression")
    assert regression(np.zeros(3)) == pytest.approx([2.5])


def test_encode_row_without_pipeline() -> None:
    _, fake = _recording(np.zeros((1, 2)))
    predictor = Predictor(fake, (2,), "classification", feature_names=["a", "b"])
    assert predictor.encode_row({"a": "0.5", "b": -1}).tolist() == [0.5, -1.0]
    with pytest.raises(DataError, match="b: 'x' is not a number"):
        predictor.encode_row({"a": 1, "b": "x"})


def test_encode_row_with_pipeline(tmp_path: Path) -> None:
    path = tmp_path / "houses.csv"
    path.write_text("size,city,sold\n50,Paris,yes\n70,Lyon,no\n90,Paris,yes\n110,Nice,no\n")
    data, pipeline = read_csv_with_pipeline(path, "sold")
    _, fake = _recording(np.zeros((1, 2)))
    predictor = Predictor(fake, data.input_shapes[0], data.task, data.class_names, None, pipeline)
    row = predictor.encode_row({"size": 80.0, "city": "Lyon"})
    size = pipeline.columns[0]
    assert row[0] == pytest.approx((80 - size.mean) / size.std)
    levels = pipeline.columns[1].levels
    assert row[1:].tolist() == [1.0 if level == "Lyon" else 0.0 for level in levels]
    with pytest.raises(DataError, match="Rome"):
        predictor.encode_row({"size": 80.0, "city": "Rome"})


def test_drawing_is_centred_and_scaled_like_mnist() -> None:
    ink = np.zeros((280, 280), np.float32)
    ink[20:40, 10:120] = 1.0  # a short bar high up on the left
    out = prepare_drawing(ink, (28, 28))
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.max() == pytest.approx(1.0)
    ys, xs = np.indices(out.shape)
    assert (ys * out).sum() / out.sum() == pytest.approx(13.5, abs=0.6)
    assert (xs * out).sum() / out.sum() == pytest.approx(13.5, abs=0.6)
    columns = np.flatnonzero(out.max(axis=0) > 0.1)
    assert 18 <= len(columns) <= 21  # the longer side fills 20 of 28 pixels
    rows = np.flatnonzero(out.max(axis=1) > 0.1)
    assert len(rows) <= 6  # still a bar
    assert not prepare_drawing(np.zeros((280, 280)), (28, 28)).any()


def test_small_drawing_fills_the_height_like_the_digits() -> None:
    ink = np.zeros((280, 280), np.float32)
    ink[50:200, 130:150] = 1.0  # a vertical stroke
    out = prepare_drawing(ink, (8, 8))
    assert out.shape == (8, 8)
    assert (out.max(axis=1) > 0.1).all()  # top to bottom
    assert (out.max(axis=0) > 0.1).sum() <= 3
    assert out.min() >= 0 and out.max() == pytest.approx(1.0)


def test_load_image(tmp_path: Path) -> None:
    from PIL import Image

    pixels = np.zeros((20, 20, 3), np.uint8)
    pixels[:10, :, 0] = 255  # red top half
    Image.fromarray(pixels).save(tmp_path / "red.png")
    rgb = load_image(tmp_path / "red.png", (3, 10, 10))
    assert rgb.shape == (3, 10, 10) and rgb.dtype == np.float32
    assert rgb[0, :4].min() == pytest.approx(1.0) and rgb[0, 6:].max() == pytest.approx(0.0)
    grey = load_image(tmp_path / "red.png", (1, 10, 10))
    assert grey.shape == (1, 10, 10)
    assert grey[0, 0, 0] == pytest.approx(76 / 255, abs=2 / 255)  # Pillow's luma of red
    (tmp_path / "fake.png").write_text("not an image")
    with pytest.raises(DataError, match=r"fake\.png could not be read as an image"):
        load_image(tmp_path / "fake.png", (1, 10, 10))
    with pytest.raises(DataError, match=r"gone\.png"):
        load_image(tmp_path / "gone.png", (1, 10, 10))
    with pytest.raises(DataError, match="does not take images"):
        load_image(tmp_path / "red.png", (4,))


def test_evaluation_of_no_samples_is_empty() -> None:
    ev = Evaluation("classification", {}, np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert len(ev) == 0 and ev.accuracy == 0.0 and ev.wrong().tolist() == []
