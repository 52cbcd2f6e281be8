"""BatchNormalization, LayerNormalization, GaussianNoise and SpatialDropout2D beyond the generic
test: Keras's running-statistics update, the randomness of the noise layers while training, the
beginner diagnostics, and the Keras settings the studio refuses.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from core.graph import Graph
from core.layers import KerasContext, ShapeError, get_spec
from core.shapes import Diagnostic, infer_shapes

os.environ.setdefault("KERAS_BACKEND", "torch")
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation")

RNG = np.random.default_rng(7)


def keras() -> Any:
    import keras as k  # type: ignore[import-untyped]

    assert k.backend.backend() == "torch"
    return k


def params(kind: str, **given: Any) -> dict[str, Any]:
    result, problems = get_spec(kind).validate_params(given)
    assert not problems, problems
    return result


def to_keras(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(x, 1, -1)) if x.ndim >= 4 else x


def from_keras(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(x, -1, 1)) if x.ndim >= 4 else x


def keras_layer(kind: str, p: dict[str, Any], shape: tuple[int, ...]) -> Any:
    spec = get_spec(kind)
    config = {**spec.keras_config(p, KerasContext((shape,))), "name": "t"}
    return keras().layers.deserialize(
        {"module": "keras.layers", "class_name": spec.keras_class, "config": config}
    )


def run(module: nn.Module, x: np.ndarray, training: bool) -> np.ndarray:
    module.train(training)
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


def chain_report(shape: tuple[int, ...], kind: str, **given: Any) -> list[Diagnostic]:
    g = Graph()
    source = g.add_node("Input", {"shape": shape})
    node = g.add_node(kind, given)
    g.connect(source.id, node.id)
    g.connect(node.id, g.add_node("Output").id)
    return [d for d in infer_shapes(g).diagnostics if d.node == node.id]


def assert_plain(d: Diagnostic | ShapeError, *words: str) -> None:
    for text in (d.message, d.hint):
        assert len(text) > 15 and text.endswith(".") and text[0].isalpha(), text
        for bad in ("Traceback", "Error", "None", "tuple", "{", "[", "__"):
            assert bad not in text, text
    for word in words:
        assert word in d.message + " " + d.hint, (word, d.message, d.hint)


# -- BatchNormalization: Keras's training step ---------------------------------------------


@pytest.mark.parametrize(
    ("shape", "axis", "momentum"),
    [((3, 5, 4), -1, 0.99), ((6,), -1, 0.9), ((5, 4), -1, 0.5), ((3, 5, 4), 2, 0.8)],
)
def test_running_statistics_after_a_training_step_equal_keras(
    shape: tuple[int, ...], axis: int, momentum: float
) -> None:
    """After one training batch our running_mean/var equal Keras's moving_mean/variance."""
    spec = get_spec("BatchNormalization")
    p = params("BatchNormalization", axis=axis, momentum=momentum)
    layer = keras_layer("BatchNormalization", p, shape)
    x = RNG.normal(0.3, 2.0, (8, *shape)).astype(np.float32)
    layer(to_keras(x[:2]))  # build
    start = [w + RNG.uniform(0.1, 0.5, w.shape).astype(np.float32) for w in layer.get_weights()]
    layer.set_weights(start)
    module = spec.build([shape], p)
    ctx = KerasContext((shape,))
    spec.set_keras_weights(module, start, ctx)

    ours = run(module, x, training=True)
    theirs = keras().ops.convert_to_numpy(layer(to_keras(x), training=True))
    np.testing.assert_allclose(ours, from_keras(theirs), atol=1e-5)
    after = dict(spec.keras_weights(module, ctx))
    for w in layer.weights:
        np.testing.assert_allclose(after[w.name], keras().ops.convert_to_numpy(w), atol=1e-6)
    assert not np.allclose(after["moving_mean"], start[2])  # it did move


def test_running_variance_is_the_biased_one_unlike_torch_batchnorm() -> None:
    """Keras moves moving_variance towards the biased batch variance; torch's BatchNorm2d
    towards the unbiased one (n/(n-1) times larger). We do as Keras does."""
    x = torch.from_numpy(RNG.normal(0, 1, (2, 3, 2, 2)).astype(np.float32))  # n = 8 per channel
    ours = get_spec("BatchNormalization").build([(3, 2, 2)], params("BatchNormalization"))
    torch_bn = nn.BatchNorm2d(3, eps=1e-3, momentum=0.01)
    for m in (ours, torch_bn):
        m.train()
        m(x)
    biased = x.var(dim=(0, 2, 3), unbiased=False)
    assert torch.allclose(ours.running_var, 0.99 + 0.01 * biased)
    assert torch.allclose(torch_bn.running_var, 0.99 + 0.01 * biased * 8 / 7)


@pytest.mark.parametrize("momentum", [0.0, 1.0])
def test_momentum_extremes(momentum: float) -> None:
    """momentum 1 freezes the running statistics; 0 replaces them by the last batch's."""
    bn = get_spec("BatchNormalization").build(
        [(4,)], params("BatchNormalization", momentum=momentum)
    )
    x = torch.from_numpy(RNG.normal(2, 3, (16, 4)).astype(np.float32))
    bn.train()
    bn(x)
    var, mean = torch.var_mean(x, dim=0, correction=0)
    expected = (torch.zeros(4), torch.ones(4)) if momentum == 1.0 else (mean, var)
    assert torch.allclose(bn.running_mean, expected[0], atol=1e-6)
    assert torch.allclose(bn.running_var, expected[1], atol=1e-5)


def test_a_batch_of_one_sample_trains_like_keras() -> None:
    """A single value per feature has variance 0: Keras outputs beta, and so do we (no crash)."""
    p = params("BatchNormalization")
    layer = keras_layer("BatchNormalization", p, (5,))
    x = RNG.normal(0, 1, (1, 5)).astype(np.float32)
    layer(x)
    weights = [w + RNG.uniform(-0.5, 0.5, w.shape).astype(np.float32) for w in layer.get_weights()]
    layer.set_weights(weights)
    module = get_spec("BatchNormalization").build([(5,)], p)
    get_spec("BatchNormalization").set_keras_weights(module, weights, KerasContext(((5,),)))
    ours = run(module, x, training=True)
    np.testing.assert_allclose(ours[0], weights[1], atol=1e-6)
    theirs = keras().ops.convert_to_numpy(layer(x, training=True))
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


@pytest.mark.parametrize("kind", ["BatchNormalization", "LayerNormalization"])
@pytest.mark.parametrize(
    ("center", "scale"), [(True, True), (True, False), (False, True), (False, False)]
)
def test_center_and_scale_give_keras_weight_lists(kind: str, center: bool, scale: bool) -> None:
    """Without beta or gamma the weight list is Keras's, and it loads back."""
    shape = (4, 3, 3)
    p = params(kind, center=center, scale=scale)
    layer = keras_layer(kind, p, shape)
    layer(to_keras(np.zeros((1, *shape), np.float32)))
    spec = get_spec(kind)
    module = spec.build([shape], p)
    named = spec.keras_weights(module, KerasContext((shape,)))
    assert [n for n, _ in named] == [w.name for w in layer.weights]
    assert [a.shape for _, a in named] == [(4,)] * len(named)
    expected_params = int(center) + int(scale)
    assert len(list(module.parameters())) == expected_params
    spec.set_keras_weights(module, [a + 1 for _, a in named], KerasContext((shape,)))
    with pytest.raises(ValueError, match="weight arrays"):
        spec.set_keras_weights(module, [a for _, a in named] + [np.ones(4)], KerasContext((shape,)))


def test_initial_weights_are_keras_ones_and_zeros() -> None:
    bn = get_spec("BatchNormalization").build([(3, 4, 4)], params("BatchNormalization"))
    names = dict(get_spec("BatchNormalization").keras_weights(bn, KerasContext(((3, 4, 4),))))
    assert names["gamma"].tolist() == [1, 1, 1] and names["beta"].tolist() == [0, 0, 0]
    assert names["moving_mean"].tolist() == [0, 0, 0]
    assert names["moving_variance"].tolist() == [1, 1, 1]
    assert set(bn.state_dict()) == {"weight", "bias", "running_mean", "running_var"}
    assert copy.deepcopy(bn).dim == 1  # channels of an image: torch dim 1


def test_keras_2_file_config_with_a_list_axis_loads() -> None:
    """Keras 2 saves axis=-1 as a list of the positive axis ([1] for flat data)."""
    config = {
        "name": "bn", "trainable": True, "dtype": "float32", "axis": [1], "momentum": 0.99,
        "epsilon": 0.001, "center": True, "scale": True, "beta_regularizer": None,
        "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None,
    }  # fmt: skip
    spec = get_spec("BatchNormalization")
    assert spec.keras_problems(config) == []
    p, problems = spec.validate_params(spec.params_from_keras(config))
    assert not problems and p["axis"] == 1
    assert spec.output_shape([(16,)], p) == (16,)
    assert spec.build([(16,)], p).dim == 1
    ln = get_spec("LayerNormalization")
    p, problems = ln.validate_params(ln.params_from_keras({"axis": [3], "epsilon": 1e-6}))
    assert not problems and ln.output_shape([(8, 5, 5)], p) == (8, 5, 5)  # channels of an image


# -- LayerNormalization ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "axis"), [((6, 4, 5), -1), ((6, 4, 5), 3), ((7, 9), 2), ((9,), 1)]
)
def test_layer_normalization_normalises_features_or_channels_like_keras(
    shape: tuple[int, ...], axis: int
) -> None:
    p = params("LayerNormalization", axis=axis, epsilon=1e-5)
    module = get_spec("LayerNormalization").build([shape], p)
    x = RNG.normal(1, 2, (3, *shape)).astype(np.float32)
    ours = run(module, x, training=False)
    dim = 1 if len(shape) >= 3 else -1
    expected = (x - x.mean(dim, keepdims=True)) / np.sqrt(x.var(dim, keepdims=True) + 1e-5)
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    layer = keras_layer("LayerNormalization", p, shape)
    theirs = keras().ops.convert_to_numpy(layer(to_keras(x)))
    np.testing.assert_allclose(ours, from_keras(theirs), atol=1e-5)


def test_keras_torch_layer_normalization_ignores_a_non_last_axis() -> None:
    """Why the studio offers only the last axis: Keras 3 on torch normalises the last axis even
    when told axis=1 (its F.layer_norm shortcut), so no other axis could match Keras."""
    x = RNG.normal(0, 1, (2, 4, 4)).astype(np.float32)
    out = keras().ops.convert_to_numpy(keras().layers.LayerNormalization(axis=1)(x))
    last = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(out, last, atol=1e-5)


# -- diagnostics -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["BatchNormalization", "LayerNormalization"])
@pytest.mark.parametrize(("shape", "axis"), [((10,), 2), ((10,), -2), ((5, 4), 3), ((3, 8, 8), -4)])
def test_an_axis_that_does_not_exist_is_an_error(
    kind: str, shape: tuple[int, ...], axis: int
) -> None:
    (d,) = chain_report(shape, kind, axis=axis)
    assert d.severity == "error"
    assert_plain(d, f"axis {axis}", "does not exist", "×".join(map(str, shape)), "-1")


@pytest.mark.parametrize("kind", ["BatchNormalization", "LayerNormalization"])
def test_axis_zero_is_the_batch(kind: str) -> None:
    _, problems = get_spec(kind).validate_params({"axis": 0})
    assert problems == ["axis 0 is the batch, which cannot be normalised. Use -1 for the features."]


@pytest.mark.parametrize(
    ("shape", "axis", "name"),
    [((3, 8, 8), 1, "height"), ((3, 8, 8), -2, "width"), ((7, 9), 1, "steps")],
)
def test_layer_normalization_refuses_other_axes_than_the_last(
    shape: tuple[int, ...], axis: int, name: str
) -> None:
    (d,) = chain_report(shape, "LayerNormalization", axis=axis)
    assert d.severity == "error"
    assert_plain(d, f"axis {axis}", f"the {name}", "Set axis to -1")


def test_batch_normalization_over_the_height_of_images_is_a_warning() -> None:
    """axis=1 is channels in PyTorch habits, but the height in Keras's channels-last count."""
    (d,) = chain_report((16, 8, 8), "BatchNormalization", axis=1)
    assert d.severity == "warning"
    assert_plain(d, "axis 1", "height", "16×8×8", "Set axis to -1")
    assert chain_report((16, 8, 8), "BatchNormalization", axis=3) == []
    assert chain_report((7, 9), "BatchNormalization", axis=1) == []  # steps: a choice


def test_layer_normalization_of_a_single_channel_is_a_warning() -> None:
    (d,) = chain_report((1, 28, 28), "LayerNormalization")
    assert d.severity == "warning"
    assert_plain(d, "channels", "1×28×28", "always 0")
    assert chain_report((3, 28, 28), "LayerNormalization") == []


@pytest.mark.parametrize("shape", [(10,), (5, 4), (2, 3, 4, 5)])
def test_spatial_dropout_needs_images(shape: tuple[int, ...]) -> None:
    (d,) = chain_report(shape, "SpatialDropout2D")
    assert d.severity == "error"
    assert_plain(d, "an image", "×".join(map(str, shape)), "Dropout")


def test_spatial_dropout_findings() -> None:
    (d,) = chain_report((1, 28, 28), "SpatialDropout2D")
    assert d.severity == "warning"
    assert_plain(d, "single channel", "blanks the whole image", "Dropout")
    (d,) = chain_report((8, 28, 28), "SpatialDropout2D", rate=0.0)
    assert d.severity == "info"
    assert_plain(d, "rate 0", "delete")
    assert chain_report((8, 28, 28), "SpatialDropout2D") == []


def test_gaussian_noise_of_zero_does_nothing_info() -> None:
    (d,) = chain_report((10,), "GaussianNoise", stddev=0.0)
    assert d.severity == "info"
    assert_plain(d, "stddev 0")
    assert chain_report((3, 8, 8), "GaussianNoise") == []
    assert not get_spec("GaussianNoise").validate_params({"stddev": 0.5})[1]
    assert get_spec("GaussianNoise").validate_params({"stddev": 1.5})[1]  # Keras refuses > 1


# -- Keras settings the studio refuses ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "config", "words"),
    [
        ("BatchNormalization", {"renorm": True}, "batch renormalisation (renorm)"),
        ("BatchNormalization", {"axis": [1, 2]}, "several axes"),
        ("LayerNormalization", {"axis": [1, 2, 3]}, "several axes"),
        ("LayerNormalization", {"rms_scaling": True}, "RMS scaling (rms_scaling)"),
        ("SpatialDropout2D", {"data_format": "channels_first"}, "channels_first"),
    ],
)
def test_keras_settings_we_cannot_reproduce_are_named(
    kind: str, config: dict[str, Any], words: str
) -> None:
    (problem,) = get_spec(kind).keras_problems(config)
    assert words in problem and problem.endswith(".")


@pytest.mark.parametrize(
    ("kind", "config", "words"),
    [
        ("BatchNormalization", {"gamma_regularizer": {"class_name": "L2"}}, "gamma_regularizer"),
        ("LayerNormalization", {"beta_constraint": {"class_name": "NonNeg"}}, "beta_constraint"),
        ("BatchNormalization", {"trainable": False}, "frozen"),
    ],
)
def test_keras_settings_that_only_change_training_are_opened_with_a_note(
    kind: str, config: dict[str, Any], words: str
) -> None:
    assert get_spec(kind).keras_problems(config) == []
    (note,) = get_spec(kind).keras_notes(config)
    assert words in note and note.endswith(".")


@pytest.mark.parametrize(
    "kind", ["BatchNormalization", "LayerNormalization", "GaussianNoise", "SpatialDropout2D"]
)
def test_keras_defaults_have_no_problems(kind: str) -> None:
    args = {"GaussianNoise": (0.1,), "SpatialDropout2D": (0.5,)}.get(kind, ())
    layer = getattr(keras().layers, kind)(*args)
    assert get_spec(kind).keras_problems(layer.get_config()) == []


# -- the random layers -------------------------------------------------------------------------


def test_gaussian_noise_adds_noise_only_while_training() -> None:
    module = get_spec("GaussianNoise").build([(50, 40)], params("GaussianNoise", stddev=0.3))
    x = RNG.uniform(-1, 1, (8, 50, 40)).astype(np.float32)
    assert np.array_equal(run(module, x, training=False), x)
    noise = run(module, x, training=True) - x
    assert abs(noise.std() - 0.3) < 0.01 and abs(noise.mean()) < 0.01
    assert not np.array_equal(noise, run(module, x, training=True) - x)  # fresh each call
    keras_noise = keras().ops.convert_to_numpy(keras().layers.GaussianNoise(0.3)(x, training=True))
    assert abs((keras_noise - x).std() - 0.3) < 0.01  # the same distribution as Keras's


def test_a_seed_makes_the_noise_repeat_from_run_to_run() -> None:
    x = np.zeros((4, 3, 6, 6), np.float32)
    for kind, p in [("GaussianNoise", {"stddev": 0.2}), ("SpatialDropout2D", {"rate": 0.5})]:
        spec = get_spec(kind)
        first, second = (spec.build([(3, 6, 6)], params(kind, seed=42, **p)) for _ in range(2))
        x = x + 1
        a, b = run(first, x, True), run(second, x, True)
        assert np.array_equal(a, b)
        assert not np.array_equal(a, run(first, x, True))  # but not the same on each call
        unseeded = spec.build([(3, 6, 6)], params(kind, **p))
        assert not np.array_equal(run(unseeded, x, True), run(unseeded, x, True))


def test_spatial_dropout_drops_whole_channels_only_while_training() -> None:
    rate = 0.4
    module = get_spec("SpatialDropout2D").build([(64, 5, 7)], params("SpatialDropout2D", rate=rate))
    x = RNG.uniform(0.5, 1.5, (32, 64, 5, 7)).astype(np.float32)  # no zeros of its own
    assert np.array_equal(run(module, x, training=False), x)
    y = run(module, x, training=True)
    dropped = (y == 0).all(axis=(2, 3))
    kept = np.isclose(y, x / (1 - rate)).all(axis=(2, 3))
    assert (dropped | kept).all()  # every channel map is either gone or scaled up as a whole
    assert abs(dropped.mean() - rate) < 0.05
    theirs = keras().ops.convert_to_numpy(
        keras().layers.SpatialDropout2D(rate)(to_keras(x), training=True)
    )
    keras_dropped = (theirs == 0).all(axis=(1, 2))  # Keras drops channels-last maps the same way
    assert abs(keras_dropped.mean() - rate) < 0.05


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
@pytest.mark.filterwarnings("ignore:The TorchScript type system")  # from fx's GraphModule
def test_a_compiled_model_with_these_layers_trains_copies_and_exports() -> None:
    """In a compiled graph: gradients flow, and copies, torch.export and TorchScript agree."""
    from core.compile import compile_graph

    g = Graph()
    ids = [g.add_node("Input", {"shape": (3, 8, 8)}).id]
    for kind in ("BatchNormalization", "GaussianNoise", "SpatialDropout2D", "LayerNormalization"):
        ids.append(g.add_node(kind, {"seed": 1} if kind == "GaussianNoise" else {}).id)
        g.connect(ids[-2], ids[-1])
    g.connect(ids[-1], g.add_node("Output").id)
    model = compile_graph(g, seed=0)
    x = torch.from_numpy(RNG.normal(0, 1, (4, 3, 8, 8)).astype(np.float32))
    model.train()
    model(x).square().sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    expected = model(x)
    assert torch.equal(copy.deepcopy(model)(x), expected)
    assert torch.equal(torch.export.export(model, (x,)).module()(x), expected)
    assert torch.equal(torch.jit.script(model)(x), expected)
