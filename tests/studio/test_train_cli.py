"""``layer-studio train`` and ``evaluate``: Keras's fit and evaluate from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.h5io import load_model
from tests.studio.test_cli import assert_one_line_error


def new(cli, tmp_path: Path, template: str) -> Path:
    path = tmp_path / f"{template}.h5"
    assert cli("new", template, "-o", path)[0] == 0
    return path


def epochs(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_train_saves_the_model_its_settings_and_history_and_continues(cli, tmp_path) -> None:
    model = new(cli, tmp_path, "mlp")
    code, out, err = cli("train", model, "--data", "iris", "--epochs", 3, "--json")
    assert code == 0, err
    lines = epochs(out)
    assert [line["epoch"] for line in lines] == [1, 2, 3]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "seconds", "samples_per_second"):
        assert all(isinstance(line[key], float) for line in lines), key
    assert "Training on the CPU." in err and "Saved the trained model" in err
    saved = load_model(model)
    assert saved.training.epochs == 3 and len(saved.history["loss"]) == 3
    assert saved.history["loss"] == [line["loss"] for line in lines]
    assert cli("train", model, "--data", "iris", "--epochs", 2)[0] == 0  # continue
    assert len(load_model(model).history["val_accuracy"]) == 5


def test_a_model_that_does_not_fit_the_data_says_what_to_change(cli, tmp_path) -> None:
    model = new(cli, tmp_path, "mnist_cnn")
    assert_one_line_error(cli("train", model, "--data", "digits"), "1×8×8", "--adapt")
    model = new(cli, tmp_path, "mlp")  # made for iris: 4 numbers in, 3 classes out
    assert_one_line_error(
        cli("train", model, "--data", "breast_cancer", "--epochs", 1),
        "Your samples are 30",
        "2 classes but the last Dense has 3 units",
        "--adapt",
    )


@pytest.mark.parametrize("template", ["mnist_cnn", "mlp"])
def test_templates_adapted_to_digits_reach_95_percent(cli, tmp_path, template) -> None:
    model = new(cli, tmp_path, template)
    out_file = tmp_path / "trained.h5"
    code, out, err = cli(
        "train", model, "--data", "digits", "--adapt", "--epochs", 20, "--json", "-o", out_file
    )
    assert code == 0, err
    assert "Adapted: Input 'input': shape" in err
    assert epochs(out)[-1]["val_accuracy"] >= 0.95
    code, out, _ = cli("evaluate", out_file, "--data", "digits", "--json")
    assert code == 0 and json.loads(out)["accuracy"] >= 0.95
    assert load_model(model).graph.to_dict() != load_model(out_file).graph.to_dict()


def test_evaluate_prints_metrics_and_each_class(cli, tmp_path) -> None:
    model = new(cli, tmp_path, "mlp")
    cli("train", model, "--data", "iris", "--epochs", 5)
    code, out, _ = cli("evaluate", model, "--data", "iris")
    assert code == 0
    assert "Evaluated on the whole dataset of iris: 150 samples." in out
    assert "accuracy" in out and "setosa" in out and "precision" in out


def test_a_regression_fits_the_sine(cli, tmp_path) -> None:
    model = new(cli, tmp_path, "regression_mlp")
    code, out, err = cli(
        "train", model, "--data", "sine:samples=2000,noise=0.05", "--epochs", 60, "--json",
        "--adapt",
    )  # fmt: skip
    assert code == 0, err
    assert epochs(out)[-1]["val_loss"] < 0.02  # noise alone is 0.0025


def test_a_diverging_run_stops_with_advice_and_keeps_what_was_learnt(cli, tmp_path) -> None:
    model = new(cli, tmp_path, "regression_mlp")
    data = tmp_path / "big.npz"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 1)).astype(np.float32) * 1e4
    np.savez(data, x=x, y=(x * 1e4).astype(np.float32))
    code, _, err = cli("train", model, "--data", data, "--optimizer", "sgd", "--lr", 5)
    last = err.splitlines()[-1]  # after the lines about the data and the device
    assert code == 2 and last.startswith("layer-studio: error: The loss became")
    assert "Try a lower learning rate" in last and "Traceback" not in err
    assert not load_model(model).history.get("loss")  # nothing learnt, nothing saved


def test_bad_data_and_settings_end_in_one_line(cli, tmp_path) -> None:
    model = new(cli, tmp_path, "mlp")
    assert_one_line_error(cli("train", model, "--data", "nowhere.csv"), "no file or folder")
    assert_one_line_error(cli("train", model, "--data", "moons:samples=3"), "samples")
    assert_one_line_error(cli("train", model, "--data", "iris", "--epochs", 0), "epoch")
    assert_one_line_error(cli("train", model, "--data", "iris", "--optimizer", "magic"), "magic")
    code, _, err = cli("train", model, "--data", "iris", "--epochs", 1, "--device", "cuda")
    assert code == 0 and "training on the CPU instead" in err


def test_the_mlp_learns_iris(cli, tmp_path) -> None:
    """95 % on average over five seeds: the validation part is only 30 flowers, so one seed's
    figure moves in steps of 3.3 % (seeds 0 to 4 give 90, 100, 100, 93 and 97 %)."""
    model = new(cli, tmp_path, "mlp")
    scores = []
    for seed in range(5):
        code, out, err = cli(
            "train", model, "--data", "iris", "--epochs", 100, "--seed", seed, "--json",
            "-o", tmp_path / f"iris_{seed}.h5",
        )  # fmt: skip
        assert code == 0, err
        scores.append(epochs(out)[-1]["val_accuracy"])
    assert sum(scores) / len(scores) >= 0.95, scores


def _table(path: Path, rows: list[tuple[float, float, str, str]]) -> Path:
    lines = ["width,height,colour,kind"] + [f"{w:.3f},{h:.3f},{c},{k}" for w, h, c, k in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_csv_model_keeps_its_column_handling_for_new_files(cli, tmp_path) -> None:
    """The standardisation and categories learnt from the training CSV are saved in the
    model file and used for a test CSV whose numbers have another mean (only one class):
    learnt afresh from that file, they would centre its rows on the other class's side."""
    rng = np.random.default_rng(0)

    def rows(kind: str, n: int) -> list[tuple[float, float, str, str]]:
        shift = 0.0 if kind == "small" else 6.0
        return [
            (
                100 + shift + rng.normal(),
                50 + shift + rng.normal(),
                rng.choice(["red", "blue"]),
                kind,
            )
            for _ in range(n)
        ]

    train = _table(tmp_path / "train.csv", rows("small", 150) + rows("large", 150))
    test = _table(tmp_path / "test.csv", rows("large", 60))
    model = new(cli, tmp_path, "mlp")
    code, _, err = cli(
        "train", model, "--data", f"{train}:target=kind", "--adapt", "--epochs", 15,
        "--mixed-precision",
    )  # fmt: skip
    assert code == 0, err
    assert "Mixed precision needs a CUDA GPU; training in full precision." in err
    saved = load_model(model).data
    assert saved["spec"] == f"{train}:target=kind" and saved["task"] == "classification"
    assert saved["class_names"] == ["large", "small"]
    assert saved["pipeline"]["target"] == "kind"
    code, out, err = cli("evaluate", model, "--data", test, "--json")
    assert code == 0, err
    assert json.loads(out)["accuracy"] >= 0.95
    # the test file names the columns the model was trained on, or says which is missing
    (tmp_path / "other.csv").write_text("width,kind\n1,small\n", encoding="utf-8")
    assert_one_line_error(cli("evaluate", model, "--data", tmp_path / "other.csv"), "height")
