"""Pooling and resizing kinds: diagnostics, Keras's exact border rules, and Keras configs.

The generic test (test_layer_specs.py) compares every kind with Keras on random draws; this file
pins what random draws may miss: each misuse diagnostic, average pooling's ``padding='same'``
(padded cells are left out of the average, as in TensorFlow and Keras's JAX and NumPy backends),
the forms Keras accepts for ``padding`` and ``cropping``, and the settings we refuse on import.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch

from core.graph import Graph
from core.layers import Finding, KerasContext, ParamError, Shape, ShapeError, get_spec
from core.shapes import infer_shapes
from tests.core.layer_checks import params_of, plain

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation")

WINDOWED = ["MaxPooling1D", "AveragePooling1D", "MaxPooling2D", "AveragePooling2D"]
GLOBAL = [
    "GlobalAveragePooling1D",
    "GlobalMaxPooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
]
RESIZING = ["UpSampling2D", "ZeroPadding2D", "Cropping2D"]
ALL = WINDOWED + GLOBAL + RESIZING


def refused(kind: str, shape: Shape, **given: Any) -> ShapeError:
    with pytest.raises(ShapeError) as info:
        get_spec(kind).output_shape([shape], params_of(kind, **given))
    return info.value


def findings(kind: str, shape: Shape, **given: Any) -> list[Finding]:
    spec, params = get_spec(kind), params_of(kind, **given)
    return spec.check([shape], [spec.output_shape([shape], params)], params)


def run(kind: str, x: np.ndarray, **given: Any) -> np.ndarray:
    module = get_spec(kind).build([x.shape[1:]], params_of(kind, **given)).eval()
    with torch.no_grad():
        result: np.ndarray = module(torch.from_numpy(x)).numpy()
    return result


def keras_layer(kind: str, shape: Shape, **given: Any) -> Any:
    """The Keras layer for our params, as the studio would write it to a file."""
    import keras  # type: ignore[import-untyped]

    spec = get_spec(kind)
    config = spec.keras_config(params_of(kind, **given), KerasContext(input_shapes=(shape,)))
    return keras.layers.deserialize(
        {
            "module": "keras.layers",
            "class_name": spec.keras_class,
            "config": {**config, "name": "t"},
        }
    )


def channels_last(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, 1, -1) if x.ndim >= 4 else x


# -- misuse diagnostics ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["MaxPooling1D", "AveragePooling1D", *GLOBAL[:2]])
@pytest.mark.parametrize("shape", [(10,), (3, 8, 8)])
def test_sequence_kinds_refuse_other_shapes_and_name_the_image_kind(
    kind: str, shape: Shape
) -> None:
    error = refused(kind, shape)
    plain(error.message, kind, "sequence (steps×channels)", "×".join(map(str, shape)))
    plain(error.hint, "Conv1D", kind.replace("1D", "2D"))


@pytest.mark.parametrize("kind", ["MaxPooling2D", "AveragePooling2D", *GLOBAL[2:], *RESIZING])
@pytest.mark.parametrize("shape", [(10,), (28, 28)])
def test_image_kinds_refuse_other_shapes(kind: str, shape: Shape) -> None:
    error = refused(kind, shape)
    plain(error.message, kind, "image (channels×height×width)", "×".join(map(str, shape)))
    plain(error.hint, "Input of shape (channels, height, width)", "(1, 28, 28)")
    if kind.endswith("Pooling2D"):  # the pooling kinds point to their 1-D twin
        assert kind.replace("2D", "1D") in error.hint


@pytest.mark.parametrize("kind", ["MaxPooling1D", "AveragePooling1D"])
def test_window_longer_than_the_sequence(kind: str) -> None:
    error = refused(kind, (3, 8), pool_size=4)
    plain(error.message, "4 steps", "3 steps", "3×8")
    plain(error.hint, "pool_size", "'same'")
    assert get_spec(kind).output_shape([(3, 8)], params_of(kind, pool_size=4, padding="same")) == (
        1,
        8,
    )


@pytest.mark.parametrize("kind", ["MaxPooling2D", "AveragePooling2D"])
def test_window_larger_than_the_image(kind: str) -> None:
    error = refused(kind, (8, 2, 5), pool_size=3)
    plain(error.message, "3×3 window", "2×5", "8×2×5")
    plain(error.hint, "pool_size", "'same'")


@pytest.mark.parametrize(
    ("kind", "given"),
    [
        ("MaxPooling1D", {"pool_size": 2, "strides": 3}),
        ("AveragePooling1D", {"pool_size": 2, "strides": 3}),
        ("MaxPooling2D", {"pool_size": 2, "strides": (1, 3)}),
        ("AveragePooling2D", {"pool_size": 2, "strides": (3, 3)}),
    ],
)
def test_strides_beyond_the_window_skip_values(kind: str, given: dict[str, Any]) -> None:
    shape = (9, 4) if kind.endswith("1D") else (4, 9, 9)
    (finding,) = findings(kind, shape, **given)
    assert finding.severity == "warning"
    plain(finding.message, "strides", "pool_size", "skipped")
    plain(finding.hint, "strides", "pool_size")
    assert findings(kind, shape) == []  # the default (strides = pool_size) is fine


@pytest.mark.parametrize("kind", WINDOWED)
def test_a_window_of_one_does_nothing(kind: str) -> None:
    shape = (9, 4) if kind.endswith("1D") else (4, 9, 9)
    (finding,) = findings(kind, shape, pool_size=1)
    assert finding.severity == "info"
    plain(finding.message, "does nothing")
    plain(finding.hint, "pool_size")


def test_cropping_everything_is_refused() -> None:
    error = refused("Cropping2D", (3, 5, 9), cropping=(2, 3, 0, 0))
    plain(error.message, "5 rows", "top and bottom", "3×5×9", "only 5")
    plain(error.hint, "top plus bottom", "below 5")
    error = refused("Cropping2D", (3, 5, 9), cropping=(0, 0, 9, 1))
    plain(error.message, "10 columns", "left and right", "only 9")
    assert get_spec("Cropping2D").output_shape(
        [(3, 5, 9)], params_of("Cropping2D", cropping=(2, 2, 4, 4))
    ) == (3, 1, 1)


@pytest.mark.parametrize(
    ("kind", "given", "word"),
    [
        ("UpSampling2D", {"size": 1}, "size"),
        ("ZeroPadding2D", {"padding": 0}, "padding"),
        ("Cropping2D", {}, "cut"),
    ],
)
def test_resizing_by_nothing_is_pointed_out(kind: str, given: dict[str, Any], word: str) -> None:
    (finding,) = findings(kind, (3, 4, 4), **given)
    assert finding.severity == "info"
    plain(finding.message, "does nothing")
    plain(finding.hint, word)


def test_diagnostics_reach_the_graph() -> None:
    g = Graph()
    ids = [g.add_node("Input", {"shape": (3, 8)}).id]
    for kind, params in [("MaxPooling2D", {}), ("Output", {})]:
        ids.append(g.add_node(kind, params).id)
        g.connect(ids[-2], ids[-1])
    report = infer_shapes(g)
    (diagnostic,) = [d for d in report.diagnostics if d.node == ids[1]]
    assert diagnostic.severity == "error" and "MaxPooling1D" in diagnostic.hint


# -- shapes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "shape", "given", "expected"),
    [
        ("MaxPooling1D", (7, 3), {}, (3, 3)),
        ("AveragePooling1D", (7, 3), {"padding": "same"}, (4, 3)),
        ("MaxPooling1D", (7, 3), {"pool_size": 3, "strides": 1}, (5, 3)),
        ("AveragePooling2D", (2, 7, 6), {"pool_size": 3, "strides": 2}, (2, 3, 2)),
        ("GlobalAveragePooling1D", (7, 3), {}, (3,)),
        ("GlobalMaxPooling1D", (7, 3), {"keepdims": True}, (1, 3)),
        ("GlobalAveragePooling2D", (5, 7, 6), {}, (5,)),
        ("GlobalMaxPooling2D", (5, 7, 6), {"keepdims": True}, (5, 1, 1)),  # channels first
        ("UpSampling2D", (2, 3, 4), {"size": (2, 3)}, (2, 6, 12)),
        ("ZeroPadding2D", (2, 3, 4), {"padding": (1, 2, 3, 4)}, (2, 6, 11)),
        ("Cropping2D", (2, 9, 9), {"cropping": (1, 2, 3, 4)}, (2, 6, 2)),
    ],
)
def test_output_shapes(kind: str, shape: Shape, given: dict[str, Any], expected: Shape) -> None:
    assert get_spec(kind).output_shape([shape], params_of(kind, **given)) == expected


# -- Keras's border rules for padding='same' -------------------------------------------------


def tf_same_pads(size: int, window: int, stride: int) -> tuple[int, int]:
    """TensorFlow's ``SAME`` padding, written out independently of the studio's helper."""
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def reference_pool(
    x: np.ndarray, mode: str, windows: Sequence[int], strides: Sequence[int], padding: str
) -> np.ndarray:
    """Pooling of a channels-first batch ``(N, C, *spatial)`` by its definition, with loops.

    Each output cell reduces the input cells its window covers; cells of the padding are not
    input cells, so the max never picks them and the average does not count them.
    """
    spatial = x.shape[2:]
    ranges = []
    for size, k, s in zip(spatial, windows, strides, strict=True):
        before = tf_same_pads(size, k, s)[0] if padding == "same" else 0
        out = -(-size // s) if padding == "same" else (size - k) // s + 1
        ranges.append(
            [range(max(o * s - before, 0), min(o * s - before + k, size)) for o in range(out)]
        )
    result = np.zeros((*x.shape[:2], *[len(r) for r in ranges]), np.float64)
    for index in itertools.product(*[range(len(r)) for r in ranges]):
        cells = np.ix_(*[ranges[a][i] for a, i in enumerate(index)])
        window = x[(slice(None), slice(None), *cells)].reshape(*x.shape[:2], -1)
        result[(slice(None), slice(None), *index)] = (
            window.max(-1) if mode == "max" else window.mean(-1)
        )
    return result


def test_average_same_leaves_padding_out_of_the_average() -> None:
    """keras-team/keras#23233's example: [10, 20], pool 3, strides 2 averages 10 and 20 only."""
    x = np.array([[[10.0], [20.0]]], np.float32)
    out = run("AveragePooling1D", x, pool_size=3, strides=2, padding="same")
    assert out.shape == (1, 1, 1) and out[0, 0, 0] == pytest.approx(15.0)
    x = np.arange(1, 6, dtype=np.float32).reshape(1, 5, 1)  # pads 1 before and 2 after
    out = run("AveragePooling1D", x, pool_size=4, strides=1, padding="same")
    np.testing.assert_allclose(out[0, :, 0], [2.0, 2.5, 3.5, 4.0, 4.5], rtol=1e-6)


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_1d_pooling_follows_the_definition(mode: str, padding: str) -> None:
    kind = "MaxPooling1D" if mode == "max" else "AveragePooling1D"
    rng = np.random.default_rng(1)
    for steps, k, s in itertools.product(range(1, 8), range(1, 5), range(1, 5)):
        if padding == "valid" and k > steps:
            continue
        x = rng.uniform(-1, 1, (2, steps, 3)).astype(np.float32)
        ours = run(kind, x, pool_size=k, strides=s, padding=padding)
        expected = reference_pool(x.transpose(0, 2, 1), mode, [k], [s], padding)
        np.testing.assert_allclose(
            ours, expected.transpose(0, 2, 1), atol=1e-6, err_msg=str((steps, k, s))
        )


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_2d_pooling_follows_the_definition(mode: str, padding: str) -> None:
    kind = "MaxPooling2D" if mode == "max" else "AveragePooling2D"
    rng = np.random.default_rng(2)
    sizes = [(1, 1), (2, 5), (5, 2), (6, 7)]
    for (h, w), kh, kw, sh, sw in itertools.product(sizes, (1, 2, 3), (2, 4), (1, 2), (1, 3)):
        if padding == "valid" and (kh > h or kw > w):
            continue
        x = rng.uniform(-1, 1, (2, 3, h, w)).astype(np.float32)
        ours = run(kind, x, pool_size=(kh, kw), strides=(sh, sw), padding=padding)
        expected = reference_pool(x, mode, [kh, kw], [sh, sw], padding)
        np.testing.assert_allclose(ours, expected, atol=1e-6, err_msg=str((h, w, kh, kw, sh, sw)))


@pytest.mark.parametrize(
    ("kind", "shape", "given"),
    [  # padding='same' that pads evenly, where Keras 3.15's torch backend is exact too
        ("AveragePooling1D", (7, 2), {"pool_size": 3, "strides": 1, "padding": "same"}),
        ("AveragePooling1D", (6, 2), {"pool_size": 3, "strides": 3, "padding": "same"}),
        ("AveragePooling2D", (2, 5, 6), {"pool_size": (3, 1), "strides": 1, "padding": "same"}),
        ("AveragePooling2D", (2, 7, 7), {"pool_size": 3, "strides": 2, "padding": "same"}),
        ("MaxPooling2D", (2, 6, 7), {"pool_size": 3, "strides": 2, "padding": "same"}),
        ("MaxPooling1D", (6, 2), {"pool_size": 4, "strides": 1, "padding": "same"}),
        ("UpSampling2D", (2, 3, 5), {"size": (3, 2), "interpolation": "bilinear"}),
        ("UpSampling2D", (2, 3, 5), {"size": (1, 4), "interpolation": "nearest"}),
        ("GlobalAveragePooling2D", (3, 4, 5), {"keepdims": True}),
        ("GlobalMaxPooling1D", (4, 5), {"keepdims": True}),
        ("ZeroPadding2D", (2, 3, 4), {"padding": (0, 1, 2, 3)}),
        ("Cropping2D", (2, 5, 6), {"cropping": (0, 1, 2, 3)}),
    ],
)
def test_pinned_cases_equal_keras(kind: str, shape: Shape, given: dict[str, Any]) -> None:
    import keras

    x = np.random.default_rng(3).uniform(-1, 1, (2, *shape)).astype(np.float32)
    theirs = keras.ops.convert_to_numpy(keras_layer(kind, shape, **given)(channels_last(x)))
    np.testing.assert_allclose(channels_last(run(kind, x, **given)), theirs, atol=1e-6)


# -- Keras configs ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ZeroPadding2D", "Cropping2D"])
@pytest.mark.parametrize(
    ("keras_value", "ours"),
    [
        (2, (2, 2, 2, 2)),
        ((1, 3), (1, 1, 3, 3)),
        (((1, 2), (3, 4)), (1, 2, 3, 4)),
        (((1, 2), 3), (1, 2, 3, 3)),
        ([[0, 1], [2, 0]], (0, 1, 2, 0)),
    ],
)
def test_sides_take_every_keras_form(kind: str, keras_value: Any, ours: Shape) -> None:
    import keras

    name = "padding" if kind == "ZeroPadding2D" else "cropping"
    config = getattr(keras.layers, kind)(keras_value).get_config()
    spec = get_spec(kind)
    params, problems = spec.validate_params(spec.params_from_keras(config))
    assert problems == [] and params[name] == ours
    assert params_of(kind, **{name: keras_value})[name] == ours
    ctx = KerasContext(input_shapes=((3, 9, 9),))
    back = keras_layer(kind, (3, 9, 9), **{name: ours}).get_config()
    assert back[name] == config[name]  # ((top, bottom), (left, right)), as Keras writes it
    assert spec.keras_config(params, ctx)[name] == [list(pair) for pair in config[name]]


@pytest.mark.parametrize("bad", [(1, 2, 3), ((1, 2, 3), 4), (1, -1), "wide", ((1, 2), (3, "x"))])
def test_sides_refuse_other_forms_in_plain_words(bad: Any) -> None:
    with pytest.raises(ParamError) as info:
        get_spec("ZeroPadding2D").param("padding").validate(bad)
    assert "padding" in str(info.value)


@pytest.mark.parametrize("kind", ["MaxPooling1D", "AveragePooling1D"])
def test_1d_window_sizes_from_keras_are_plain_numbers(kind: str) -> None:
    import keras

    spec = get_spec(kind)
    layer = getattr(keras.layers, kind)(pool_size=3, padding="same")  # strides left empty
    params, problems = spec.validate_params(spec.params_from_keras(layer.get_config()))
    assert problems == [] and (params["pool_size"], params["strides"]) == (3, 3)
    ours = spec.keras_config(params_of(kind, pool_size=3, padding="same"), KerasContext(((6, 2),)))
    assert ours == {
        "pool_size": [3],
        "strides": [3],
        "padding": "same",
        "data_format": "channels_last",
    }


@pytest.mark.parametrize("kind", ALL)
def test_channels_first_keras_layers_are_refused(kind: str) -> None:
    spec = get_spec(kind)
    config = {**spec.keras_config(spec.defaults(), KerasContext(((3, 8, 8),))), "name": "t"}
    assert spec.keras_problems(config) == []
    (problem,) = spec.keras_problems({**config, "data_format": "channels_first"})
    plain(problem, kind, "channels_first", "channels last")


@pytest.mark.parametrize("interpolation", ["bicubic", "lanczos3", "lanczos5"])
def test_upsampling_methods_we_cannot_match_are_refused(interpolation: str) -> None:
    import keras

    spec = get_spec("UpSampling2D")
    config = keras.layers.UpSampling2D(interpolation=interpolation).get_config()
    (problem,) = spec.keras_problems(config)
    plain(problem, "UpSampling2D", repr(interpolation), "nearest and bilinear")


@pytest.mark.parametrize("kind", ALL)
def test_every_kind_and_param_has_plain_help(kind: str) -> None:
    spec = get_spec(kind)
    assert spec.category in ("Pooling", "Reshaping")
    plain(spec.help)
    for p in spec.params:
        plain(p.help)
