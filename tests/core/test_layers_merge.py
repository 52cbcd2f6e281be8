"""Merging kinds: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot.

The generic test (test_layer_specs.py) compares every kind with Keras on random draws of inputs
of one rank; this file pins what random draws may miss: Keras 3's broadcasting (size-1 axes, and
inputs of fewer axes lined up from Keras's last axis, the channels of an image), the order of
Subtract's inputs, Dot on every pair of ranks and on images, Keras's zero-safe normalisation,
each misuse diagnostic, and the forms Keras's configs take.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch

from core.layers import Finding, KerasContext, Shape, ShapeError, get_spec
from tests.core.layer_checks import params_of, plain

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation")

ELEMENTWISE = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]


def refused(kind: str, shapes: Sequence[Shape], **given: Any) -> ShapeError:
    with pytest.raises(ShapeError) as info:
        get_spec(kind).output_shape(shapes, params_of(kind, **given))
    return info.value


def findings(kind: str, shapes: Sequence[Shape], **given: Any) -> list[Finding]:
    spec, params = get_spec(kind), params_of(kind, **given)
    return spec.check(shapes, [spec.output_shape(shapes, params)], params)


def to_keras(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, 1, -1) if x.ndim >= 4 else x


def ours_equal_keras(kind: str, shapes: Sequence[Shape], seed: int = 0, **given: Any) -> Shape:
    """Our module equals the Keras layer (built from our config) on random inputs; the shape."""
    import keras  # type: ignore[import-untyped]

    spec = get_spec(kind)
    params = params_of(kind, **given)
    out = spec.output_shape(shapes, params)
    rng = np.random.default_rng(seed)
    xs = [rng.uniform(-1, 1, (2, *s)).astype(np.float32) for s in shapes]
    with torch.no_grad():
        ours = spec.build(shapes, params)(*map(torch.from_numpy, xs)).numpy()
    assert ours.shape == (2, *out)
    config = spec.keras_config(params, KerasContext(input_shapes=tuple(shapes)))
    layer = keras.layers.deserialize(
        {"module": "keras.layers", "class_name": spec.keras_class, "config": config}
    )
    theirs = keras.ops.convert_to_numpy(layer([to_keras(x) for x in xs]))
    np.testing.assert_allclose(to_keras(ours), theirs, atol=1e-6)
    return out


# -- value-by-value merges: Keras 3's broadcasting -------------------------------------------

BROADCASTS = [
    ([(4,), (4,)], (4,)),
    ([(5, 4), (1, 4)], (5, 4)),  # a size-1 axis is repeated
    ([(3, 4, 5), (3, 1, 1)], (3, 4, 5)),  # one value per channel (squeeze-and-excitation)
    ([(3, 4, 5), (1, 4, 5)], (3, 4, 5)),
    ([(3, 4, 5), (3,)], (3, 4, 5)),  # a flat input meets the channels of an image
    ([(3, 4, 5), (5, 3)], (3, 4, 5)),  # a sequence meets the width and channels
    ([(3,), (3, 4, 5)], (3, 4, 5)),
    ([(5, 4), (4,)], (5, 4)),  # a flat input meets the features of each step
    ([(1,), (2, 3, 4, 5)], (2, 3, 4, 5)),
    ([(2, 1), (1, 3, 1, 1)], (1, 3, 1, 2)),  # both repeated, into a rank-3 result
]


@pytest.mark.parametrize("kind", ELEMENTWISE)
@pytest.mark.parametrize(("shapes", "out"), BROADCASTS)
def test_merges_broadcast_as_keras_3_does(kind: str, shapes: list[Shape], out: Shape) -> None:
    assert ours_equal_keras(kind, shapes) == out


@pytest.mark.parametrize("kind", ["Add", "Multiply", "Average", "Maximum", "Minimum"])
def test_merges_of_three_mixed_inputs_equal_keras(kind: str) -> None:
    shapes = [(3, 4, 5), (3,), (1, 4, 1)]
    assert ours_equal_keras(kind, shapes, num_inputs=3) == (3, 4, 5)


def test_subtract_takes_the_second_input_from_the_first() -> None:
    spec = get_spec("Subtract")
    assert spec.num_inputs(spec.defaults()) == 2 and spec.params == ()
    a, b = torch.tensor([[5.0, 1.0]]), torch.tensor([[2.0, 3.0]])
    assert spec.build([(2,), (2,)], {})(a, b).tolist() == [[3.0, -2.0]]


@pytest.mark.parametrize("kind", ELEMENTWISE)
@pytest.mark.parametrize(
    ("shapes", "listed"),
    [
        ([(8,), (4,)], "8 and 4"),
        ([(3, 4, 5), (4, 4, 5)], "3×4×5 and 4×4×5"),
        ([(3, 4, 5), (5,)], "3×4×5 and 5"),  # a flat input meets the channels, not the width
        ([(5, 4), (5,)], "5×4 and 5"),  # ... and the features of a sequence, not its steps
    ],
)
def test_merges_refuse_shapes_keras_cannot_line_up(
    kind: str, shapes: list[Shape], listed: str
) -> None:
    err = refused(kind, shapes)
    plain(err.message, kind, "same shape", listed)
    plain(err.hint, "same shape", "same number")
    plain(err.hint, "Concatenate" if kind == "Add" else "size 1")


@pytest.mark.parametrize("kind", ELEMENTWISE)
def test_repeated_values_are_pointed_out(kind: str) -> None:
    (finding,) = findings(kind, [(3, 4, 5), (3, 1, 1)])
    assert finding.severity == "info"
    plain(finding.message, kind, "repeats", "input 2", "3×1×1", "3×4×5", "Keras")
    plain(finding.hint, "equal")
    assert findings(kind, [(3, 4, 5), (3, 4, 5)]) == []
    if kind != "Subtract":
        (finding,) = findings(kind, [(1, 4), (5, 4), (4,)], num_inputs=3)
        plain(finding.message, "inputs 1 and 3", "1×4 and 4", "5×4")


# -- Dot -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shapes", "axes", "out"),
    [
        ([(6,), (6,)], -1, (1,)),  # one value per sample, as Keras gives
        ([(6,), (6,)], 1, (1,)),
        ([(5, 6), (7, 6)], -1, (5, 7)),  # every step of one with every step of the other
        ([(5, 6), (5, 7)], 1, (6, 7)),
        ([(5, 6), (6, 7)], (2, 1), (5, 7)),  # a matrix product
        ([(5, 6), (6,)], (2, 1), (5,)),
        ([(6,), (5, 6)], (1, 2), (5,)),
        ([(6,), (6, 5)], (-1, -2), (5,)),
        ([(3, 4, 5), (3,)], (-1, 1), (4, 5)),  # an image with a vector, along its channels
        ([(3, 4, 5), (4,)], (1, 1), (5, 3)),  # ... along its height (Keras's axis 1)
        ([(3, 4, 5), (3, 2, 6)], -1, (6, 4, 5, 2)),  # rank 4 out: Keras's last axis first
    ],
)
@pytest.mark.parametrize("normalize", [False, True])
def test_dot_equals_keras(
    shapes: list[Shape], axes: int | Shape, out: Shape, normalize: bool
) -> None:
    assert ours_equal_keras("Dot", shapes, axes=axes, normalize=normalize) == out


def test_dot_normalize_is_zero_safe_as_in_keras() -> None:
    """Keras scales by min(1/length, 1e7): a zero input gives 0, not NaN."""
    import keras

    module = get_spec("Dot").build([(3,), (3,)], params_of("Dot", normalize=True))
    x = torch.tensor([[0.0, 0.0, 0.0], [3.0, 0.0, 4.0]])
    y = torch.tensor([[1.0, 2.0, 3.0], [3.0, 0.0, 4.0]])
    ours = module(x, y).detach().numpy()
    theirs = keras.layers.Dot(axes=-1, normalize=True)([x.numpy(), y.numpy()])
    np.testing.assert_allclose(ours, keras.ops.convert_to_numpy(theirs), atol=1e-6)
    np.testing.assert_allclose(ours, [[0.0], [1.0]], atol=1e-6)


def test_dot_refuses_axes_of_different_sizes() -> None:
    err = refused("Dot", [(5, 6), (5, 7)], axes=-1)
    plain(err.message, "axis -1", "5×6", "size 6", "5×7", "size 7", "differ")
    plain(err.hint, "same number", "other axes")
    err = refused("Dot", [(3, 4, 5), (4,)], axes=-1)
    plain(err.message, "size 3", "size 4")
    plain(err.hint, "height, width, channels")


def test_dot_refuses_axes_its_inputs_do_not_have() -> None:
    err = refused("Dot", [(6,), (6,)], axes=2)
    plain(err.message, "axis 2", "first input", "6", "1 axis")
    plain(err.hint, "1 to 1", "-1")
    err = refused("Dot", [(6,), (5, 6)], axes=(1, -3))
    plain(err.message, "axis -3", "second input", "5×6", "2 axes")


def test_dot_refuses_the_batch_axis() -> None:
    (problem,) = get_spec("Dot").validate_params({"axes": (0, 1)})[1]
    plain(problem, "0", "batch", "-1")


def test_dot_has_two_inputs() -> None:
    spec = get_spec("Dot")
    assert spec.num_inputs(spec.defaults()) == 2


# -- Keras configs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keras_axes", "ours", "written"),
    [(1, (1, 1), 1), (-1, (-1, -1), -1), ((1, 2), (1, 2), [1, 2]), ([2, 2], (2, 2), 2)],
)
def test_dot_axes_in_keras_configs(keras_axes: Any, ours: Shape, written: Any) -> None:
    """Keras writes one number or a pair; we read both and write one number when they agree."""
    import keras

    spec = get_spec("Dot")
    config = keras.layers.Dot(axes=keras_axes, normalize=True).get_config()
    assert spec.keras_problems(config) == []
    params, problems = spec.validate_params(spec.params_from_keras(config))
    assert (params, problems) == ({"axes": ours, "normalize": True}, [])
    ctx = KerasContext(input_shapes=((4, 4), (4, 4)))
    assert spec.keras_config(params, ctx) == {"axes": written, "normalize": True}


@pytest.mark.parametrize("kind", ELEMENTWISE)
def test_merge_configs_have_nothing_of_ours(kind: str) -> None:
    """num_inputs is the editor's: Keras counts the wires and its config has no such key."""
    import keras

    spec = get_spec(kind)
    params = spec.defaults()
    ctx = KerasContext(input_shapes=((4,), (4,)))
    assert spec.keras_config(params, ctx) == {}
    config = getattr(keras.layers, kind)().get_config()
    assert spec.keras_problems(config) == []
    assert spec.validate_params(spec.params_from_keras(config)) == (params, [])
