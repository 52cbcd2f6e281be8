"""Convolution layers: Conv2D, and what the whole convolution family shares.

Conv1D (``conv1d.py``), Conv2DTranspose (``conv_transpose.py``), SeparableConv2D and
DepthwiseConv2D (``conv_depthwise.py``) build on the helpers here; pooling uses them too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
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
    format_shape,
    kernel_and_bias,
    load_kernel_and_bias,
    register,
)

IMAGE_HINT = (
    "This layer works on images. Start the model with an Input of shape (channels, height, "
    "width), for example (1, 28, 28), or use Dense layers for flat data."
)


def image_hint(kind: str, shape: Shape) -> str:
    """What to do when ``kind`` (which needs an image) gets ``shape``, suited to its rank."""
    if len(shape) == 2:
        h, w = shape
        return (
            f"A {h}×{w} input has no channel axis: give the Input the shape (1, {h}, {w}) (one "
            "channel for grey pictures), or use Conv1D if it is a sequence of steps×features."
        )
    if len(shape) > 3:
        return (
            f"{kind} takes one image (channels, height, width) per sample, not a stack of them. "
            "Reshape the data to three axes, or feed it to Dense layers after a Flatten."
        )
    return (
        f"{kind} works on images. Start the model with an Input of shape (channels, height, "
        "width), for example (1, 28, 28), or use Dense layers for flat data."
    )


def expect_image(kind: str, shape: Shape) -> None:
    """Raise a friendly :class:`ShapeError` unless ``shape`` is a channels×height×width image."""
    if len(shape) != 3:
        raise ShapeError(
            f"{kind} needs an image (channels×height×width) but gets {format_shape(shape)}.",
            image_hint(kind, shape),
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


def filters_param() -> Param:
    """The ``filters`` count of the convolutions."""
    return Param(
        "filters",
        "int",
        32,
        "How many filters (patterns) to learn; each gives one output channel.",
        minimum=1,
        maximum=65536,
    )


def depth_multiplier_param() -> Param:
    """The ``depth_multiplier`` of the depthwise convolutions."""
    return Param(
        "depth_multiplier",
        "int",
        1,
        "How many filters each input channel gets of its own; the output has this many "
        "channels per input channel.",
        minimum=1,
        maximum=4096,
    )


def groups_param() -> Param:
    """Keras's ``groups`` of Conv1D and Conv2D."""
    return Param(
        "groups",
        "int",
        1,
        "Split channels into this many independent groups (1 = ordinary convolution).",
        minimum=1,
        maximum=65536,
    )


def kernel_params() -> tuple[Param, Param, Param, Param]:
    """``kernel_size``, ``strides``, ``padding`` and ``dilation_rate`` of a 2-D convolution."""
    return (
        pair_param("kernel_size", 3, "Height and width of each filter, such as 3×3."),
        pair_param("strides", 1, "How far the filter moves each step; 2 halves the size."),
        padding_param(),
        pair_param("dilation_rate", 1, "Spacing between filter taps; above 1 sees further."),
    )


def strides_dilation_problems(strides: Sequence[int], dilation: Sequence[int]) -> list[str]:
    """Keras refuses strides and dilation_rate both above 1; so do we."""
    if max(strides) > 1 and max(dilation) > 1:
        return ["strides and dilation_rate cannot both be above 1 (as in Keras)."]
    return []


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
        size = "kernel_size" if what == "kernel" else "pool_size"
        dilated = " (or dilation_rate)" if max(dilation) > 1 else ""
        raise ShapeError(
            f"{kind}'s {spans[0]}×{spans[1]} {what} is larger than its "
            f"{h}×{w} input ({format_shape(shape)}).",
            f"Use a smaller {size}{dilated}, set padding to 'same', or remove a pooling layer "
            "before it.",
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


def window_pads(shape: Shape, params: Mapping[str, Any]) -> list[tuple[int, int]]:
    """The (before, after) padding Keras gives each spatial axis of a 2-D convolution."""
    if params["padding"] == "valid":
        return [(0, 0), (0, 0)]
    return keras_pads(shape, params["kernel_size"], params["strides"], params["dilation_rate"])


def conv_padding(pads: Sequence[tuple[int, int]]) -> tuple[tuple[int, ...], Pad | None]:
    """Keras's padding as torch's symmetric ``padding`` argument, or a :class:`Pad` to run first.

    Keras puts the odd row or column of ``padding='same'`` at the bottom or right, which torch's
    own ``padding`` cannot express; then the convolution gets no padding and a Pad module.
    """
    if all(before == after for before, after in pads):
        return tuple(before for before, _ in pads), None
    return (0,) * len(pads), Pad(pads)


def glorot_uniform_(tensor: torch.Tensor, fan_in: int, fan_out: int) -> None:
    """Keras's Glorot-uniform initialiser with fans counted on the Keras kernel's shape."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        tensor.uniform_(-limit, limit)


def unsupported_keras_settings(kind: str, config: Mapping[str, Any]) -> list[str]:
    """The settings of a Keras convolution config that the studio cannot reproduce."""
    problems = []
    data_format = config.get("data_format", "channels_last")
    if data_format not in (None, "channels_last"):
        problems.append(
            f"{kind} uses data_format={data_format!r}; the studio can only import layers that "
            "keep the channels last, as Keras does by default."
        )
    return problems


class ImageConvSpec(LayerSpec):
    """What the 2-D convolutions share: image input, Keras layout, findings and Keras checks."""

    category = "Convolution"
    input_ranks = (3,)

    def params_problems(self, params: Mapping[str, Any]) -> list[str]:
        return strides_dilation_problems(params["strides"], params["dilation_rate"])

    def spatial(self, shape: Shape, params: Mapping[str, Any]) -> tuple[int, int]:
        """The output height and width for an input of ``shape``, or a friendly error."""
        expect_image(self.kind, shape)
        return spatial_output(
            self.kind,
            shape,
            params["kernel_size"],
            params["strides"],
            params["dilation_rate"],
            params["padding"],
            "kernel",
        )

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        return softmax_findings(params["activation"], outputs[0], self.kind)

    def keras_config(self, params: Mapping[str, Any], ctx: KerasContext) -> dict[str, Any]:
        return {**super().keras_config(params, ctx), "data_format": "channels_last"}

    def keras_problems(self, config: Mapping[str, Any]) -> list[str]:
        return unsupported_keras_settings(self.kind, config)


def expect_arrays(kind: str, arrays: Sequence[np.ndarray], count: int) -> None:
    """Refuse a weight list of the wrong length with a clear message."""
    if len(arrays) != count:
        raise ValueError(f"{kind} expects {count} weight arrays, got {len(arrays)}.")


@register
class Conv2D(ImageConvSpec):
    kind = "Conv2D"
    help = (
        "Slides small learnt filters over an image to detect patterns such as edges and shapes; "
        "outputs one feature map per filter."
    )
    params = (
        filters_param(),
        *kernel_params(),
        groups_param(),
        activation_param("linear"),
        use_bias_param(),
    )
    keras_class = "Conv2D"

    def params_problems(self, params: Mapping[str, Any]) -> list[str]:
        problems = []
        if params["filters"] % params["groups"]:
            problems.append("filters must be a multiple of groups.")
        return problems + super().params_problems(params)

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        (shape,) = inputs
        expect_image(self.kind, shape)
        if shape[0] % params["groups"]:
            raise ShapeError(
                f"Conv2D with groups={params['groups']} needs a number of input channels that "
                f"groups divides, but gets {shape[0]} channels.",
                "Set groups to 1 or to a divisor of the input channels.",
            )
        h, w = self.spatial(shape, params)
        return (params["filters"], h, w)

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        (shape,) = inputs
        (ph, pw), pad = conv_padding(window_pads(shape, params))
        conv = nn.Conv2d(
            shape[0],
            params["filters"],
            params["kernel_size"],
            stride=params["strides"],
            padding=(ph, pw),
            dilation=params["dilation_rate"],
            groups=params["groups"],
            bias=params["use_bias"],
        )
        keras_init_(conv)
        return Activated(conv, make_activation(params["activation"], 3), pad)

    def keras_weights(self, module: nn.Module, ctx: KerasContext) -> list[tuple[str, np.ndarray]]:
        return kernel_and_bias(inner_layer(module, nn.Conv2d), (2, 3, 1, 0))

    def set_keras_weights(
        self, module: nn.Module, arrays: Sequence[np.ndarray], ctx: KerasContext
    ) -> None:
        load_kernel_and_bias(inner_layer(module, nn.Conv2d), arrays, (3, 2, 0, 1), self.kind)
