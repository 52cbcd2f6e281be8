"""Reshaping kinds: Reshape, Permute, RepeatVector (and Flatten's order, which they share).

The generic test (test_layer_specs.py) compares every kind with Keras on random draws; this file
pins what random draws may miss: Keras's element order for images on the way in and out (a
Dense -> Reshape((7, 7, 64)) -> Conv2D stack gives Keras's numbers with plain weights), every
permutation of an image's axes, -1 inference, each misuse diagnostic, and Keras's configs.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from core.layers import Finding, KerasContext, Shape, ShapeError, get_spec
from tests.core.layer_checks import params_of, plain

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation")


def problems_of(kind: str, **given: Any) -> list[str]:
    return get_spec(kind).validate_params(given)[1]


def refused(kind: str, shape: Shape, **given: Any) -> ShapeError:
    with pytest.raises(ShapeError) as info:
        get_spec(kind).output_shape([shape], params_of(kind, **given))
    return info.value


def findings(kind: str, shape: Shape, **given: Any) -> list[Finding]:
    spec, params = get_spec(kind), params_of(kind, **given)
    return spec.check([shape], [spec.output_shape([shape], params)], params)


def keras_module() -> Any:
    import keras  # type: ignore[import-untyped]

    return keras


def keras_layer(kind: str, shape: Shape, **given: Any) -> Any:
    """The Keras layer for our params, as the studio would write it to a file."""
    spec = get_spec(kind)
    config = spec.keras_config(params_of(kind, **given), KerasContext(input_shapes=(shape,)))
    return keras_module().layers.deserialize(
        {"module": "keras.layers", "class_name": spec.keras_class, "config": config}
    )


def to_keras(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, 1, -1) if x.ndim >= 4 else x


def ours_equal_keras(kind: str, shape: Shape, **given: Any) -> None:
    """Our module on (2, *shape) equals the Keras layer on the channels-last batch."""
    spec, params = get_spec(kind), params_of(kind, **given)
    out = spec.output_shape([shape], params)
    x = np.random.default_rng(0).uniform(-1, 1, (2, *shape)).astype(np.float32)
    with torch.no_grad():
        ours = spec.build([shape], params)(torch.from_numpy(x)).numpy()
    assert ours.shape == (2, *out)
    theirs = keras_module().ops.convert_to_numpy(keras_layer(kind, shape, **given)(to_keras(x)))
    np.testing.assert_array_equal(to_keras(ours), theirs)


# -- Reshape ---------------------------------------------------------------------------------


def test_reshape_after_dense_gives_keras_numbers_with_plain_weights() -> None:
    """Keras's Dense(3136) -> Reshape((7, 7, 64)) -> Conv2D, with Keras's weights as they are."""
    keras = keras_module()
    rng = np.random.default_rng(1)
    model = keras.Sequential(
        [
            keras.Input(shape=(10,)),
            keras.layers.Dense(3136),
            keras.layers.Reshape((7, 7, 64)),
            keras.layers.Conv2D(4, 3),
        ]
    )
    model.set_weights([w + rng.uniform(-0.1, 0.1, w.shape) for w in model.get_weights()])
    kinds = [("Dense", {"units": 3136}), ("Reshape", {"target_shape": (7, 7, 64)})]
    kinds.append(("Conv2D", {"filters": 4}))
    shape: Shape = (10,)
    modules: list[nn.Module] = []
    for (kind, given), layer in zip(kinds, model.layers, strict=True):
        spec, params = get_spec(kind), params_of(kind, **given)
        module = spec.build([shape], params)
        spec.set_keras_weights(module, layer.get_weights(), KerasContext(input_shapes=(shape,)))
        modules.append(module)
        shape = spec.output_shape([shape], params)
    assert shape == (4, 5, 5)
    x = rng.uniform(-1, 1, (3, 10)).astype(np.float32)
    with torch.no_grad():
        ours = nn.Sequential(*modules)(torch.from_numpy(x)).numpy()
    theirs = keras.ops.convert_to_numpy(model(x))
    np.testing.assert_allclose(to_keras(ours), theirs, atol=1e-5)
    # and torch's own reshape to (64, 7, 7) would be silently wrong: the test can tell
    naive = nn.Sequential(modules[0], nn.Unflatten(1, (64, 7, 7)), modules[2])
    with torch.no_grad():
        wrong = naive(torch.from_numpy(x)).numpy()
    assert np.abs(to_keras(wrong) - theirs).max() > 1e-2


@pytest.mark.parametrize(
    ("shape", "target", "out"),
    [
        ((3136,), (7, 7, 64), (64, 7, 7)),  # an image target is shown channels first
        ((3, 4, 5), (-1,), (60,)),  # an image is read in Keras's order (as Flatten does)
        ((3, 4, 5), (20, 3), (20, 3)),  # the pixels of an image as a sequence of 20 steps
        ((3, 4, 5), (2, -1, 3), (3, 2, 10)),  # image to image: -1 worked out, channels first
        ((6, 4), (4, -1), (4, 6)),
        ((2, 3, 4, 5), (4, 5, 2, 3), (3, 4, 5, 2)),  # rank 4 in and out
        ((12,), (1, -1), (1, 12)),  # the default: one row of every value
    ],
)
def test_reshape_follows_keras(shape: Shape, target: Shape, out: Shape) -> None:
    params = params_of("Reshape", target_shape=target)
    assert get_spec("Reshape").output_shape([shape], params) == out
    ours_equal_keras("Reshape", shape, target_shape=target)


def test_reshape_whose_sizes_do_not_multiply_out_says_both_sizes_and_what_to_change() -> None:
    err = refused("Reshape", (784,), target_shape=(7, 7, 64))
    plain(err.message, "784", "7, 7, 64", "3136")
    plain(err.hint, "target_shape", "784", "(7, 7, 16)", "-1")
    err = refused("Reshape", (3, 28, 28), target_shape=(28, 28))
    plain(err.message, "2352", "3×28×28", "784")
    plain(err.hint, "2352", "(28, 84)")


def test_reshape_whose_minus_one_cannot_be_worked_out_says_what_to_change() -> None:
    err = refused("Reshape", (10,), target_shape=(3, -1))
    plain(err.message, "10", "(3, -1)", "3", "does not divide")
    plain(err.hint, "target_shape", "10", "(2, -1)")
    err = refused("Reshape", (12,), target_shape=(5, -1, 2))
    plain(err.hint, "(3, -1, 2)")  # one size changed, the -1 kept


@pytest.mark.parametrize(
    ("target", "words"),
    [((7, 0, 1), ["size of 0", "at least 1", "-1"]), ((-1, 4, -1), ["2 sizes of -1", "only one"])],
)
def test_reshape_refuses_targets_that_fit_no_input(target: Shape, words: list[str]) -> None:
    (problem,) = problems_of("Reshape", target_shape=target)
    plain(problem, *words)
    assert problems_of("Reshape", target_shape=(-2, 4))  # below -1 is no size at all
    with pytest.raises(ShapeError, match="size of 0"):  # even if asked without validation
        get_spec("Reshape").output_shape([(7,)], {"target_shape": (7, 0, 1)})


def test_reshape_that_changes_nothing_is_pointed_out() -> None:
    (finding,) = findings("Reshape", (4, 5), target_shape=(4, 5))
    assert finding.severity == "info"
    plain(finding.message, "does nothing", "4×5")
    plain(finding.hint, "delete")
    assert findings("Reshape", (3, 4, 5), target_shape=(4, 5, 3)) != []  # (H, W, C) again
    assert findings("Reshape", (3, 4, 5), target_shape=(5, 4, 3)) == []


def test_reshape_help_documents_the_layout() -> None:
    help_text = get_spec("Reshape").param("target_shape").help
    plain(help_text, "height, width, channels", "(7, 7, 64)", "64×7×7", "-1")


# -- Permute ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dims", list(itertools.permutations((1, 2, 3))))
def test_every_permutation_of_an_image_equals_keras(dims: Sequence[int]) -> None:
    ours_equal_keras("Permute", (2, 3, 4), dims=tuple(dims))


@pytest.mark.parametrize(
    ("shape", "dims", "out"),
    [
        ((5, 7), (2, 1), (7, 5)),  # steps and features swapped, as in Keras
        ((3, 4, 5), (2, 1, 3), (3, 5, 4)),  # Keras's (H, W, C) -> (W, H, C): width, height
        ((3, 4, 5), (3, 1, 2), (5, 3, 4)),  # Keras's (C, H, W), shown with Keras's last first
        ((2, 3, 4, 5), (4, 3, 2, 1), (3, 2, 5, 4)),
        ((2, 3, 4, 5), (1, 3, 2, 4), (2, 3, 5, 4)),
    ],
)
def test_permute_maps_keras_axes_onto_our_layout(shape: Shape, dims: Shape, out: Shape) -> None:
    assert get_spec("Permute").output_shape([shape], params_of("Permute", dims=dims)) == out
    ours_equal_keras("Permute", shape, dims=dims)


@pytest.mark.parametrize(
    ("dims", "words"),
    [
        ((1, 1), ["1 to 2", "(2, 1)", "repeats 1", "leaves out 2"]),
        ((1, 3), ["1 to 2", "names 3", "2 axes", "leaves out 2"]),
        ((2, 3, 2), ["1 to 3", "(2, 1, 3)", "repeats 2", "leaves out 1"]),
        ((4, 1, 2, 4), ["1 to 4", "(2, 1, 3, 4)", "repeats 4", "leaves out 3"]),
    ],
)
def test_permute_refuses_a_wrong_axis_list_and_shows_a_valid_one(
    dims: Shape, words: list[str]
) -> None:
    (problem,) = problems_of("Permute", dims=dims)
    plain(problem, "dims", "exactly once", *words)
    with pytest.raises(ShapeError, match="exactly once"):  # even if asked without validation
        get_spec("Permute").output_shape([(2,) * len(dims)], {"dims": dims})


def test_permute_refuses_axis_zero_and_more_than_four_axes() -> None:
    assert problems_of("Permute", dims=(0, 1))  # Keras counts from 1; 0 is the batch
    assert problems_of("Permute", dims=(2, 1, 3, 4, 5))


def test_permute_with_the_wrong_number_of_axes_says_how_many() -> None:
    err = refused("Permute", (3, 28, 28), dims=(2, 1))
    plain(err.message, "(2, 1)", "2 axes", "3×28×28", "has 3")
    plain(err.hint, "1 to 3", "(2, 1, 3)")
    err = refused("Permute", (8,), dims=(2, 1))
    plain(err.hint, "1 to 1", "(1,)")


def test_permute_that_changes_nothing_is_pointed_out() -> None:
    (finding,) = findings("Permute", (3, 4, 5), dims=(1, 2, 3))
    assert finding.severity == "info"
    plain(finding.message, "does nothing", "(1, 2, 3)")
    plain(finding.hint, "delete", "(2, 1, 3)")
    assert findings("Permute", (3, 4, 5), dims=(2, 1, 3)) == []


# -- RepeatVector ----------------------------------------------------------------------------


def test_repeat_vector_equals_keras() -> None:
    assert get_spec("RepeatVector").output_shape([(6,)], params_of("RepeatVector", n=4)) == (4, 6)
    ours_equal_keras("RepeatVector", (6,), n=4)


@pytest.mark.parametrize("shape", [(5, 6), (3, 8, 8)])
def test_repeat_vector_refuses_what_is_not_flat(shape: Shape) -> None:
    err = refused("RepeatVector", shape)
    plain(err.message, "RepeatVector", "flat", "×".join(map(str, shape)))
    plain(err.hint, "Flatten", "recurrent")


def test_repeat_vector_needs_at_least_one_repeat() -> None:
    assert problems_of("RepeatVector", n=0)


# -- Keras configs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "given", "shape"),
    [
        ("Reshape", {"target_shape": (7, 7, 64)}, (3136,)),
        ("Reshape", {"target_shape": (-1, 3)}, (3, 4, 5)),
        ("Permute", {"dims": (3, 1, 2)}, (3, 4, 5)),
        ("RepeatVector", {"n": 5}, (4,)),
    ],
)
def test_keras_config_round_trip(kind: str, given: dict[str, Any], shape: Shape) -> None:
    """Keras's own config (tuples, extra keys) comes back as our params; nothing is refused."""
    spec = get_spec(kind)
    config = keras_layer(kind, shape, **given).get_config()
    assert spec.keras_problems(config) == []
    assert spec.validate_params(spec.params_from_keras(config)) == (params_of(kind, **given), [])


def test_flatten_and_reshape_agree_on_order() -> None:
    """Reshape((-1,)) is Flatten: both read an image in Keras's height, width, channels order."""
    x = torch.arange(60, dtype=torch.float32).reshape(1, 3, 4, 5)
    flat = get_spec("Flatten").build([(3, 4, 5)], {})(x)
    reshaped = get_spec("Reshape").build([(3, 4, 5)], params_of("Reshape", target_shape=(-1,)))
    assert torch.equal(flat, reshaped(x))
    assert flat[0, :4].tolist() == [0.0, 20.0, 40.0, 1.0]  # channels vary fastest
