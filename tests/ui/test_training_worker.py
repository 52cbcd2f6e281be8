"""The training worker and session: training on a QThread, signals, pause, resume and stop."""

from __future__ import annotations

import dataclasses
import threading

import pytest
import torch

from core.compile import compile_graph
from core.data import split
from core.data.samples import load_sample
from core.templates import load_template
from core.training_settings import TrainingSettings
from ui.training.session import TrainingSession
from ui.training.worker import BatchProgress, Outcome


@pytest.fixture
def iris_parts():
    parts = split(load_sample("iris"), 0.2, seed=0)
    return parts.train, parts.validation


def settings(**changes) -> TrainingSettings:
    values = dict(
        epochs=3, batch_size=8, device="cpu", seed=0, loss="sparse_categorical_crossentropy"
    )
    return TrainingSettings(**(values | changes))


def collect(session: TrainingSession) -> dict[str, list]:
    seen: dict[str, list] = {"progress": [], "epochs": [], "outcomes": [], "threads": []}
    session.progressed.connect(lambda p: seen["progress"].append(p))
    session.epochEnded.connect(lambda e, r: seen["epochs"].append((e, r)))
    session.finished.connect(lambda o: seen["outcomes"].append(o))
    return seen


def test_a_run_trains_off_the_gui_thread_and_reports(qtbot, iris_parts) -> None:
    train, validation = iris_parts
    module = compile_graph(load_template("mlp"), seed=0)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    session = TrainingSession()
    seen = collect(session)
    threads = []
    session.epochEnded.connect(lambda *_: threads.append(threading.current_thread()))
    with qtbot.waitSignal(session.runningChanged, timeout=30_000, check_params_cb=lambda r: not r):
        session.start(module, settings(), train, validation, ["output"])
        assert session.running
    assert not session.running and session.run_thread is None
    assert [e for e, _ in seen["epochs"]] == [0, 1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(seen["epochs"][0][1])
    assert all(t is threading.main_thread() for t in threads)  # signals arrive in the GUI thread
    outcome = seen["outcomes"][-1]
    assert isinstance(outcome, Outcome) and outcome.state == "done" and outcome.epochs_done == 3
    progress = seen["progress"]
    assert progress and all(isinstance(p, BatchProgress) for p in progress)
    points = [pt for p in progress for pt in p.points]
    batches = -(-len(train) // 8)
    assert len(points) == 3 * batches  # every batch, however many signals carried them
    assert points[-1][0] == pytest.approx(3.0)
    assert progress[-1].fraction == pytest.approx(1.0)
    assert any(not torch.equal(v, before[k]) for k, v in module.state_dict().items())


def test_a_second_run_continues_the_first(qtbot, iris_parts) -> None:
    train, validation = iris_parts
    module = compile_graph(load_template("mlp"), seed=0)
    session = TrainingSession()
    seen = collect(session)
    for epochs in (2, 1):
        with qtbot.waitSignal(
            session.runningChanged, timeout=30_000, check_params_cb=lambda r: not r
        ):
            session.start(module, settings(epochs=epochs), train, validation, ["output"])
    assert [e for e, _ in seen["epochs"]] == [0, 1, 2]
    assert session.continued and session.trainer is not None
    assert len(session.trainer.history.epochs) == 3
    with qtbot.waitSignal(session.runningChanged, timeout=30_000, check_params_cb=lambda r: not r):
        session.start(module, settings(epochs=1, learning_rate=0.01), train, validation, ["output"])
    assert not session.continued  # other settings: a new compile, the history starts again
    assert len(session.trainer.history.epochs) == 1


def test_pause_halts_progress_resume_goes_on_stop_keeps_the_weights(qtbot, iris_parts) -> None:
    train, validation = iris_parts
    module = compile_graph(load_template("mlp"), seed=0)
    session = TrainingSession()
    seen = collect(session)
    session.start(module, settings(epochs=10_000, batch_size=4), train, validation, ["output"])
    qtbot.waitUntil(lambda: len(seen["epochs"]) >= 1, timeout=30_000)
    session.pause()
    qtbot.wait(300)  # the batch under way ends and its signal arrives
    frozen = len(seen["epochs"]), sum(len(p.points) for p in seen["progress"])
    qtbot.wait(400)
    assert (len(seen["epochs"]), sum(len(p.points) for p in seen["progress"])) == frozen
    session.resume()
    qtbot.waitUntil(lambda: len(seen["epochs"]) > frozen[0], timeout=30_000)
    session.pause()
    qtbot.wait(300)  # the batch under way ends
    weights = {k: v.clone() for k, v in module.state_dict().items()}
    with qtbot.waitSignal(session.runningChanged, timeout=30_000, check_params_cb=lambda r: not r):
        session.stop()
        session.resume()
    outcome = seen["outcomes"][-1]
    assert outcome.state == "stopped" and "keeps what it learnt" in outcome.message
    # the paused run stopped before another step: the weights are those seen while paused
    for k, v in module.state_dict().items():
        assert torch.equal(v, weights[k])


def test_a_nan_loss_ends_in_a_message_and_the_session_can_run_again(qtbot, iris_parts) -> None:
    train, validation = iris_parts
    broken = dataclasses.replace(train, x=[train.x[0] * 1e30])
    module = compile_graph(load_template("mlp"), seed=0)
    session = TrainingSession()
    seen = collect(session)
    with qtbot.waitSignal(session.runningChanged, timeout=30_000, check_params_cb=lambda r: not r):
        session.start(
            module, settings(optimizer="sgd", learning_rate=1.0), broken, None, ["output"]
        )
    outcome = seen["outcomes"][-1]
    assert outcome.state == "failed" and "lower learning rate" in outcome.message
    assert all(torch.isfinite(v).all() for v in module.state_dict().values())
    with qtbot.waitSignal(session.runningChanged, timeout=30_000, check_params_cb=lambda r: not r):
        session.start(module, settings(epochs=1), train, validation, ["output"])
    assert seen["outcomes"][-1].state == "done"


def test_stop_and_wait_ends_a_paused_run(qtbot, iris_parts) -> None:
    train, validation = iris_parts
    session = TrainingSession()
    seen = collect(session)
    module = compile_graph(load_template("mlp"), seed=0)
    session.start(module, settings(epochs=10_000), train, validation, ["output"])
    qtbot.waitUntil(lambda: bool(seen["progress"]), timeout=30_000)
    session.pause()
    assert session.stop_and_wait(10_000)
    assert not session.running
