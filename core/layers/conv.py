"""Convolution layers: Conv2D."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from torch import nn

from core.layers.activations import make_activation, softmax_findings
from core.layers.modules import (
    Activated,
    Pad,
    conv_output_size,
    inner_layer,
    keras_init_,
    same_padding,
)
from core.layers.params import Param, activation_param, use_bias_param
from core.layers.spec import (
    Finding,
    KerasContext,
    LayerSpec,
    Shape,
    ShapeError,
    expect_rank,
    format_shape,
    load_array,
    register,
    to_numpy,
)

IMAGE_HINT = (
    "Conv2D works on images. Start the model with an Input of shape (channels, height, width), "
    "for example (1, 28, 28), or use Dense layers for flat data."
)


def padding_param() -> Param:
    """Keras's ``padding`` choice, shared by convolutions and pooling."""
    return Param(
        "padding",
        "choice",
        "valid",
        "valid: no border, so the output shrinks; same: pad the border so the output keeps "
        "its size (divided by the stride).",
        choices=("valid", "same"),
    )


def pair_param(name: str, default: int, help_text: str, optional: bool = False) -> Param:
    """A (height, width) pair of whole numbers, such as ``kernel_size``."""
    return Param(
        name,
        "ints",
        None if optional else (default, default),
        help_text,
        minimum=1,
        maximum=4096,
        length=2,
        optional=optional,
    )


def spatial_output(
    kind: str,
    shape: Shape,
    window: Sequence[int],
    strides: Sequence[int],
    dilation: Sequence[int],
    padding: str,
    what: str,
) -> tuple[int, int]:
    """Output height and width of a 2-D window operation, or a friendly error."""
    spans = [(k - 1) * d + 1 for k, d in zip(window, dilation, strict=True)]
    _, h, w = shape
    if padding == "valid" and (spans[0] > h or spans[1] > w):
        raise ShapeError(
            f"{kind}'s {spans[0]}×{spans[1]} {what} is larger than its "
            f"{h}×{w} input ({format_shape(shape)}).",
            f"Use a smaller {'kernel_size' if what == 'kernel' else 'pool_size'}, set padding to "
            "'same', or remove a pooling layer before it.",
        )
    return (
        conv_output_size(h, window[0], strides[0], dilation[0], padding),
        conv_output_size(w, window[1], strides[1], dilation[1], padding),
    )


def keras_pads(
    shape: Shape, window: Sequence[int], strides: Sequence[int], dilation: Sequence[int]
) -> list[tuple[int, int]]:
    """The (before, after) padding of each spatial axis for ``padding='same'``."""
    return [
        same_padding(size, k, s, d)
        for size, k, s, d in zip(shape[1:], window, strides, dilation, strict=True)
    ]


@register
class Conv2D(LayerSpec):
    kind = "Conv2D"
    category = "Convolution"
    help = (
        "Slides small learnt filters over an image to detect patterns such as edges and shapes; "
        "outputs one feature map per filter."
    )
    params = (
        Param(
            "filters",
            "int",
            32,
            "How many filters (patterns) to learn; each gives one output channel.",
            minimum=1,
            maximum=65536,
        ),
        pair_param("kernel_size", 3, "Height and width of each filter, such as 3×3."),
        pair_param("strides", 1, "How far the filter moves each step; 2 halves the size."),
        padding_param(),
        pair_param("dilation_rate", 1, "Spacing between filter taps; above 1 sees further."),
        Param(
            "groups",
            "int",
            1,
            "Split channels into this many independent groups (1 = ordinary convolution).",
            minimum=1,
            maximum=65536,
        ),
        activation_param("linear"),
        use_bias_param(),
    )
    input_ranks = (3,)
    keras_class = "Conv2D"

    def params_problems(self, params: Mapping[str, Any]) -> list[str]:
        problems = []
        if params["filters"] % params["groups"]:
            problems.append("filters must be a multiple of groups.")
        if max(params["strides"]) > 1 and max(params["dilation_rate"]) > 1:
            problems.append("strides and dilation_rate cannot both be above 1 (as in Keras).")
        return problems

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        (shape,) = inputs
        expect_rank(self.kind, shape, (3,), "an image (channels×height×width)", IMAGE_HINT)
        if shape[0] % params["groups"]:
            raise ShapeError(
                f"Conv2D with groups={params['groups']} needs a number of input channels that "
                f"groups divides, but gets {shape[0]} channels.",
                "Set groups to 1 or to a divisor of the input channels.",
            )
        h, w = spatial_output(
            self.kind,
            shape,
            params["kernel_size"],
            params["strides"],
            params["dilation_rate"],
            params["padding"],
            "kernel",
        )
        return (params["filters"], h, w)

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        return softmax_findings(params["activation"], outputs[0], self.kind)

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        (shape,) = inputs
        k, s, d = params["kernel_size"], params["strides"], params["dilation_rate"]
        pads = keras_pads(shape, k, s, d) if params["padding"] == "same" else [(0, 0), (0, 0)]
        symmetric = all(before == after for before, after in pads)
        conv = nn.Conv2d(
            shape[0],
            params["filters"],
            k,
            stride=s,
            padding=(pads[0][0], pads[1][0]) if symmetric else 0,
            dilation=d,
            groups=params["groups"],
            bias=params["use_bias"],
        )
        keras_init_(conv)
        pad = None if symmetric else Pad(pads)
        return Activated(conv, make_activation(params["activation"], 3), pad)

    def keras_config(self, params: Mapping[str, Any], ctx: KerasContext) -> dict[str, Any]:
        return {**super().keras_config(params, ctx), "data_format": "channels_last"}

    def keras_weights(self, module: nn.Module, ctx: KerasContext) -> list[tuple[str, np.ndarray]]:
        conv = inner_layer(module, nn.Conv2d)
        result = [("kernel", np.ascontiguousarray(to_numpy(conv.weight).transpose(2, 3, 1, 0)))]
        if conv.bias is not None:
            result.append(("bias", to_numpy(conv.bias)))
        return result

    def set_keras_weights(
        self, module: nn.Module, arrays: Sequence[np.ndarray], ctx: KerasContext
    ) -> None:
        conv = inner_layer(module, nn.Conv2d)
        expected = 2 if conv.bias is not None else 1
        if len(arrays) != expected:
            raise ValueError(f"Conv2D expects {expected} weight arrays, got {len(arrays)}.")
        kernel = np.asarray(arrays[0])
        if kernel.ndim != 4:
            raise ValueError(f"Conv2D kernel should have 4 axes but has {kernel.ndim}.")
        load_array(conv.weight, kernel.transpose(3, 2, 0, 1), "Conv2D kernel")
        if conv.bias is not None:
            load_array(conv.bias, np.asarray(arrays[1]), "Conv2D bias")
