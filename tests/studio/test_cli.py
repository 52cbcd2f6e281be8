"""The command line, as a user runs it: in-process through ``main``, and once as a real process."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from core.compile import compile_graph, model_info
from core.graph import Graph
from core.h5io import load_model, save_model
from core.templates import load_template
from core.training_settings import TrainingSettings
from studio.cli import main

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "keras"


def assert_one_line_error(result: tuple[int, str, str], *words: str) -> None:
    code, _, err = result
    assert code == 2, result
    assert err.startswith("layer-studio: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


def forward(module: torch.nn.Module, *arrays: np.ndarray) -> list[np.ndarray]:
    module.eval()
    with torch.no_grad():
        result = module(*(torch.from_numpy(a) for a in arrays))
    return [r.numpy() for r in (result if isinstance(result, tuple) else (result,))]


# -- templates, info, layers -------------------------------------------------------------------


def test_templates_lists_each_with_its_size(cli):
    code, out, err = cli("templates")
    assert code == 0, err
    for name in ("mnist_cnn", "mlp", "residual"):
        assert name in out
    assert "1,199,882 parameters" in out


def test_info_on_a_template_prints_a_keras_style_summary(cli):
    code, out, err = cli("info", "mnist_cnn")
    assert code == 0, err
    assert 'Model: "mnist_cnn"' in out
    assert "dense_1 (Dense)" in out
    assert "Total params: 1,199,882" in out
    assert "No problems found." in out
    assert "Training settings" not in out  # a template is no file


def test_info_on_a_file_lists_its_problems(cli, tmp_path):
    graph = load_template("mlp")
    graph.set_param(
        next(n.id for n in graph.nodes.values() if n.kind == "Input"), "shape", (1, 8, 8)
    )
    path = tmp_path / "model.json"
    path.write_text(graph.to_json(), encoding="utf-8")
    code, out, err = cli("info", path)
    assert code == 0, err
    assert "error: dense (Dense): Dense needs a flat input but gets 1×8×8." in out
    assert "Flatten" in out


def test_bad_files_end_in_one_clear_message(cli, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    bad = tmp_path / "bad.json"
    data = load_template("mlp").to_dict()
    data["nodes"][1]["kind"] = "Dense3D"
    data["nodes"][2]["params"]["units"] = -4
    bad.write_text(json.dumps(data), encoding="utf-8")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    for path, words in [
        (broken, "not valid JSON"),
        (bad, "Dense3D"),
        (binary, "Cannot read"),
        (tmp_path / "missing.json", "No file or template"),
        (tmp_path, "is not a file"),
    ]:
        code, out, err = cli("info", path)
        assert code == 2, (path, out)
        assert words in err
        assert "Traceback" not in err
    assert "units must be at least 1" in cli("info", bad)[2]  # both problems named at once


def test_help_lists_the_commands_and_version_works(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])  # (no command at all opens the window: tests/ui/test_app.py)
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    for command in ("templates", "info", "new", "predict"):
        assert command in out
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith("layer-studio ")


def test_layers_prints_every_kind_with_its_help_and_params(cli):
    from core.catalog import tooltip
    from core.layers import all_specs

    code, out, err = cli("layers")
    assert code == 0, err
    for spec in all_specs():
        assert f"\n{spec.kind}  [{spec.category}]" in out
        for param in spec.params:
            assert f"- {param.name}: " in out
        # the palette's tooltip is made from the same text
        assert spec.help in tooltip(spec.kind).replace("\n", " ")
    assert "== Core ==" in out and "keras.layers.Conv2D" in out


def test_layers_describes_one_kind_and_refuses_unknown_ones(cli):
    code, out, _ = cli("layers", "conv2d")
    assert code == 0
    assert out.startswith("Conv2D  [Convolution]")
    assert "kernel_size" in out and "default [3, 3]" in out
    assert_one_line_error(cli("layers", "Conv3000D"), "no layer kind called 'Conv3000D'")


def test_info_opens_keras_files_and_refuses_broken_ones(cli, tmp_path):
    code, out, err = cli("info", FIXTURES / "k2_cnn.h5")
    assert code == 0, err
    assert "conv2d (Conv2D)" in out and "No problems found." in out
    assert "made by Keras" in out
    assert "adam (learning rate 0.001)" in out and "categorical_crossentropy" in out
    assert "not trained yet" in out
    fake = tmp_path / "fake.h5"
    fake.write_bytes(b"not an HDF5 file at all")
    assert_one_line_error(cli("info", fake), "Cannot read", "not an HDF5")


# -- new, info and predict on a model file -----------------------------------------------------


def test_new_info_and_predict_an_image_model_in_both_layouts(cli, tmp_path):
    path = tmp_path / "mnist.h5"
    code, out, err = cli("new", "mnist_cnn", "-o", path, "--seed", 7)
    assert code == 0, err
    assert str(path) in out and "1,199,882 parameters" in out and "Keras can open it" in out
    assert_one_line_error(cli("new", "mnist_cnn", "-o", path), "--overwrite")
    assert cli("new", "mnist_cnn", "-o", path, "--seed", 7, "--overwrite")[0] == 0

    code, out, err = cli("info", path)
    assert code == 0, err
    assert "Total params: 1,199,882" in out and "a studio model file" in out
    assert "Keras can open it" in out
    assert "adam (learning rate 0.001)" in out and "accuracy" in out
    assert "seed         7" in out and "batch size   32" in out
    assert "History: not trained yet." in out

    x = np.random.default_rng(0).random((5, 1, 28, 28), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "x_last.npy", np.moveaxis(x, 1, -1))
    first, last = tmp_path / "y.npy", tmp_path / "y_last.npy"
    code, out, err = cli("predict", path, "--input", tmp_path / "x.npy", "-o", first)
    assert code == 0, err
    assert "Predicted 5 sample(s)" in out and "(5, 10)" in out
    args = ["-i", tmp_path / "x_last.npy", "-o", last, "--layout", "channels-last"]
    assert cli("predict", path, *args, "--batch-size", 2)[0] == 0
    y, y_last = np.load(first), np.load(last)
    assert y.shape == (5, 10) and y.dtype == np.float32
    np.testing.assert_allclose(y_last, y, rtol=0, atol=1e-6)
    (own,) = forward(load_model(path).module, x)
    np.testing.assert_allclose(y, own, rtol=0, atol=1e-6)
    (fresh,) = forward(compile_graph(load_template("mnist_cnn"), seed=7), x)  # the seed is used
    np.testing.assert_allclose(y, fresh, rtol=0, atol=1e-6)
    # the studio-layout file with the Keras layout, or the other way round, says which to use
    assert_one_line_error(
        cli("predict", path, "-i", tmp_path / "x_last.npy", "-o", first),
        "(N, 1, 28, 28)",
        "(N, 28, 28, 1)",
        "add --layout channels-last",
    )
    assert_one_line_error(
        cli("predict", path, "-i", tmp_path / "x.npy", "-o", first, "--layout", "channels-last"),
        "leave out --layout channels-last",
    )


def two_way_graph() -> Graph:
    """Two inputs (an image and a table row), two outputs (an image and a score)."""
    g = Graph("two_way")
    image = g.add_node("Input", {"shape": (2, 5, 5)}, name="image").id
    row = g.add_node("Input", {"shape": (3,)}, name="row").id
    conv = g.add_node("Conv2D", {"filters": 4, "kernel_size": (3, 3), "padding": "same"}).id
    flat = g.add_node("Flatten").id
    cat = g.add_node("Concatenate").id
    dense = g.add_node("Dense", {"units": 2, "activation": "softmax"}).id
    mask = g.add_node("Output", name="mask").id
    score = g.add_node("Output", name="score").id
    for src, dst, port in [
        (image, conv, 0),
        (conv, flat, 0),
        (flat, cat, 0),
        (row, cat, 1),
        (cat, dense, 0),
        (conv, mask, 0),
        (dense, score, 0),
    ]:
        g.connect(src, dst, dst_port=port)
    return g


def test_two_inputs_and_two_outputs_give_an_npz(cli, tmp_path):
    graph = two_way_graph()
    module = compile_graph(graph, seed=1)
    assert [graph.nodes[i].name for i in model_info(module).inputs] == ["image", "row"]
    path = tmp_path / "two.h5"
    assert save_model(path, graph, module) == []
    code, out, err = cli("info", path)
    assert code == 0, err
    assert "Inputs, in order: image (2, 5, 5), row (3,)" in out
    assert "Outputs, in order: mask, score" in out
    rng = np.random.default_rng(1)
    image = rng.random((3, 2, 5, 5), dtype=np.float32)
    row = rng.random((3, 3), dtype=np.float32)
    np.save(tmp_path / "image.npy", image)
    np.savez(tmp_path / "row.npz", anything=row)  # a .npz of one array works too
    code, out, err = cli(
        "predict", path, "-i", tmp_path / "image.npy", "-i", tmp_path / "row.npz", "-o",
        tmp_path / "y.npy",
    )  # fmt: skip
    assert code == 0, err
    assert "y.npz" in out and not (tmp_path / "y.npy").exists()
    with np.load(tmp_path / "y.npz") as saved:
        assert saved.files == ["mask", "score"]
        mask, score = saved["mask"], saved["score"]
    expected = forward(module, image, row)
    np.testing.assert_allclose(mask, expected[0], rtol=0, atol=1e-6)
    np.testing.assert_allclose(score, expected[1], rtol=0, atol=1e-6)
    # channels-last: the image goes in and comes out in Keras's layout
    np.save(tmp_path / "image_last.npy", np.moveaxis(image, 1, -1))
    code, _, err = cli(
        "predict", path, "-i", tmp_path / "image_last.npy", "-i", tmp_path / "row.npz",
        "-o", tmp_path / "last.npz", "--layout", "channels-last",
    )  # fmt: skip
    assert code == 0, err
    with np.load(tmp_path / "last.npz") as saved:
        np.testing.assert_allclose(saved["mask"], np.moveaxis(mask, 1, -1), rtol=0, atol=1e-6)
        np.testing.assert_allclose(saved["score"], score, rtol=0, atol=1e-6)
    # the wrong number of inputs, and inputs of different lengths
    assert_one_line_error(
        cli("predict", path, "-i", tmp_path / "image.npy", "-o", tmp_path / "z.npz"),
        "takes 2 input(s) (image, row)",
        "got 1",
    )
    np.save(tmp_path / "row4.npy", rng.random((4, 3), dtype=np.float32))
    assert_one_line_error(
        cli("predict", path, "-i", tmp_path / "image.npy", "-i", tmp_path / "row4.npy",
            "-o", tmp_path / "z.npz"),
        "different numbers of samples",
    )  # fmt: skip


def test_info_shows_the_history_and_the_settings_of_a_file(cli, tmp_path):
    graph = load_template("mlp")
    path = tmp_path / "trained.h5"
    settings = TrainingSettings(
        optimizer="sgd", learning_rate=0.05, epochs=7, batch_size=64, metrics=["accuracy"]
    )
    history = {
        "loss": [2.0 - 0.25 * i for i in range(7)],
        "accuracy": [0.1 * i for i in range(7)],
        "val_loss": [None, None, 2.5, 2.25, 2.0, 1.75, 1.5],
    }
    save_model(path, graph, compile_graph(graph, seed=0), training=settings, history=history)
    code, out, err = cli("info", path)
    assert code == 0, err
    assert "sgd (learning rate 0.05)" in out and "epochs       7" in out
    assert "batch size   64" in out
    lines = out[out.index("History (7 epochs; the last 5):") :].splitlines()
    assert lines[1].split() == ["epoch", "loss", "accuracy", "val_loss"]
    assert [line.split() for line in lines[2:]] == [
        ["3", "1.5000", "0.2000", "2.5000"],
        ["4", "1.2500", "0.3000", "2.2500"],
        ["5", "1.0000", "0.4000", "2.0000"],
        ["6", "0.7500", "0.5000", "1.7500"],
        ["7", "0.5000", "0.6000", "1.5000"],
    ]


def test_info_prints_the_notes_of_an_imported_keras_file(cli, monkeypatch):
    import studio.cli

    def with_a_note(path: Path):
        model = load_model(path)
        model.notes = ["The file's optimizer uses gradient accumulation; the studio leaves it out."]
        return model

    monkeypatch.setattr(studio.cli_common, "load_model", with_a_note)
    code, out, err = cli("info", FIXTURES / "k3_functional.h5")
    assert code == 0, err
    assert "Notes on reading it:\n  - The file's optimizer uses gradient accumulation" in out
    assert "cls_output: categorical_crossentropy; reg_output: mean_squared_error" in out
    assert "Inputs, in order: feat_a (16,), feat_b (8,)" in out


def test_keras_files_predict_keras_numbers(cli, tmp_path):
    out = tmp_path / "y.npy"
    args = ["-i", FIXTURES / "k2_cnn.x0.npy", "-o", out, "--layout", "channels-last"]
    code, _, err = cli("predict", FIXTURES / "k2_cnn.h5", *args)
    assert code == 0, err
    np.testing.assert_allclose(np.load(out), np.load(FIXTURES / "k2_cnn.ref0.npy"), atol=1e-5)
    # whole-number ids for an Embedding, checked against its vocabulary
    code, _, err = cli(
        "predict", FIXTURES / "k2_rnn.h5", "-i", FIXTURES / "k2_rnn.x0.npy", "-o", out
    )
    assert code == 0, err
    np.testing.assert_allclose(np.load(out), np.load(FIXTURES / "k2_rnn.ref0.npy"), atol=1e-5)
    ids = np.load(FIXTURES / "k2_rnn.x0.npy")
    np.save(tmp_path / "far.npy", ids + 40)
    np.save(tmp_path / "half.npy", ids + 0.5)
    model = FIXTURES / "k2_rnn.h5"
    assert_one_line_error(
        cli("predict", model, "-i", tmp_path / "far.npy", "-o", out), "ids from 0 to 49"
    )
    assert_one_line_error(
        cli("predict", model, "-i", tmp_path / "half.npy", "-o", out), "whole-number ids"
    )


@pytest.fixture
def small_model(tmp_path) -> Path:
    g = Graph("small")
    a = g.add_node("Input", {"shape": (4,)}).id
    d = g.add_node("Dense", {"units": 2}).id
    o = g.add_node("Output").id
    g.connect(a, d)
    g.connect(d, o)
    path = tmp_path / "small.h5"
    save_model(path, g, compile_graph(g, seed=0))
    return path


def test_predict_refuses_bad_input_in_one_line(cli, tmp_path, small_model):
    def refuse(x: object, *words: str, model: object = small_model, out: str = "y.npy") -> None:
        result = cli("predict", model, "-i", x, "-o", tmp_path / out)
        assert_one_line_error(result, *words)
        assert not (tmp_path / out).exists()

    good = tmp_path / "good.npy"
    np.save(good, np.ones((3, 4), np.float32))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "two.npz", a=np.ones((3, 4)), b=np.ones((3, 4)))
    (tmp_path / "garbage.npy").write_bytes(b"\x93NUMPY garbage")
    (tmp_path / "x.csv").write_text("1,2,3,4\n")
    np.save(tmp_path / "nan.npy", np.full((3, 4), np.nan, np.float32))
    np.save(tmp_path / "text.npy", np.array([["a", "b", "c", "d"]]))
    np.save(tmp_path / "scalar.npy", np.float32(1))
    np.save(tmp_path / "one.npy", np.ones(4, np.float32))
    np.save(tmp_path / "none.npy", np.ones((0, 4), np.float32))
    np.save(tmp_path / "wide.npy", np.ones((3, 5), np.float32))
    refuse(tmp_path / "missing.npy", "There is no file")
    refuse(tmp_path / "x.csv", "must be a NumPy .npy or .npz file")
    refuse(tmp_path / "objects.npy", "Python objects")
    refuse(tmp_path / "two.npz", "holds 2 arrays (a, b)")
    refuse(tmp_path / "garbage.npy", "Cannot read")
    refuse(tmp_path / "nan.npy", "NaN")
    refuse(tmp_path / "text.npy", "the model needs numbers")
    refuse(tmp_path / "scalar.npy", "has shape ()", "(N, 4)")
    refuse(tmp_path / "one.npy", "without the batch axis")
    refuse(tmp_path / "none.npy", "no samples")
    refuse(tmp_path / "wide.npy", "has shape (3, 5)", "takes arrays of shape (N, 4)")
    refuse(good, "must end in .npy or .npz", out="y.csv")
    refuse(good, "Cannot write", out="no/y.npy")
    refuse(good, "There is no such file", model=tmp_path / "nothing.h5")
    refuse(good, "not an HDF5", model=tmp_path / "x.csv")
    incomplete = Graph("incomplete")
    incomplete.add_node("Output")
    save_model(tmp_path / "incomplete.h5", incomplete)
    refuse(good, "not complete", model=tmp_path / "incomplete.h5")
    code, out, _ = cli("info", tmp_path / "incomplete.h5")
    assert code == 0 and "Keras cannot" in out and "not complete yet" in out
    result = cli("predict", small_model, "-i", good, "-o", tmp_path / "y.npy", "--batch-size", 0)
    assert_one_line_error(result, "--batch-size must be at least 1")


def test_new_refuses_unknown_templates_and_other_files(cli, tmp_path):
    assert_one_line_error(
        cli("new", "mnist", "-o", tmp_path / "m.h5"), "no template called 'mnist'", "mnist_cnn"
    )
    assert_one_line_error(cli("new", "mlp", "-o", tmp_path / "m.json"), "must end in .h5")
    assert_one_line_error(cli("new", "mlp", "-o", tmp_path / "m.h5", "--seed", -1), "seed")
    assert_one_line_error(cli("new", "mlp", "-o", tmp_path / "no" / "m.h5"), "Cannot save")
    assert not list(tmp_path.iterdir())


def test_a_real_process_predicts_a_keras_file(tmp_path):
    out = tmp_path / "y.npy"
    args = ["-i", FIXTURES / "k3_cnn.x0.npy", "-o", out, "--layout", "channels-last"]
    result = subprocess.run(
        [sys.executable, "-m", "studio", "predict", FIXTURES / "k3_cnn.h5", *args],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert f"Predicted 32 sample(s) into {out}" in result.stdout
    np.testing.assert_allclose(np.load(out), np.load(FIXTURES / "k3_cnn.ref0.npy"), atol=1e-5)
