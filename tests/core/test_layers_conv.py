"""The convolution family beyond the generic spec test: diagnostics, Keras's edge cases, layouts.

The generic test (``test_layer_specs.py``) compares random layers with Keras; here are the
misuse messages a beginner sees, the cases random draws rarely hit (Keras's asymmetric 'same'
padding, every Conv2DTranspose size rule, causal padding), the depthwise weight layout, the
Keras-style initialisation, and the Keras settings we refuse.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
import torch

from core.layers import KerasContext, ShapeError, get_spec
from core.layers.conv_transpose import keras_crops, torch_layout, transpose_output_size
from core.layers.modules import Pad
from tests.core.layer_checks import params_of, plain

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported

pytestmark = [
    pytest.mark.filterwarnings(f"ignore:{text}")
    for text in ("__array__ implementation", "TF32 acceleration", "You are using a softmax")
]

CONV_KINDS = ["Conv1D", "Conv2D", "Conv2DTranspose", "SeparableConv2D", "DepthwiseConv2D"]
IMAGE_KINDS = CONV_KINDS[1:]


def keras() -> Any:
    """Keras on the torch backend."""
    import keras as k  # type: ignore[import-untyped]

    assert k.backend.backend() == "torch"
    return k


def refusal(kind: str, shape: tuple[int, ...], **given: Any) -> ShapeError:
    """The ShapeError that ``kind`` raises for an input of ``shape``."""
    with pytest.raises(ShapeError) as info:
        get_spec(kind).output_shape([shape], params_of(kind, **given))
    return info.value


def run(module: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """Our module's output, in Keras's channels-last layout."""
    module.eval()
    with torch.no_grad():
        y = module(torch.from_numpy(x)).numpy()
    return np.moveaxis(y, 1, -1) if y.ndim >= 4 else y


def keras_layout(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A channels-first shape in Keras's channels-last layout."""
    return (*shape[1:], shape[0]) if len(shape) >= 3 else shape


def keras_layer(kind: str, params: Mapping[str, Any], shape: tuple[int, ...]) -> Any:
    """The Keras layer for our params, built on channels-last inputs of ``shape``."""
    spec = get_spec(kind)
    config = {**spec.keras_config(params, KerasContext((shape,))), "name": "t"}
    layer = keras().layers.deserialize(
        {"module": "keras.layers", "class_name": spec.keras_class, "config": config}
    )
    layer.build((2, *keras_layout(shape)))
    return layer


def assert_equals_keras(kind: str, shape: tuple[int, ...], **given: Any) -> np.ndarray:
    """Our layer with random weights computes Keras's numbers; returns our output."""
    spec, params = get_spec(kind), params_of(kind, **given)
    module = spec.build([shape], params)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.rand(p.shape, generator=gen) - 0.5)
    layer = keras_layer(kind, params, shape)
    layer.set_weights([a for _, a in spec.keras_weights(module, KerasContext((shape,)))])
    x = np.random.default_rng(0).uniform(-1, 1, (2, *shape)).astype(np.float32)
    kx = np.ascontiguousarray(np.moveaxis(x, 1, -1)) if x.ndim >= 4 else x
    with torch.backends.mkldnn.flags(enabled=False):
        theirs = keras().ops.convert_to_numpy(layer(kx))
    ours = run(module, x)
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() <= 1e-5
    assert ours.shape[1:] == keras_layout(spec.output_shape([shape], params))
    return ours


# -- misuse: plain messages and hints --------------------------------------------------------


WRONG_RANKS = [  # input shape, words of the message, words of the hint
    ((784,), ["image", "784"], ["Input", "(channels, height, width)", "Dense"]),
    ((28, 28), ["28×28"], ["channel", "(1, 28, 28)", "Conv1D"]),
    ((2, 3, 8, 8), ["2×3×8×8"], ["three axes"]),
]


@pytest.mark.parametrize(
    ("kind", "shape", "message", "hint"),
    [(kind, *case) for kind in IMAGE_KINDS for case in WRONG_RANKS]
    + [
        ("Conv1D", (100,), ["sequence", "100"], ["(100, 1)", "steps"]),
        ("Conv1D", (3, 28, 28), ["3×28×28"], ["Conv2D"]),
    ],
)
def test_an_input_of_the_wrong_rank_gets_a_hint_for_that_rank(
    kind: str, shape: tuple[int, ...], message: list[str], hint: list[str]
) -> None:
    err = refusal(kind, shape)
    plain(err.message, kind, *message)
    plain(err.hint, *hint)


@pytest.mark.parametrize("kind", ["Conv2D", "SeparableConv2D", "DepthwiseConv2D"])
def test_kernel_larger_than_the_image(kind: str) -> None:
    err = refusal(kind, (3, 4, 9), kernel_size=5)
    plain(err.message, kind, "5×5", "larger", "4×9")
    plain(err.hint, "smaller kernel_size", "'same'")
    assert "dilation_rate" not in err.hint
    dilated = refusal(kind, (3, 4, 9), kernel_size=3, dilation_rate=2)
    plain(dilated.message, "5×5", "larger")
    plain(dilated.hint, "dilation_rate")
    assert get_spec(kind).output_shape([(3, 4, 9)], params_of(kind, kernel_size=5, padding="same"))


def test_conv1d_kernel_longer_than_the_sequence() -> None:
    err = refusal("Conv1D", (4, 3), kernel_size=5)
    plain(err.message, "Conv1D", "5 steps", "only 4", "4×3")
    plain(err.hint, "smaller kernel_size", "'same'", "'causal'")
    dilated = refusal("Conv1D", (4, 3), kernel_size=3, dilation_rate=2)
    plain(dilated.message, "5 steps")
    plain(dilated.hint, "dilation_rate")
    for padding in ("same", "causal"):
        assert get_spec("Conv1D").output_shape(
            [(4, 3)], params_of("Conv1D", kernel_size=5, padding=padding)
        ) == (4, 32)


@pytest.mark.parametrize(("kind", "shape"), [("Conv1D", (10, 6)), ("Conv2D", (6, 10, 10))])
def test_groups_must_divide_the_input_channels(kind: str, shape: tuple[int, ...]) -> None:
    err = refusal(kind, shape, filters=8, groups=4)
    plain(err.message, "groups=4", "6 channels")
    plain(err.hint, "divisor")
    assert get_spec(kind).output_shapes([shape], params_of(kind, filters=8, groups=2))


def test_transposed_convolution_that_would_output_nothing() -> None:
    err = refusal("Conv2DTranspose", (3, 1, 5), kernel_size=2, padding="same", output_padding=0)
    plain(err.message, "Conv2DTranspose", "empty", "0×4", "3×1×5")
    plain(err.hint, "output_padding", "odd kernel_size", "'valid'")


# -- params that do not go together, and warnings ---------------------------------------------

BOTH_ABOVE_ONE = "strides and dilation_rate cannot both be above 1 (as in Keras)."
GROUPS = "filters must be a multiple of groups."
OUTPUT_PADDING = "output_padding must be smaller than strides in each direction."


@pytest.mark.parametrize(
    ("kind", "given", "problems"),
    [
        *[(kind, {"strides": 2, "dilation_rate": 2}, [BOTH_ABOVE_ONE]) for kind in CONV_KINDS],
        *[(kind, {"strides": 2}, []) for kind in CONV_KINDS],
        *[(kind, {"dilation_rate": 2}, []) for kind in CONV_KINDS],
        ("Conv1D", {"filters": 6, "groups": 4}, [GROUPS]),
        ("Conv2D", {"filters": 6, "groups": 4}, [GROUPS]),
        ("Conv2DTranspose", {"output_padding": 1}, [OUTPUT_PADDING]),
        ("Conv2DTranspose", {"strides": [2, 3], "output_padding": [1, 3]}, [OUTPUT_PADDING]),
        ("Conv2DTranspose", {"strides": [2, 3], "output_padding": [1, 2]}, []),
        ("Conv2DTranspose", {"output_padding": 0}, []),
    ],
)
def test_params_that_do_not_go_together(
    kind: str, given: dict[str, Any], problems: list[str]
) -> None:
    assert get_spec(kind).validate_params(given)[1] == problems


SAME_EVEN = {"kernel_size": 4, "strides": 2, "padding": "same"}


@pytest.mark.parametrize(
    ("kind", "shape", "warned", "fine", "message", "hint"),
    [
        *[
            (kind, shape, {"activation": "softmax", **one}, {**one}, ["softmax"], ["sigmoid"])
            for kind, shape, one in [
                ("Conv1D", (8, 3), {"filters": 1}),
                ("Conv2D", (3, 8, 8), {"filters": 1}),
                ("Conv2DTranspose", (3, 8, 8), {"filters": 1}),
                ("SeparableConv2D", (3, 8, 8), {"filters": 1}),
                ("DepthwiseConv2D", (1, 8, 8), {}),
            ]
        ],
        (  # strides beyond the kernel leave rows and columns that only the bias reaches
            "Conv2DTranspose",
            (3, 4, 4),
            {"kernel_size": 1, "strides": 2},
            {"kernel_size": 4, "strides": 2},
            ["2×2", "1×1", "bias"],
            ["kernel_size", "strides"],
        ),
        (  # Keras on torch gives (5 - 1) * 2 = 8 here; Keras on TensorFlow refuses the layer
            "Conv2DTranspose",
            (3, 5, 5),
            {**SAME_EVEN, "output_padding": 0},
            {**SAME_EVEN, "output_padding": 1},
            ["32×8×8", "TensorFlow"],
            ["output_padding empty"],
        ),
    ],
)
def test_layers_that_work_but_are_probably_a_mistake_warn(
    kind: str,
    shape: tuple[int, ...],
    warned: dict[str, Any],
    fine: dict[str, Any],
    message: list[str],
    hint: list[str],
) -> None:
    spec = get_spec(kind)
    found = []
    for given in (warned, fine):
        params = params_of(kind, **given)
        found.append(spec.check([shape], spec.output_shapes([shape], params), params))
    (finding,), unwarned = found
    assert finding.severity == "warning" and unwarned == []
    plain(finding.message, kind, *message)
    plain(finding.hint, *hint)


# -- Keras's numbers where random draws rarely look ------------------------------------------


@pytest.mark.parametrize(
    ("kind", "given"),
    [
        ("Conv2D", {"filters": 2}),
        ("SeparableConv2D", {"filters": 2, "depth_multiplier": 2}),
        ("DepthwiseConv2D", {"depth_multiplier": 2}),
    ],
)
@pytest.mark.parametrize("size", [7, 8])
@pytest.mark.parametrize("kernel", [2, 3])
def test_same_padding_with_strides_pads_the_bottom_and_right_as_keras(
    kind: str, given: dict[str, Any], size: int, kernel: int
) -> None:
    """Keras puts the odd padding row and column at the end; torch's padding cannot."""
    shape = (3, size, size + 1)
    given = {**given, "kernel_size": kernel, "strides": 2, "padding": "same"}
    ours = assert_equals_keras(kind, shape, **given)
    assert ours.shape[1:3] == (-(-size // 2), -(-(size + 1) // 2))
    # Keras's total padding (out - 1) * stride + kernel - size; an odd total is asymmetric.
    totals = [max((-(-n // 2) - 1) * 2 + kernel - n, 0) for n in (size, size + 1)]
    module = get_spec(kind).build([shape], params_of(kind, **given))
    has_pad = any(isinstance(m, Pad) for m in module.modules())
    assert has_pad == any(total % 2 for total in totals)


@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
@pytest.mark.parametrize(("strides", "dilation"), [(1, 1), (2, 1), (3, 1), (1, 2), (1, 3)])
def test_conv1d_equals_keras(padding: str, strides: int, dilation: int) -> None:
    for steps, kernel in [(9, 2), (10, 3), (11, 4)]:
        given = {"filters": 4, "kernel_size": kernel, "strides": strides}
        assert_equals_keras(
            "Conv1D", (steps, 4), **given, dilation_rate=dilation, padding=padding, groups=2
        )


def test_causal_conv1d_never_looks_ahead() -> None:
    spec = get_spec("Conv1D")
    params = params_of("Conv1D", filters=3, kernel_size=3, dilation_rate=2, padding="causal")
    module = spec.build([(10, 2)], params)
    x = np.random.default_rng(1).uniform(-1, 1, (1, 10, 2)).astype(np.float32)
    changed = x.copy()
    changed[:, 6:] += 1.0
    before, after = run(module, x), run(module, changed)
    assert before.shape == (1, 10, 3)
    np.testing.assert_array_equal(before[:, :6], after[:, :6])
    assert not np.allclose(before[:, 6:], after[:, 6:])


def test_transposed_convolution_sizes_follow_keras() -> None:
    """Keras's formula (deconv_output_length): 'same' gives input × strides exactly."""
    cases = [  # size, kernel, stride, dilation, padding, output_padding -> Keras's size
        (7, 3, 2, 1, "same", None, 14),
        (7, 3, 2, 1, "valid", None, 15),
        (7, 3, 2, 1, "valid", 1, 16),
        (7, 4, 2, 1, "same", 1, 13),
        (7, 1, 3, 1, "valid", None, 21),  # kernel below strides: Keras fills up to 7 * 3
        (7, 1, 3, 1, "same", None, 21),
        (5, 3, 1, 2, "valid", None, 9),
        (5, 3, 1, 2, "same", None, 5),
        (1, 2, 1, 1, "same", 0, 0),
        (5, 4, 2, 1, "same", 0, 8),  # output_padding 0 and an even kernel: short of 5 * 2
    ]
    for size, k, s, d, padding, extra, expected in cases:
        assert transpose_output_size(size, k, s, d, padding, extra) == expected


def test_every_transposed_convolution_layout_equals_keras() -> None:
    """All small kernel/stride/dilation/padding/output_padding combinations, against Keras's
    own conv_transpose (so also its cropping, and the bias on rows only padding reaches)."""
    ops = keras().ops
    spec = get_spec("Conv2DTranspose")
    rng = np.random.default_rng(2)
    compared = 0
    for k, s, d, padding in itertools.product([1, 2, 3, 4], [1, 2, 3], [1, 2], ["valid", "same"]):
        if s > 1 and d > 1:
            continue
        for extra, size in itertools.product([None, *range(s)], [1, 2, 3]):
            given = {"filters": 2, "kernel_size": [k, 5 - k], "strides": [s, s]}
            params = params_of(
                "Conv2DTranspose",
                **given,
                dilation_rate=d,
                padding=padding,
                output_padding=None if extra is None else [extra, extra],
            )
            shape = (2, size, size + 1)
            try:
                out = spec.output_shape([shape], params)
            except ShapeError:
                assert padding == "same" and extra == 0 and size == 1
                continue
            module = spec.build([shape], params)
            with torch.no_grad():
                for p in module.parameters():
                    p.copy_(torch.as_tensor(rng.uniform(-1, 1, p.shape), dtype=torch.float32))
            kernel, bias = (a for _, a in spec.keras_weights(module, KerasContext((shape,))))
            x = rng.uniform(-1, 1, (1, *shape)).astype(np.float32)
            with torch.backends.mkldnn.flags(enabled=False):
                theirs = ops.convert_to_numpy(
                    ops.conv_transpose(
                        np.ascontiguousarray(np.moveaxis(x, 1, -1)),
                        kernel,
                        strides=s,
                        padding=padding,
                        output_padding=params["output_padding"],
                        dilation_rate=d,
                    )
                )
            ours = run(module, x)
            assert ours.shape == (1, *keras_layout(out)) == theirs.shape
            assert np.abs(ours - (theirs + bias)).max() <= 1e-5, (k, s, d, padding, extra, size)
            compared += 1
    assert compared > 200


def test_torch_layout_reproduces_every_crop() -> None:
    """Torch's padding and output_padding plus the leftover cut give Keras's crops exactly."""
    for k, s, d, padding in itertools.product(
        range(1, 7), range(1, 5), range(1, 4), ["valid", "same"]
    ):
        for extra in [None, *range(s)]:
            start, end = keras_crops(k, s, d, padding, extra)
            pad, out_pad, (cut_start, cut_end) = torch_layout((start, end), s, d)
            assert pad >= 0 and 0 <= out_pad < max(s, d) and cut_start >= 0 and cut_end >= 0
            assert (pad + cut_start, pad - out_pad + cut_end) == (start, end)


# -- weight layouts and initialisation -------------------------------------------------------


def test_depthwise_kernel_layout() -> None:
    """keras-h5.md §7: Keras (kh, kw, in, m) is torch (in * m, 1, kh, kw), channel c * m + j."""
    spec = get_spec("DepthwiseConv2D")
    params = params_of("DepthwiseConv2D", kernel_size=[2, 3], depth_multiplier=3)
    module = spec.build([(2, 5, 5)], params)
    kernel = np.arange(2 * 3 * 2 * 3, dtype=np.float32).reshape(2, 3, 2, 3)
    bias = np.arange(6, dtype=np.float32)
    ctx = KerasContext(((2, 5, 5),))
    spec.set_keras_weights(module, [kernel, bias], ctx)
    weight = next(m for m in module.modules() if isinstance(m, torch.nn.Conv2d)).weight
    assert tuple(weight.shape) == (6, 1, 2, 3)
    for c, j in itertools.product(range(2), range(3)):
        np.testing.assert_array_equal(weight[c * 3 + j, 0].detach().numpy(), kernel[:, :, c, j])
    names = [name for name, _ in spec.keras_weights(module, ctx)]
    assert names == ["kernel", "bias"]  # Keras 3's names (Keras 2 said depthwise_kernel)
    back = [a for _, a in spec.keras_weights(module, ctx)]
    np.testing.assert_array_equal(back[0], kernel)
    np.testing.assert_array_equal(back[1], bias)
    assert_equals_keras("DepthwiseConv2D", (2, 6, 7), kernel_size=[2, 3], depth_multiplier=3)


def test_separable_weights_have_keras_names_and_shapes() -> None:
    spec = get_spec("SeparableConv2D")
    params = params_of("SeparableConv2D", filters=5, kernel_size=[2, 3], depth_multiplier=2)
    ctx = KerasContext(((3, 6, 6),))
    named = spec.keras_weights(spec.build([(3, 6, 6)], params), ctx)
    assert [(n, a.shape) for n, a in named] == [
        ("depthwise_kernel", (2, 3, 3, 2)),
        ("pointwise_kernel", (1, 1, 6, 5)),
        ("bias", (5,)),
    ]
    no_bias = spec.build([(3, 6, 6)], {**params, "use_bias": False})
    assert [n for n, _ in spec.keras_weights(no_bias, ctx)] == [n for n, _ in named][:2]
    with pytest.raises(ValueError, match="expects 2 weight arrays"):
        spec.set_keras_weights(no_bias, [a for _, a in named], ctx)


@pytest.mark.parametrize(
    ("kind", "shape", "given", "fans"),
    [
        ("Conv1D", (20, 8), {"filters": 16, "kernel_size": 5}, [8 * 5 + 16 * 5]),
        ("Conv2D", (8, 9, 9), {"filters": 16}, [8 * 9 + 16 * 9]),
        ("Conv2DTranspose", (8, 9, 9), {"filters": 16}, [16 * 9 + 8 * 9]),
        ("DepthwiseConv2D", (16, 9, 9), {"depth_multiplier": 4}, [16 * 9 + 4 * 9]),
        (
            "SeparableConv2D",
            (16, 9, 9),
            {"filters": 32, "depth_multiplier": 4},
            [16 * 9 + 4 * 9, 64 + 32],
        ),
    ],
)
def test_kernels_start_glorot_uniform_on_the_keras_shape(
    kind: str, shape: tuple[int, ...], given: dict[str, Any], fans: list[int]
) -> None:
    """Glorot's limit sqrt(6 / (fan_in + fan_out)), fans counted as Keras counts them."""
    spec = get_spec(kind)
    torch.manual_seed(0)
    module = spec.build([shape], params_of(kind, **given))
    *kernels, bias = (a for _, a in spec.keras_weights(module, KerasContext((shape,))))
    for kernel, fan_sum in zip(kernels, fans, strict=True):
        assert 0.95 * np.sqrt(6 / fan_sum) < np.abs(kernel).max() <= np.sqrt(6 / fan_sum)
    assert not bias.any()


# -- Keras configs ---------------------------------------------------------------------------


def test_conv1d_reads_keras_2_and_keras_3_configs() -> None:
    spec = get_spec("Conv1D")
    for sizes in ([5], (5,), 5):
        config = {"filters": 8, "kernel_size": sizes, "strides": sizes, "padding": "causal"}
        params, problems = spec.validate_params(spec.params_from_keras(config))
        assert problems == []
        assert (params["kernel_size"], params["strides"]) == (5, 5)
    written = spec.keras_config(params_of("Conv1D", kernel_size=4), KerasContext(((9, 2),)))
    assert written["kernel_size"] == [4] and written["data_format"] == "channels_last"


@pytest.mark.parametrize("kind", CONV_KINDS)
def test_keras_settings_we_cannot_reproduce_are_named(kind: str) -> None:
    spec = get_spec(kind)
    assert spec.keras_problems({"data_format": "channels_last", "kernel_regularizer": None}) == []
    config = {
        "data_format": "channels_first",
        "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.01}},
        "bias_constraint": {"class_name": "NonNeg", "config": {}},
    }
    (problem,) = spec.keras_problems(config)
    plain(problem, kind, "channels_first", "channels last")
    # Regularizers and constraints change training, not predictions: opened, and named.
    notes = spec.keras_notes(config)
    assert len(notes) == 2
    assert "bias_constraint" in notes[0] and "kernel_regularizer" in notes[1]
    assert all("predictions are the same" in n for n in notes)
