"""Embedding, SimpleRNN, LSTM, GRU and Bidirectional: what the generic layer tests cannot see.

Misuse diagnostics, Keras behaviours that random draws may miss (go_backwards, every merge
mode, return_state, dropout masks while training), initial weights, and the Keras settings
that are refused on import.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from core.graph import Graph
from core.layers import KerasContext, get_spec
from core.layers._rnn import Recurrent
from core.shapes import Diagnostic, infer_shapes

os.environ["KERAS_BACKEND"] = "torch"  # before any test imports keras

pytestmark = [
    pytest.mark.filterwarnings(f"ignore:{text}")
    for text in ("__array__ implementation", "TF32 acceleration")
]

RECURRENT = ("SimpleRNN", "LSTM", "GRU")


def keras_module() -> Any:
    import keras  # type: ignore[import-untyped]

    assert keras.backend.backend() == "torch"
    return keras


def chain(
    shape: tuple[int, ...], *layers: tuple[str, dict[str, Any]], dtype: str = "float32"
) -> tuple[Graph, list[str]]:
    """Input(shape) -> layers... -> Output; the graph and the ids in that order."""
    g = Graph()
    ids = [g.add_node("Input", {"shape": shape, "dtype": dtype}).id]
    for kind, params in [*layers, ("Output", {})]:
        ids.append(g.add_node(kind, params).id)
        g.connect(ids[-2], ids[-1])
    return g, ids


def plain(d: Diagnostic, severity: str, message: Sequence[str], hint: Sequence[str]) -> None:
    """A diagnostic of this severity whose message and hint are sentences with these words."""
    assert d.severity == severity, d
    for text, words in [(d.message, message), (d.hint, hint)]:
        assert len(text) > 15 and text.endswith(".") and text[0].isupper(), text
        for bad in ["Traceback", "Error", "None", "tuple", "{", "[", "__"]:
            assert bad not in text, text
        for word in words:
            assert word in text, f"{word!r} not in {text!r}"


# -- misuse diagnostics ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", [*RECURRENT, "Bidirectional"])
@pytest.mark.parametrize(
    ("shape", "message", "hint"),
    [
        ((10,), ["sequence", "steps×features", "10 values"], ["Reshape", "(10, 1)", "Embedding"]),
        ((3, 28, 32), ["image", "3×28×32"], ["Reshape", "(28, 96)", "row", "Conv2D"]),
        ((2, 3, 4, 5), ["2×3×4×5", "4 axes"], ["Reshape", "two axes"]),
    ],
)
def test_recurrent_layer_on_a_non_sequence(
    kind: str, shape: tuple[int, ...], message: list[str], hint: list[str]
) -> None:
    g, (_, layer, _) = chain(shape, (kind, {}))
    (d,) = infer_shapes(g).for_node(layer)
    plain(d, "error", [kind, *message], hint)


def test_a_single_step_is_only_a_note() -> None:
    g, (_, layer, _) = chain((1, 8), ("GRU", {"units": 4}))
    report = infer_shapes(g)
    (d,) = report.for_node(layer)
    plain(d, "info", ["single step", "1×8", "Dense"], ["time series", "(8, 1)"])
    assert report.ok and report.outputs[layer] == [(4,)]


@pytest.mark.parametrize("shape", [(10, 3), (1, 28, 28)])
def test_embedding_needs_one_id_per_step(shape: tuple[int, ...]) -> None:
    g, (_, emb, _) = chain(shape, ("Embedding", {}), dtype="int32")
    (d,) = infer_shapes(g).for_node(emb)
    plain(d, "error", ["Embedding", "one id per step", "×".join(map(str, shape))], ["int32"])


def test_embedding_reads_ids_straight_from_an_int32_input() -> None:
    g, (_, emb, lstm, _) = chain(
        (20,),
        ("Embedding", {"input_dim": 50, "output_dim": 8}),
        ("LSTM", {"units": 4}),
        dtype="int32",
    )
    report = infer_shapes(g)
    assert report.diagnostics == []
    assert report.outputs[emb] == [(20, 8)] and report.outputs[lstm] == [(4,)]
    g.nodes[g.topological_order()[0]].params["dtype"] = "float32"
    (d,) = infer_shapes(g).for_node(emb)
    plain(d, "warning", ["Embedding", "float32"], ["int32"])
    g, (_, _, emb, _) = chain((20,), ("Dense", {}), ("Embedding", {}))
    (d,) = infer_shapes(g).for_node(emb)
    plain(d, "error", ["whole-number ids", "Dense"], ["Input", "int32"])


# -- shapes and ports ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "params", "outs"),
    [
        ("LSTM", {"units": 3, "return_state": True}, [(3,), (3,), (3,)]),
        ("GRU", {"units": 3, "return_sequences": True, "return_state": True}, [(7, 3), (3,)]),
        ("SimpleRNN", {"units": 3, "return_state": True}, [(3,), (3,)]),
        ("Bidirectional", {"units": 3}, [(6,)]),
        ("Bidirectional", {"units": 3, "merge_mode": "sum", "return_sequences": True}, [(7, 3)]),
        ("Bidirectional", {"layer": "GRU", "units": 3, "return_state": True}, [(6,)] + [(3,)] * 2),
        ("Bidirectional", {"units": 3, "merge_mode": "ave", "return_state": True}, [(3,)] * 5),
    ],
)
def test_output_ports(kind: str, params: dict[str, Any], outs: list[tuple[int, ...]]) -> None:
    spec = get_spec(kind)
    full, problems = spec.validate_params(params)
    assert not problems
    assert spec.num_outputs(full) == len(outs)
    assert spec.output_shapes([(7, 5)], full) == outs


# -- numbers against Keras -------------------------------------------------------------------


def twins(
    kind: str, params: dict[str, Any], shape: tuple[int, int] = (6, 4)
) -> tuple[Any, nn.Module, Any, np.ndarray]:
    """Our module and Keras's layer for ``params``, Keras's holding our weights, and an input."""
    keras = keras_module()
    spec = get_spec(kind)
    full, problems = spec.validate_params(params)
    assert not problems
    ctx = KerasContext(input_shapes=(shape,))
    config = {**spec.keras_config(full, ctx), "name": "t"}
    layer = keras.layers.deserialize(
        {"module": "keras.layers", "class_name": kind, "config": config}
    )
    x = np.random.default_rng(1).uniform(-1, 1, (3, *shape)).astype(np.float32)
    layer(x)
    module = spec.build([shape], full)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.rand(p.shape, generator=torch.Generator().manual_seed(p.numel())) - 0.5)
    layer.set_weights([a for _, a in spec.keras_weights(module, ctx)])
    return keras, module, layer, x


def compare(kind: str, params: dict[str, Any]) -> None:
    """Our module and Keras's layer agree on every output, in inference."""
    keras, module, layer, x = twins(kind, params)
    with torch.no_grad():
        ours = module.eval()(torch.from_numpy(x))
    ours = list(ours) if isinstance(ours, tuple) else [ours]
    theirs = layer(x)
    theirs = list(theirs) if isinstance(theirs, (tuple, list)) else [theirs]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.numpy(), keras.ops.convert_to_numpy(b), atol=1e-5)


@pytest.mark.parametrize("kind", RECURRENT)
@pytest.mark.parametrize(
    "params",
    [
        {"go_backwards": True},
        {"go_backwards": True, "return_sequences": True},
        {"return_state": True, "return_sequences": True},
        {"return_state": True, "go_backwards": True, "use_bias": False},
    ],
)
def test_go_backwards_and_return_state_equal_keras(kind: str, params: dict[str, Any]) -> None:
    compare(kind, {"units": 3, **params})


def test_go_backwards_outputs_come_in_reading_order() -> None:
    """Keras's go_backwards reads from the end and returns its outputs in that order: the first
    output has seen only the last step, and the last output equals the final state."""
    spec = get_spec("LSTM")
    params = spec.validate_params({"units": 3, "return_sequences": True})[0]
    forwards = spec.build([(5, 2)], params)
    backwards = spec.build([(5, 2)], {**params, "go_backwards": True})
    backwards.load_state_dict(forwards.state_dict())
    x = torch.rand(2, 5, 2)
    with torch.no_grad():
        out = backwards(x)
        assert isinstance(out, torch.Tensor)
        torch.testing.assert_close(out[:, 0], forwards(x[:, -1:])[:, 0])  # type: ignore[index]
        torch.testing.assert_close(out, forwards(x.flip(1)))


@pytest.mark.parametrize("layer", RECURRENT)
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul"])
def test_every_merge_mode_equals_keras(layer: str, merge_mode: str) -> None:
    compare("Bidirectional", {"layer": layer, "units": 3, "merge_mode": merge_mode})
    params = {"layer": layer, "units": 2, "merge_mode": merge_mode, "return_sequences": True}
    compare("Bidirectional", {**params, "return_state": merge_mode == "mul"})


@pytest.mark.parametrize("kind", RECURRENT)
def test_step_loop_equals_torch_fused_kernel(kind: str) -> None:
    """The step-by-step path (other activations, recurrent dropout) computes what torch's fused
    kernel does for Keras's default activations."""
    spec = get_spec(kind)
    params = spec.validate_params({"units": 4, "return_sequences": True, "return_state": True})[0]
    module = spec.build([(6, 3)], params)
    assert isinstance(module, Recurrent) and module.fused
    x = torch.rand(2, 6, 3)
    with torch.no_grad():
        fused = module(x)
        module.fused = False
        looped = module(x)
    torch.testing.assert_close(looped, fused)


def fix_masks(module: Recurrent, inputs: list[torch.Tensor], memory: list[torch.Tensor]) -> None:
    """Make ``module`` use these dropout masks (Keras's gate order) instead of random ones."""
    order = [1, 0, 2] if module.cell == "GRU" else list(range(len(inputs)))

    def masks(like: torch.Tensor, rate: float, count: int) -> list[torch.Tensor]:
        chosen = inputs if like.shape[-1] == module.rnn.input_size else memory
        assert count == len(chosen)
        return [chosen[i] for i in order] if count > 1 else chosen

    module.dropout_masks = masks  # type: ignore[method-assign]


@pytest.mark.parametrize("kind", RECURRENT)
@pytest.mark.parametrize("recurrent_dropout", [0.0, 0.4])
def test_dropout_while_training_equals_keras(kind: str, recurrent_dropout: float) -> None:
    """Keras keeps one mask per sequence; with recurrent_dropout, LSTM and GRU take one mask per
    gate. Given the same masks, training-mode numbers equal Keras's."""
    units, batch, features = 5, 3, 4  # features differ from units: see fix_masks
    params = {"units": units, "dropout": 0.3, "recurrent_dropout": recurrent_dropout}
    keras, module, layer, x = twins(kind, {**params, "return_sequences": True})
    assert isinstance(module, Recurrent)
    count = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[kind] if recurrent_dropout else 1
    gen = torch.Generator().manual_seed(4)
    inputs = [(torch.rand(batch, features, generator=gen) > 0.3) / 0.7 for _ in range(count)]
    memory = [(torch.rand(batch, units, generator=gen) > 0.4) / 0.6 for _ in range(count)]
    fix_masks(module, inputs, memory)
    layer.cell.get_dropout_mask = lambda _: inputs[0] if count == 1 else inputs
    if recurrent_dropout:  # Keras's own gives None then, which SimpleRNN's cell checks for
        layer.cell.get_recurrent_dropout_mask = lambda _: memory[0] if count == 1 else memory
    module.train()
    with torch.no_grad():
        ours = module(torch.from_numpy(x))
    theirs = keras.ops.convert_to_numpy(layer(x, training=True))
    assert isinstance(ours, torch.Tensor)
    np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-5)
    module.eval()
    with torch.no_grad():
        plain_out = module(torch.from_numpy(x))
    assert isinstance(plain_out, torch.Tensor)
    assert not torch.allclose(plain_out, ours)  # the masks did something


def test_random_dropout_masks_while_training_only() -> None:
    spec = get_spec("LSTM")
    params = spec.validate_params({"units": 50, "dropout": 0.5, "recurrent_dropout": 0.5})[0]
    module = spec.build([(8, 50)], params)
    assert isinstance(module, Recurrent)
    (mask,) = module.dropout_masks(torch.empty(4, 50), 0.5, 1)
    assert mask.shape == (4, 50) and set(mask.unique().tolist()) == {0.0, 2.0}
    x = torch.rand(4, 8, 50)
    with torch.no_grad():
        assert not torch.equal(module.train()(x), module(x))
        assert torch.equal(module.eval()(x), module(x))


# -- initial weights -------------------------------------------------------------------------


def test_initial_weights_are_keras_style() -> None:
    spec = get_spec("LSTM")
    module = spec.build([(7, 5)], spec.validate_params({"units": 6})[0])
    ctx = KerasContext(input_shapes=((7, 5),))
    kernel, recurrent, bias = (a for _, a in spec.keras_weights(module, ctx))
    assert kernel.shape == (5, 24) and np.abs(kernel).max() <= np.sqrt(6 / (5 + 24)) + 1e-6
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(6), atol=1e-5)  # orthogonal
    np.testing.assert_array_equal(bias, np.r_[np.zeros(6), np.ones(6), np.zeros(12)])
    off = spec.build([(7, 5)], spec.validate_params({"units": 6, "unit_forget_bias": False})[0])
    assert not spec.keras_weights(off, ctx)[2][1].any()
    gru = get_spec("GRU")
    weights = gru.keras_weights(gru.build([(7, 5)], gru.defaults()), ctx)
    assert [(n, a.shape) for n, a in weights][2] == ("bias", (2, 96)) and not weights[2][1].any()
    no_bias = gru.build([(7, 5)], {**gru.defaults(), "use_bias": False})
    assert [n for n, _ in gru.keras_weights(no_bias, ctx)] == ["kernel", "recurrent_kernel"]


def test_embedding_weights_ids_and_names() -> None:
    spec = get_spec("Embedding")
    params = spec.validate_params({"input_dim": 30, "output_dim": 4})[0]
    module = spec.build([(6,)], params)
    ((name, table),) = spec.keras_weights(module, KerasContext(input_shapes=((6,),)))
    assert name == "embeddings" and table.shape == (30, 4) and np.abs(table).max() <= 0.05
    (ids,) = spec.example_inputs([(6,)], params, np.random.default_rng(0))
    assert ids.dtype == np.int32 and ids.min() >= 0 and ids.max() < 30
    out = module(torch.tensor([[2.7, 0.0, 29.0]]))  # float ids are cut to whole numbers
    torch.testing.assert_close(out[0, 0], torch.from_numpy(table[2]))


# -- Keras configs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "config", "words"),
    [
        ("Embedding", {"input_dim": 9, "output_dim": 2, "mask_zero": True}, ["mask_zero", "pad"]),
        ("LSTM", {"units": 2, "stateful": True}, ["stateful", "empty memory"]),
        ("GRU", {"units": 2, "reset_after": False}, ["reset_after=False", "reset_after=True"]),
        ("LSTM", {"units": 2, "activation": "softsign"}, ["activation", "'softsign'", "tanh"]),
        ("GRU", {"units": 2, "recurrent_activation": "relu"}, ["recurrent_activation", "'relu'"]),
        ("SimpleRNN", {"units": 2, "time_major": True}, ["time_major"]),
    ],
)
def test_settings_the_studio_cannot_reproduce_are_refused(
    kind: str, config: dict[str, Any], words: list[str]
) -> None:
    (problem,) = get_spec(kind).keras_problems(config)
    assert problem.endswith(".") and all(w in problem for w in words), problem


def test_a_quantized_embedding_is_refused() -> None:
    keras = keras_module()
    layer = keras.layers.Embedding(5, 3)
    layer.build((None, 4))
    assert get_spec("Embedding").keras_problems(layer.get_config()) == []
    layer.quantize("int8")
    (problem,) = get_spec("Embedding").keras_problems(layer.get_config())
    assert "quantized" in problem


def test_unroll_and_keras_2_keys_are_harmless() -> None:
    spec = get_spec("LSTM")
    config = {"units": 2, "unroll": True, "implementation": 1, "time_major": False}
    assert spec.keras_problems(config) == []
    params = spec.validate_params(spec.params_from_keras(config))
    assert params == ({**spec.defaults(), "units": 2}, [])


LSTM_4 = {"class_name": "LSTM", "config": {"units": 4}}
BACKWARD_LSTM_5 = {"class_name": "LSTM", "config": {"units": 5, "go_backwards": True}}


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"layer": {"class_name": "Conv1D", "config": {}}}, ["Conv1D", "LSTM, GRU, SimpleRNN"]),
        ({"layer": {"class_name": "Dense", "config": {"units": 3}}}, ["a Dense", "only wrap"]),
        ({"layer": None}, ["no layer", "LSTM"]),
        ({"layer": {"class_name": "GRU", "config": {}}, "merge_mode": None}, ["merge_mode"]),
        ({"layer": {"class_name": "LSTM", "config": {"go_backwards": True}}}, ["go_backwards"]),
        ({"layer": {"class_name": "GRU", "config": {"reset_after": False}}}, ["reset_after"]),
        ({"layer": LSTM_4, "backward_layer": BACKWARD_LSTM_5}, ["backward layer", "differs"]),
    ],
)
def test_bidirectional_refusals(config: dict[str, Any], words: list[str]) -> None:
    problems = get_spec("Bidirectional").keras_problems(config)
    assert len(problems) == 1 and all(w in problems[0] for w in words), problems


def test_bidirectional_configs_of_keras_2_and_keras_3_import() -> None:
    keras = keras_module()
    spec = get_spec("Bidirectional")
    made = keras.layers.Bidirectional(keras.layers.GRU(5, return_sequences=True), "ave")
    keras3 = made.get_config()
    assert "backward_layer" in keras3 and spec.keras_problems(keras3) == []
    keras2 = {  # tf.keras's legacy .h5 form: no module keys, no backward_layer
        "name": "bidirectional",
        "layer": {"class_name": "GRU", "config": {"units": 5, "return_sequences": True}},
        "merge_mode": "ave",
    }
    assert spec.keras_problems(keras2) == []
    expected = {"layer": "GRU", "units": 5, "return_sequences": True, "merge_mode": "ave"}
    for config in (keras3, keras2):
        params, problems = spec.validate_params(spec.params_from_keras(config))
        assert not problems and {k: params[k] for k in expected} == expected


def test_bidirectional_config_loads_in_keras_legacy_h5_path() -> None:
    """Our nested config (with "module", which Keras 3 needs even in .h5 files) builds a model
    through the loader that Keras 3 uses for legacy .h5 files."""
    keras_module()
    from keras.src.legacy.saving import saving_utils  # type: ignore[import-untyped]

    spec = get_spec("Bidirectional")
    params = spec.validate_params({"layer": "SimpleRNN", "units": 3, "merge_mode": "sum"})[0]
    layer = {
        "class_name": "Bidirectional",
        "config": {"name": "bi", **spec.keras_config(params, KerasContext(((4, 2),)))},
    }
    inp = {"class_name": "InputLayer", "config": {"name": "x", "batch_input_shape": [None, 4, 2]}}
    model = saving_utils.model_from_config(
        {"class_name": "Sequential", "config": {"name": "m", "layers": [inp, layer]}}
    )
    assert model.output_shape == (None, 3)
    assert type(model.layers[0].forward_layer).__name__ == "SimpleRNN"


def test_a_text_model_compiles_and_runs() -> None:
    """Int32 ids -> Embedding -> Bidirectional LSTM -> GRU with its state on a second Output."""
    from core.compile import compile_graph

    g, node_ids = chain(
        (12,),
        ("Embedding", {"input_dim": 50, "output_dim": 8}),
        ("Bidirectional", {"units": 4, "return_sequences": True}),
        ("GRU", {"units": 3, "return_state": True, "go_backwards": True}),
        dtype="int32",
    )
    g.connect(node_ids[-2], g.add_node("Output").id, 1, 0)
    report = infer_shapes(g)
    assert report.ok and report.outputs[node_ids[2]] == [(12, 8)]
    model = compile_graph(g).eval()
    with torch.no_grad():
        output, state = model(torch.randint(0, 50, (5, 12), dtype=torch.int32))
    assert output.shape == state.shape == (5, 3)
    torch.testing.assert_close(output, state)  # without return_sequences, h is the output


@pytest.mark.parametrize("name", ["k2_rnn", "k3_rnn"])
def test_real_keras_rnn_files_give_keras_predictions(name: str) -> None:
    """Embedding -> LSTM -> GRU -> Dense saved by Keras 2 and Keras 3, rebuilt from each layer's
    config and weights through our specs, predicts what Keras predicted."""
    h5py = pytest.importorskip("h5py")
    folder = "/work/shared/fixtures/keras/"
    if not os.path.exists(folder + name + ".h5"):
        pytest.skip("the Keras fixture files are not here")
    with h5py.File(folder + name + ".h5") as f:
        layers = json.loads(f.attrs["model_config"])["config"]["layers"][1:]
        group = f["model_weights"]
        names = group.attrs["layer_names"]  # model order
        weights = [[group[n][w][()] for w in group[n].attrs["weight_names"]] for n in names]
    x = torch.from_numpy(np.load(folder + name + ".x0.npy"))
    shape: tuple[int, ...] = tuple(x.shape[1:])
    for layer, arrays in zip(layers, weights, strict=True):
        spec = get_spec(layer["class_name"])
        assert spec.keras_problems(layer["config"]) == []
        params, problems = spec.validate_params(spec.params_from_keras(layer["config"]))
        assert not problems
        module = spec.build([shape], params).eval()
        spec.set_keras_weights(module, arrays, KerasContext(input_shapes=(shape,)))
        with torch.no_grad():
            x = module(x)
        shape = tuple(x.shape[1:])
    np.testing.assert_allclose(x.numpy(), np.load(folder + name + ".ref0.npy"), atol=1e-5)
