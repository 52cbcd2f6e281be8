"""Training: ``fit``/``evaluate``/``predict``, the fused final activation, callbacks, stopping
and pausing from another thread, NaN handling, devices, and optimizers against Keras 3.

Models and data are tiny, and torch runs on one thread here: the file must stay fast on a
small CI machine, and small models are slower with several threads.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import core.training as training
from core.callbacks import (
    BestModelCheckpoint,
    Callback,
    CallbackError,
    Control,
    EarlyStopping,
    LearningRateScheduler,
    ReduceLROnPlateau,
)
from core.compile import compile_graph
from core.data import ArraySource, Dataset, split
from core.data.samples import load_sample
from core.devices import available_devices, choose_device, make_optimizer
from core.fit_checks import adapt, check_fit
from core.graph import Graph
from core.layers.activations import Softmax
from core.losses import make_loss
from core.templates import load_template
from core.training import Trainer, TrainingError
from core.training_settings import OPTIMIZER_CLASSES, OPTIMIZERS, TrainingSettings

TIMING = {"seconds", "samples_per_second"}
# Keras's torch backend hands NumPy tensors the old way; nothing of ours.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- helpers --------------------------------------------------------------------------------


def net(
    features: int = 2,
    classes: int = 3,
    hidden: int = 16,
    activation: str = "softmax",
    dropout: float = 0.0,
) -> Graph:
    """Input, Dense relu, (Dropout), Dense with ``activation`` named ``head``, Output."""
    graph = Graph(name="net")
    last = graph.add_node("Input", {"shape": [features]}).id
    layers: list[tuple[str, dict[str, Any], str | None]] = []
    if hidden:
        layers.append(("Dense", {"units": hidden, "activation": "relu"}, None))
    if dropout:
        layers.append(("Dropout", {"rate": dropout}, None))
    layers.append(("Dense", {"units": classes, "activation": activation}, "head"))
    for kind, params, name in layers:
        node = graph.add_node(kind, params, name=name).id
        graph.connect(last, node)
        last = node
    graph.connect(last, graph.add_node("Output").id)
    return graph


def make_trainer(graph: Graph, seed: int | None = 0, **options: Any) -> Trainer:
    values: dict[str, Any] = {"epochs": 3, "batch_size": 16, "device": "cpu", "seed": seed}
    settings = TrainingSettings(**(values | options))
    return Trainer(compile_graph(graph, seed=0 if seed is None else seed), settings)


def blobs(samples: int = 90, seed: int = 0) -> Dataset:
    return load_sample("blobs", samples=samples, noise=0.3, seed=seed)


def head(trainer: Trainer) -> nn.Module:
    module = trainer.module.get_submodule("head")
    return module


def outputs(trainer: Trainer, data: Dataset) -> torch.Tensor:
    """The module's own outputs (no trainer in between), in evaluation mode."""
    trainer.module.eval()
    with torch.no_grad():
        result: torch.Tensor = trainer.module(torch.from_numpy(np.asarray(data.x[0])))
    return result


def assert_probabilities(trainer: Trainer, data: Dataset) -> None:
    assert isinstance(head(trainer).activation, Softmax)
    out = outputs(trainer, data)
    assert torch.all(out >= 0)
    torch.testing.assert_close(out.sum(-1), torch.ones(len(out)), atol=1e-5, rtol=0)


def without_timing(trainer: Trainer) -> list[dict[str, float]]:
    return [{k: v for k, v in e.items() if k not in TIMING} for e in trainer.history.epochs]


def same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


class Recorder(Callback):
    """Records every hook call, and the trainer's weights at the start of every epoch."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.batch_logs: list[dict[str, Any]] = []
        self.epoch_logs: list[dict[str, Any]] = []
        self.states: list[dict[str, torch.Tensor]] = []

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.events.append("train_begin")

    def on_train_end(self, logs: dict[str, Any]) -> None:
        self.events.append("train_end")

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        self.events.append(f"epoch_begin {epoch}")
        self.states.append(self.trainer.state())

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        self.events.append(f"epoch_end {epoch}")
        self.epoch_logs.append(dict(logs))

    def on_batch_begin(self, batch: int, logs: dict[str, Any]) -> None:
        self.events.append(f"batch_begin {batch}")

    def on_batch_end(self, batch: int, logs: dict[str, Any]) -> None:
        self.events.append(f"batch_end {batch}")
        self.batch_logs.append(dict(logs))


class Scores(Callback):
    """Puts a made-up ``score`` into the epoch logs (before the callbacks after it see them),
    and keeps the weights each epoch ended with."""

    def __init__(self, values: list[float]) -> None:
        self.values = values
        self.states: list[dict[str, torch.Tensor]] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        logs["score"] = self.values[epoch]
        self.states.append(self.trainer.state())


# -- learning -------------------------------------------------------------------------------


def test_mlp_template_learns_iris(iris: Dataset) -> None:
    parts = split(iris, 0.3, seed=0)
    assert parts.validation is not None
    graph = load_template("mlp")
    settings = TrainingSettings(epochs=30, batch_size=16, learning_rate=0.01, device="cpu")
    assert check_fit(graph, parts.train, settings) == []
    trainer = Trainer(compile_graph(graph, seed=0), settings)
    history = trainer.fit(parts.train, parts.validation)
    assert len(history.epochs) == 30
    assert history.epochs[-1]["val_accuracy"] > 0.9
    assert history.epochs[-1]["loss"] < history.epochs[0]["loss"]


def test_mnist_cnn_adapted_to_digits_learns(digits: Dataset) -> None:
    parts = split(digits, 0.2, seed=0)
    assert parts.validation is not None
    settings = TrainingSettings(epochs=3, batch_size=32, learning_rate=0.003, device="cpu")
    adapted = adapt(load_template("mnist_cnn"), parts.train, settings)
    assert adapted.changes == ["Input 'input': shape 1×28×28 → 1×8×8."]
    trainer = Trainer(compile_graph(adapted.graph, seed=0), settings)
    history = trainer.fit(parts.train.subset(np.arange(800)), parts.validation)
    assert history.epochs[-1]["val_accuracy"] > 0.9


def test_same_seed_same_history_other_seed_other_history() -> None:
    data = blobs()
    graph = net(dropout=0.3)
    runs = []
    for seed in (0, 0, 1):
        trainer = make_trainer(graph, seed=seed)
        trainer.fit(data, data)
        runs.append((without_timing(trainer), trainer.state()))
    assert runs[0][0] == runs[1][0]
    assert same_state(runs[0][1], runs[1][1])
    assert runs[0][0] != runs[2][0]


def test_history_format(iris: Dataset) -> None:
    trainer = make_trainer(net(4), epochs=2)
    history = trainer.fit(iris, iris)
    keys = {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"} | TIMING
    assert len(history.epochs) == 2
    for epoch in history.epochs:
        assert set(epoch) == keys
        assert all(isinstance(v, float) and math.isfinite(v) for v in epoch.values())
        assert epoch["learning_rate"] == pytest.approx(0.001)
        assert epoch["samples_per_second"] == pytest.approx(len(iris) / epoch["seconds"])
    keras_style = history.as_keras()
    assert set(keras_style) == keys
    assert keras_style["loss"] == [e["loss"] for e in history.epochs]
    # another fit continues the history; without validation data there are no val_ numbers
    trainer.fit(iris, epochs=1)
    assert trainer.history is history and len(history.epochs) == 3
    assert set(history.epochs[-1]) == keys - {"val_loss", "val_accuracy"}
    assert math.isnan(history.as_keras()["val_loss"][-1])


def test_evaluate_equals_the_last_epochs_validation() -> None:
    data, validation = blobs(), blobs(40, seed=1)
    trainer = make_trainer(net(dropout=0.2), metrics=["accuracy", "auc"])
    history = trainer.fit(data, validation)
    last = history.epochs[-1]
    result = trainer.evaluate(validation)
    assert set(result) == {"loss", "accuracy", "auc"}
    for name, value in result.items():
        assert value == pytest.approx(last[f"val_{name}"], rel=1e-12, abs=1e-12)
    assert_probabilities(trainer, validation)


def test_predict_gives_probabilities() -> None:
    data = blobs()
    trainer = make_trainer(net())
    trainer.fit(data)
    probs = trainer.predict(data.x)
    assert probs.shape == (len(data), 3) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(trainer.predict(data.x, batch_size=7), probs, atol=1e-6)
    np.testing.assert_allclose(probs, outputs(trainer, data).numpy(), atol=1e-6)


class LazyRows:
    """An :class:`ArraySource` over an array that counts what it is asked for."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.taken: list[int] = []

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    def __len__(self) -> int:
        return len(self.array)

    def take(self, indices: np.ndarray) -> np.ndarray:
        self.taken.append(len(indices))
        chosen: np.ndarray = self.array[indices]
        return chosen


def test_predict_and_fit_on_a_lazy_source() -> None:
    data = blobs()
    lazy = LazyRows(np.asarray(data.x[0]))
    assert isinstance(lazy, ArraySource)
    trainer = make_trainer(net())
    trainer.fit(data)
    probs = trainer.predict([lazy], batch_size=32)
    assert lazy.taken == [32, 32, 26]  # read batch by batch
    np.testing.assert_allclose(probs, trainer.predict(data.x), atol=1e-6)
    lazy_data = Dataset("lazy", [lazy], data.y, "classification", class_names=data.class_names)
    twin = make_trainer(net())
    lazy.taken.clear()
    twin.fit(lazy_data)
    assert without_timing(twin) == without_timing(trainer)
    assert lazy.taken and max(lazy.taken) <= 16  # read batch by batch, not all at once


def test_regression_learns_the_sine() -> None:
    data = load_sample("sine", samples=200, noise=0.0, seed=0)
    trainer = make_trainer(
        net(1, classes=1, hidden=32, activation="linear"),
        loss="mse",
        metrics=["mae"],
        epochs=20,
        learning_rate=0.01,
    )
    assert trainer.heads[0].activation is None
    history = trainer.fit(data, data)
    assert set(history.epochs[0]) >= {"loss", "mean_absolute_error", "val_loss"}
    assert history.epochs[-1]["val_loss"] < 0.5 * history.epochs[0]["val_loss"]
    assert trainer.predict(data.x).shape == (200, 1)


# -- the final activation, fused into the loss ---------------------------------------------


class RaiseAt(Callback):
    def __init__(self, batch: int) -> None:
        self.batch = batch

    def on_batch_end(self, batch: int, logs: dict[str, Any]) -> None:
        if batch == self.batch:
            raise RuntimeError("boom")


class SeesLogits(Callback):
    """Checks, during training, that the model's final softmax is taken out."""

    def __init__(self) -> None:
        self.seen: list[bool] = []

    def on_batch_begin(self, batch: int, logs: dict[str, Any]) -> None:
        self.seen.append(isinstance(head(self.trainer).activation, nn.Identity))


def test_softmax_is_taken_out_while_training_and_put_back() -> None:
    data = blobs()
    trainer = make_trainer(net(), epochs=2)
    softmax = head(trainer).activation
    assert trainer.heads[0].activation == "softmax"
    sees = SeesLogits()
    trainer.fit(data, data, callbacks=[sees])
    assert sees.seen and all(sees.seen)
    assert head(trainer).activation is softmax
    assert not trainer.module.training
    assert_probabilities(trainer, data)
    # evaluate fuses too, and puts it back
    trainer.evaluate(data)
    assert head(trainer).activation is softmax


def test_softmax_is_put_back_after_a_fit_that_raised() -> None:
    data = blobs()
    trainer = make_trainer(net())
    softmax = head(trainer).activation
    with pytest.raises(RuntimeError, match="boom"):
        trainer.fit(data, callbacks=[RaiseAt(2)])
    assert head(trainer).activation is softmax
    assert_probabilities(trainer, data)


def test_a_separate_softmax_activation_layer_is_fused() -> None:
    graph = net(activation="linear")
    tail = graph.add_node("Activation", {"activation": "softmax"}, name="final")
    output = next(n.id for n in graph.nodes.values() if n.kind == "Output")
    graph.disconnect(graph.in_edges(output)[0])
    graph.connect(graph.node_by_name("head").id, tail.id)  # type: ignore[union-attr]
    graph.connect(tail.id, output)
    data = blobs()
    trainer = make_trainer(graph, epochs=2)
    assert trainer.heads[0].activation == "softmax"
    softmax = trainer.module.get_submodule("final")
    trainer.fit(data)
    assert trainer.module.get_submodule("final") is softmax
    np.testing.assert_allclose(trainer.predict(data.x).sum(axis=1), 1.0, atol=1e-5)


def test_nothing_is_fused_for_a_loss_that_takes_probabilities() -> None:
    trainer = make_trainer(net(), loss="mse", metrics=[])
    assert trainer.heads[0].activation is None
    binary = make_trainer(net(classes=1, activation="sigmoid"), loss="binary_crossentropy")
    assert binary.heads[0].activation == "sigmoid"
    mismatch = make_trainer(net(classes=1, activation="sigmoid"), loss="mse", metrics=[])
    assert mismatch.heads[0].activation is None


def test_a_softmax_also_used_by_another_layer_is_not_taken_out() -> None:
    graph = Graph(name="two_heads")
    inp = graph.add_node("Input", {"shape": [2]}).id
    first = graph.add_node("Dense", {"units": 3, "activation": "softmax"}, name="first").id
    second = graph.add_node("Dense", {"units": 4, "activation": "softmax"}, name="second").id
    graph.connect(inp, first)
    graph.connect(first, second)  # `first` feeds both its Output and `second`
    graph.connect(first, graph.add_node("Output").id)
    graph.connect(second, graph.add_node("Output").id)
    module = compile_graph(graph, seed=0)
    loss = make_loss("categorical_crossentropy")
    heads = [training._Head(loss.name, loss, "softmax", -1)] * 2
    x = torch.randn(5, 2)
    with training._logits(module, heads):
        kept, stripped = module(x)
        assert isinstance(module.get_submodule("first").activation, Softmax)
        assert isinstance(module.get_submodule("second").activation, nn.Identity)
    torch.testing.assert_close(kept.sum(-1), torch.ones(5))
    assert not torch.allclose(stripped.sum(-1), torch.ones(5))
    after = module(x)
    torch.testing.assert_close(after[1].sum(-1), torch.ones(5))
    assert isinstance(module.get_submodule("second").activation, Softmax)


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "sparse_categorical_crossentropy"])
def test_fused_loss_equals_keras_on_the_predictions(keras: Any, loss: str) -> None:
    data, validation = blobs(), blobs(40, seed=1)
    trainer = make_trainer(net(), loss=loss, epochs=5, learning_rate=0.05)
    trainer.fit(data)
    ours = trainer.evaluate(validation)["loss"]
    probs = trainer.predict(validation.x).astype(np.float64)
    if loss == "categorical_crossentropy":
        reference = keras.losses.CategoricalCrossentropy(dtype="float64")
        target = np.eye(3)[validation.y]
    else:
        reference = keras.losses.SparseCategoricalCrossentropy(dtype="float64")
        target = validation.y
    expected = float(keras.ops.convert_to_numpy(reference(target, probs)))
    assert ours == pytest.approx(expected, abs=1e-5)


def test_fused_binary_loss_equals_keras(keras: Any) -> None:
    data = load_sample("moons", samples=80, seed=0)
    trainer = make_trainer(
        net(classes=1, activation="sigmoid"), loss="binary_crossentropy", epochs=5
    )
    trainer.fit(data)
    ours = trainer.evaluate(data)["loss"]
    probs = trainer.predict(data.x).astype(np.float64)
    reference = keras.losses.BinaryCrossentropy(dtype="float64")
    expected = float(keras.ops.convert_to_numpy(reference(data.y[:, None], probs)))
    assert ours == pytest.approx(expected, abs=1e-5)


# -- callbacks ------------------------------------------------------------------------------


def test_callback_hooks_come_in_keras_order() -> None:
    data = blobs(20)
    trainer = make_trainer(net(), batch_size=10, epochs=2)
    recorder = Recorder()
    trainer.fit(data, callbacks=[recorder])
    epoch = ["batch_begin 0", "batch_end 0", "batch_begin 1", "batch_end 1"]
    assert recorder.events == [
        "train_begin",
        "epoch_begin 0",
        *epoch,
        "epoch_end 0",
        "epoch_begin 1",
        *epoch,
        "epoch_end 1",
        "train_end",
    ]
    assert recorder.trainer is trainer
    first = recorder.batch_logs[0]
    assert first["size"] == 10 and isinstance(first["loss"], torch.Tensor)
    assert recorder.epoch_logs == trainer.history.epochs
    assert float(recorder.batch_logs[1]["loss"]) == pytest.approx(trainer.history.epochs[0]["loss"])


def test_early_stopping_stops_and_restores_the_best_weights() -> None:
    data = blobs()
    trainer = make_trainer(net(), epochs=10)
    scores = Scores([3.0, 1.0, 2.0, 2.0, 2.0, 0.5, 0.5, 0.5, 0.5, 0.5])
    stopper = EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    trainer.fit(data, callbacks=[scores, stopper])
    assert len(trainer.history.epochs) == 4 and stopper.stopped_epoch == 3
    assert same_state(trainer.state(), scores.states[1])
    assert any("Stopped early after epoch 4" in note for note in trainer.notes)
    # without restore_best_weights the last weights stay
    trainer = make_trainer(net(), epochs=10)
    scores = Scores(scores.values)
    trainer.fit(data, callbacks=[scores, EarlyStopping(monitor="score", patience=2)])
    assert len(trainer.history.epochs) == 4
    assert same_state(trainer.state(), scores.states[3])


def test_early_stopping_mode_from_the_name() -> None:
    data = blobs()
    trainer = make_trainer(net(), epochs=10)
    scores = Scores([0.5, 0.9, 0.8, 0.7, 0.95, 0.1, 0.1, 0.1, 0.1, 0.1])
    trainer.fit(data, callbacks=[scores, EarlyStopping(monitor="score_acc", patience=2)])
    assert len(trainer.history.epochs) == 10  # "score" alone: min mode, never "acc"
    trainer = make_trainer(net(), epochs=10)
    accuracy = Scores(scores.values)
    stopper = EarlyStopping(monitor="val_accuracy", patience=2)
    trainer.fit(data, callbacks=[accuracy, stopper])  # no validation: no val_accuracy, no stop
    assert len(trainer.history.epochs) == 10 and stopper.stopped_epoch is None


def test_early_stopping_restores_the_best_weights_when_training_ends() -> None:
    data = blobs()
    trainer = make_trainer(net(), epochs=3)
    scores = Scores([1.0, 2.0, 3.0])
    stopper = EarlyStopping(monitor="score", patience=5, restore_best_weights=True)
    trainer.fit(data, callbacks=[scores, stopper])
    assert len(trainer.history.epochs) == 3
    assert same_state(trainer.state(), scores.states[0])


def test_reduce_lr_on_plateau_lowers_the_learning_rate() -> None:
    data = blobs()
    trainer = make_trainer(net(), epochs=4, learning_rate=0.01)
    plateau = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=1e9)
    trainer.fit(data, callbacks=[plateau])
    rates = [e["learning_rate"] for e in trainer.history.epochs]
    assert rates == pytest.approx([0.01, 0.01, 0.005, 0.0025])
    assert trainer.learning_rate == pytest.approx(0.00125)
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.00125)
    assert sum("Learning rate lowered" in note for note in trainer.notes) == 3
    # min_lr is a floor; cooldown skips epochs after a cut
    trainer = make_trainer(net(), epochs=4, learning_rate=0.01)
    floor = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=1e9, min_lr=0.004)
    trainer.fit(data, callbacks=[floor])
    assert trainer.learning_rate == pytest.approx(0.004)
    trainer = make_trainer(net(), epochs=5, learning_rate=0.01)
    cool = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=1e9, cooldown=2)
    trainer.fit(data, callbacks=[cool])
    rates = [e["learning_rate"] for e in trainer.history.epochs]
    assert rates == pytest.approx([0.01, 0.01, 0.005, 0.005, 0.0025])
    with pytest.raises(CallbackError):
        ReduceLROnPlateau(factor=1.0)


def test_learning_rate_scheduler_sets_the_rate_each_epoch() -> None:
    data = blobs()
    trainer = make_trainer(net(), epochs=3)
    seen: list[tuple[int, float]] = []

    def schedule(epoch: int, lr: float) -> float:
        seen.append((epoch, lr))
        return 0.1 / (epoch + 1)

    trainer.fit(data, callbacks=[LearningRateScheduler(schedule)])
    rates = [e["learning_rate"] for e in trainer.history.epochs]
    assert rates == pytest.approx([0.1, 0.05, 0.1 / 3])
    assert seen == [(0, pytest.approx(0.001)), (1, pytest.approx(0.1)), (2, pytest.approx(0.05))]


def test_best_model_checkpoint_keeps_the_best_and_saves() -> None:
    data = blobs()
    trainer = make_trainer(net(), epochs=4)
    saved: list[tuple[Trainer, int]] = []
    scores = Scores([3.0, 1.0, 2.0, 1.5])
    checkpoint = BestModelCheckpoint(
        monitor="score", save=lambda t: saved.append((t, len(t.history.epochs)))
    )
    trainer.fit(data, callbacks=[scores, checkpoint])
    assert checkpoint.best_epoch == 1 and checkpoint.best == 1.0
    assert checkpoint.best_state is not None
    assert same_state(checkpoint.best_state, scores.states[1])
    assert not same_state(trainer.state(), scores.states[1])  # the model itself goes on
    assert saved == [(trainer, 1), (trainer, 2)]


# -- control from another thread ------------------------------------------------------------


class StopFromThread(Callback):
    """After the first batch, a thread of its own calls ``control.stop()``."""

    def __init__(self, control: Control) -> None:
        self.control = control
        self.thread: threading.Thread | None = None
        self.batches = 0

    def on_batch_end(self, batch: int, logs: dict[str, Any]) -> None:
        self.batches += 1
        if self.thread is None:
            self.thread = threading.Thread(target=self.control.stop)
            self.thread.start()


def test_stop_from_another_thread() -> None:
    data = blobs()
    trainer = make_trainer(net(), epochs=500)
    initial = trainer.state()
    control = Control()
    stopper = StopFromThread(control)
    trainer.fit(data, callbacks=[stopper], control=control)
    assert stopper.thread is not None
    stopper.thread.join()
    assert control.stopped
    assert 1 <= len(trainer.history.epochs) < 500
    state = trainer.state()
    assert not same_state(state, initial)  # the trained weights are kept
    assert all(torch.isfinite(v).all() for v in state.values())
    assert_probabilities(trainer, data)
    # a stopped control stops the next fit before it starts
    done = len(trainer.history.epochs)
    trainer.fit(data, control=control)
    assert len(trainer.history.epochs) == done
    assert same_state(trainer.state(), state)


class Counter(Callback):
    def __init__(self) -> None:
        self.batches = 0

    def on_batch_end(self, batch: int, logs: dict[str, Any]) -> None:
        self.batches += 1


def test_pause_resume_and_stop_while_paused() -> None:
    data = blobs()
    trainer = make_trainer(net(), epochs=100_000)
    control, counter = Control(), Counter()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            trainer.fit(data, callbacks=[counter], control=control)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        wait_for(lambda: counter.batches > 0)
        control.pause()
        assert control.paused
        time.sleep(0.2)  # a batch under way ends
        paused_at = counter.batches
        time.sleep(0.3)
        assert counter.batches == paused_at  # no progress while paused
        control.resume()
        wait_for(lambda: counter.batches > paused_at + 3)
        control.pause()
        time.sleep(0.2)
        control.stop()  # while paused
        worker.join(timeout=20)
        assert not worker.is_alive()
    finally:
        control.stop()
        worker.join(timeout=20)
    assert errors == []
    assert all(torch.isfinite(v).all() for v in trainer.state().values())
    assert_probabilities(trainer, data)


# -- a loss that becomes NaN ----------------------------------------------------------------


def test_nan_says_lower_learning_rate_and_keeps_the_weights(iris: Dataset) -> None:
    huge = dataclasses.replace(iris, x=[np.asarray(iris.x[0]) * 1e6])
    trainer = make_trainer(net(4, hidden=32), optimizer="sgd", learning_rate=10.0, epochs=5)
    softmax = head(trainer).activation
    recorder = Recorder()
    with pytest.raises(TrainingError, match="lower learning rate") as raised:
        trainer.fit(huge, callbacks=[recorder])
    assert "NaN" in str(raised.value) or "infinite" in str(raised.value)
    failed = len(trainer.history.epochs)
    assert same_state(trainer.state(), recorder.states[failed])  # from before that epoch
    assert all(torch.isfinite(v).all() for v in trainer.module.state_dict().values())
    assert head(trainer).activation is softmax
    assert_probabilities(trainer, iris)


def test_training_goes_on_after_a_nan_epoch(iris: Dataset) -> None:
    x = np.asarray(iris.x[0]).copy()
    x[5, 1] = np.nan  # a missing value
    broken = dataclasses.replace(iris, x=[x])
    trainer = make_trainer(net(4), optimizer="adam", epochs=2, shuffle=False)
    with pytest.raises(TrainingError):
        trainer.fit(broken)
    trainer.fit(iris, epochs=1)  # the data fixed, training goes on
    assert math.isfinite(trainer.history.epochs[-1]["loss"])


# -- devices --------------------------------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without an NVIDIA GPU")
def test_cuda_without_a_gpu_falls_back_to_the_cpu() -> None:
    choice = choose_device("cuda")
    assert choice.device == torch.device("cpu")
    assert choice.message == "No NVIDIA GPU (CUDA) was found; training on the CPU instead."
    trainer = make_trainer(net(), device="cuda")
    assert trainer.device == torch.device("cpu") and trainer.device_message == choice.message
    assert trainer.device_name == "CPU"


@pytest.mark.skipif(
    available_devices() != ["cpu"], reason="needs a machine without a GPU (CUDA or MPS)"
)
def test_auto_takes_the_cpu_without_a_gpu() -> None:
    choice = choose_device("auto")
    assert choice.device == torch.device("cpu") and choice.message == ""


def test_cpu_and_unknown_devices() -> None:
    assert "cpu" in available_devices()
    assert choose_device("cpu") == choose_device("cpu")
    assert choose_device("cpu").message == ""
    unknown = choose_device("tpu")
    assert unknown.device == torch.device("cpu")
    assert unknown.message == "There is no device called 'tpu'; training on the CPU instead."


# -- optimizers -----------------------------------------------------------------------------

TORCH_CLASSES = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
    "adadelta": torch.optim.Adadelta,
    "nadam": torch.optim.NAdam,
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_make_optimizer_has_keras_defaults(keras: Any, name: str) -> None:
    config = keras.optimizers.get(name).get_config()
    param = nn.Parameter(torch.zeros(3))
    optimizer = make_optimizer(TrainingSettings(optimizer=name), [param])
    assert type(optimizer) is TORCH_CLASSES[name]
    d = optimizer.defaults
    assert d["lr"] == pytest.approx(config["learning_rate"])
    if "beta_1" in config:
        assert d["betas"] == pytest.approx((config["beta_1"], config["beta_2"]))
    if "epsilon" in config:
        assert d["eps"] == pytest.approx(config["epsilon"])
    if name == "rmsprop":
        assert d["alpha"] == pytest.approx(config["rho"])
        assert d["centered"] == config["centered"]
    if name == "adadelta":
        assert d["rho"] == pytest.approx(config["rho"])
    for key in ("momentum", "nesterov", "amsgrad", "initial_accumulator_value"):
        if key in config:
            assert d[key] == pytest.approx(config[key]), key
    if name == "adamw":
        assert d["weight_decay"] == pytest.approx(config["weight_decay"])


STEPS: list[Any] = [  # name, options, learning rate (large enough for visible steps)
    ("sgd", {}, 0.1),
    ("sgd", {"momentum": 0.9}, 0.1),
    ("sgd", {"momentum": 0.9, "nesterov": True}, 0.1),
    ("adam", {}, 0.001),
    ("adam", {"amsgrad": True}, 0.001),
    ("adamw", {}, 0.001),
    ("rmsprop", {}, 0.001),
    ("rmsprop", {"momentum": 0.9}, 0.001),
    ("rmsprop", {"centered": True}, 0.001),
    ("adagrad", {}, 0.1),
    ("adadelta", {}, 1.0),
    ("nadam", {}, 0.001),
]


@pytest.mark.parametrize(("name", "options", "lr"), STEPS)
def test_optimizer_steps_equal_keras(
    keras: Any, name: str, options: dict[str, Any], lr: float
) -> None:
    """Three steps with gradients of order 1, as Keras takes them.

    Adam's and RMSprop's epsilon sit elsewhere in Keras (Adam: added to the uncorrected
    ``sqrt(v)``; RMSprop: inside the square root), which shows only for gradients much
    smaller than 1 or learning rates much larger than the default; those are not tested here.
    """
    rng = np.random.default_rng(0)
    start = rng.normal(size=(5, 4)).astype(np.float32)
    grads = [rng.normal(size=(5, 4)).astype(np.float32) for _ in range(3)]
    settings = TrainingSettings(optimizer=name, learning_rate=lr, optimizer_options=options)
    param = nn.Parameter(torch.from_numpy(start.copy()))
    ours = make_optimizer(settings, [param])
    reference = getattr(keras.optimizers, OPTIMIZER_CLASSES[name])(
        **settings.all_optimizer_options()
    )
    variable = keras.Variable(start.copy())
    for grad in grads:
        param.grad = torch.from_numpy(grad.copy())
        ours.step()
        reference.apply_gradients([(torch.from_numpy(grad.copy()), variable)])
        expected = keras.ops.convert_to_numpy(variable)
        np.testing.assert_allclose(param.detach().numpy(), expected, rtol=0, atol=1e-6)
    assert np.abs(param.detach().numpy() - start).max() > 1e-3  # the steps were not nothing


# -- class weights, clipping, targets -------------------------------------------------------


def test_class_weight_weights_the_loss_as_keras(keras: Any) -> None:
    data = blobs(30)
    graph = net(hidden=0)  # one Dense softmax: no dropout, so the first loss is exact
    weights = {0: 1.0, 1: 3.0, 2: 0.5}
    one_batch = {"batch_size": 30, "epochs": 1, "optimizer": "sgd"}
    trainer = make_trainer(graph, **one_batch)
    probs = trainer.predict(data.x).astype(np.float64)  # the weights before the only step
    trainer.fit(data, class_weight=weights)
    reference = keras.losses.CategoricalCrossentropy(dtype="float64")
    sample_weight = np.array([weights[int(c)] for c in data.y])
    weighted = reference(np.eye(3)[data.y], probs, sample_weight=sample_weight)
    assert trainer.history.epochs[0]["loss"] == pytest.approx(float(weighted), abs=1e-5)
    plain = make_trainer(graph, **one_batch)
    plain.fit(data)
    unweighted = float(reference(np.eye(3)[data.y], probs))
    assert plain.history.epochs[0]["loss"] == pytest.approx(unweighted, abs=1e-5)
    assert abs(unweighted - float(weighted)) > 1e-3


def test_class_weight_for_some_classes_only() -> None:
    data = blobs(30)
    trainer = make_trainer(net(hidden=0), batch_size=30, epochs=1)
    trainer.fit(data, class_weight={0: 2.0})  # classes 1 and 2 keep the weight 1


class GradientLog:
    """Every parameter's gradient as the optimizer is about to use it."""

    def __init__(self, trainer: Trainer) -> None:
        self.largest: list[float] = []
        self.norms: list[list[float]] = []
        trainer.optimizer.register_step_pre_hook(self)

    def __call__(self, optimizer: torch.optim.Optimizer, *_: Any) -> None:
        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        self.largest.append(max(float(g.abs().max()) for g in grads))
        self.norms.append([float(g.norm()) for g in grads])


def test_clipvalue_and_clipnorm_bound_the_gradients() -> None:
    data = blobs()
    data = dataclasses.replace(data, x=[np.asarray(data.x[0]) * 100])
    logs = []
    for clip in ({}, {"clipvalue": 0.05}, {"clipnorm": 0.1}):
        trainer = make_trainer(net(), epochs=1, optimizer="sgd", **clip)
        log = GradientLog(trainer)
        trainer.fit(data)
        logs.append(log)
    free, by_value, by_norm = logs
    assert max(free.largest) > 1.0
    assert max(by_value.largest) <= 0.05 + 1e-7
    assert max(max(n) for n in free.norms) > 1.0
    assert max(max(n) for n in by_norm.norms) <= 0.1 + 1e-6
    # Keras's clipnorm bounds each weight's gradient on its own, not all of them together
    assert max(math.hypot(*n) for n in by_norm.norms) > 0.1 + 1e-3


def test_class_ids_with_categorical_crossentropy_equal_one_hot_rows() -> None:
    data = blobs()
    rows = dataclasses.replace(
        data, y=np.eye(3, dtype=np.float32)[data.y], task="regression", class_names=None
    )
    by_ids = make_trainer(net(), loss="categorical_crossentropy")
    by_rows = make_trainer(net(), loss="categorical_crossentropy")
    sparse = make_trainer(net(), loss="sparse_categorical_crossentropy")
    ids, head = by_ids._targets(data, by_ids.heads[0])
    # ids stay ids, read by the fused sparse loss; the metrics keep the categorical names
    assert ids.shape == (len(data),) and ids.dtype == torch.int64
    assert head.loss.name == "sparse_categorical_crossentropy"
    assert head.loss_name == "categorical_crossentropy"
    first, second, third = by_ids.evaluate(data), by_rows.evaluate(rows), sparse.evaluate(data)
    assert first == pytest.approx(second, rel=1e-6) and first == pytest.approx(third, rel=1e-6)
    for trainer, part in ((by_ids, data), (by_rows, rows), (sparse, data)):
        trainer.fit(part, part)
    for a, b, c in zip(*(without_timing(t) for t in (by_ids, by_rows, sparse)), strict=True):
        assert a == pytest.approx(b, rel=1e-5, abs=1e-6)
        assert a == pytest.approx(c, rel=1e-5, abs=1e-6)
    # a validation part that lacks the last class still works
    part = data.subset(np.flatnonzero(data.y < 2))
    assert by_ids.evaluate(part)["loss"] > 0


def test_data_that_does_not_fit_stops_before_training_with_a_message() -> None:
    data = blobs()  # 2 features, 3 classes
    trainer = make_trainer(net(features=5))
    before = trainer.state()
    wrong = "takes samples of shape 5 but the training data has samples of shape 2"
    with pytest.raises(TrainingError, match=wrong):
        trainer.fit(data)
    for name, value in trainer.state().items():
        torch.testing.assert_close(value, before[name])
    assert trainer.history.epochs == []
    too_few_units = make_trainer(net(classes=2))
    with pytest.raises(TrainingError, match="training labels do not fit"):
        too_few_units.fit(data)
    with pytest.raises(TrainingError, match="validation labels do not fit"):
        shifted = dataclasses.replace(data, y=data.y + 3, class_names=None)
        make_trainer(net(classes=3)).fit(data, shifted)
    two_inputs = dataclasses.replace(data, x=[data.x[0], data.x[0]])
    with pytest.raises(TrainingError, match="The model has 1 input but the test data gives 2"):
        make_trainer(net()).evaluate(two_inputs)
    with pytest.raises(TrainingError, match="no samples"):
        make_trainer(net()).fit(data.subset(np.arange(0)))


@pytest.mark.parametrize("cores", [2, 4])  # 4: batches read ahead by worker processes
@pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning")  # 4 faked cores
def test_an_image_folder_bigger_than_memory_trains_and_a_bad_image_stops_with_its_name(
    tmp_path, monkeypatch, cores
) -> None:
    from PIL import Image

    monkeypatch.setattr(training.os, "cpu_count", lambda: cores)

    from core.data.images import read_image_folder

    rng = np.random.default_rng(0)
    for label, level in (("dark", 40), ("light", 210)):
        (tmp_path / label).mkdir()
        for i in range(24):
            pixels = np.clip(rng.normal(level, 20, (8, 8, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / label / f"{i:02d}.png")
    data = read_image_folder(tmp_path, size=(8, 8), memory_budget=1000)
    assert not isinstance(data.x[0], np.ndarray)  # read from disk batch by batch
    graph = Graph(name="images")
    ids = [graph.add_node("Input", {"shape": [3, 8, 8]}).id, graph.add_node("Flatten").id]
    ids.append(graph.add_node("Dense", {"units": 2, "activation": "softmax"}).id)
    ids.append(graph.add_node("Output").id)
    for a, b in itertools.pairwise(ids):
        graph.connect(a, b)
    trainer = make_trainer(graph, epochs=15, batch_size=8, learning_rate=0.01)
    trainer.fit(data)
    assert trainer.evaluate(data)["accuracy"] == 1.0
    (tmp_path / "light" / "05.png").write_bytes(b"no longer an image")
    with pytest.raises(TrainingError, match=r"05\.png could not be read.*keeps what it learnt"):
        trainer.fit(data, epochs=1)
