"""Transposed convolution, the learnt upsampling of decoders and generators: Conv2DTranspose."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from core.layers.activations import make_activation
from core.layers.conv import (
    ImageConvSpec,
    expect_image,
    filters_param,
    pair_param,
)
from core.layers.modules import Activated, Pad, inner_layer, keras_init_
from core.layers.params import Param, activation_param, use_bias_param
from core.layers.spec import (
    Finding,
    KerasContext,
    Shape,
    ShapeError,
    format_shape,
    kernel_and_bias,
    load_kernel_and_bias,
    register,
)


def transpose_output_size(
    size: int, kernel: int, stride: int, dilation: int, padding: str, output_padding: int | None
) -> int:
    """Output length along one axis, by Keras's formula (``deconv_output_length``)."""
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        return (size - 1) * stride + span + extra
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + span % 2 + output_padding


def keras_crops(
    kernel: int, stride: int, dilation: int, padding: str, output_padding: int | None
) -> tuple[int, int]:
    """How much Keras cuts from each end of the full transposed convolution along one axis.

    The full result (torch's with no padding) has ``(size - 1) * stride + span`` values. Keras
    (its JAX-style padding arithmetic, which every backend follows) pads the dilated input by
    ``left`` and ``right``; that is the full result cut by ``span - 1 - left`` at the start and
    ``span - 1 - right`` at the end. A negative cut means zeros (then the bias) added instead.
    """
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        left, right = span - 1, span - 1 + extra
    else:
        if output_padding is None:
            total = stride + span - 2
        else:
            total = span + span % 2 - 2 + output_padding
        left = min(total // 2 + total % 2, span - 1)
        right = total - left
    return span - 1 - left, span - 1 - right


def torch_layout(
    crops: tuple[int, int], stride: int, dilation: int
) -> tuple[int, int, tuple[int, int]]:
    """Torch's ``padding`` and ``output_padding`` for Keras's crops, plus what is left to cut.

    Torch cuts ``padding`` from both ends, then adds ``output_padding`` (< stride or dilation)
    at the end, where only the bias lands, as in Keras's negative cut.
    """
    start, end = crops
    if 0 <= start - end < max(stride, dilation):
        return start, start - end, (0, 0)
    if end >= start:
        return start, 0, (0, end - start)
    if end >= 0:
        return end, 0, (start - end, 0)
    return 0, -end, (start, 0)


class CroppedConvTranspose2d(nn.Module):
    """``nn.ConvTranspose2d`` followed by a cut of whatever its symmetric padding cannot cut."""

    def __init__(self, conv: nn.ConvTranspose2d, cuts: Sequence[tuple[int, int]]) -> None:
        super().__init__()
        self.conv = conv
        needed = any(before or after for before, after in cuts)
        self.crop: nn.Module = Pad([(-a, -b) for a, b in cuts]) if needed else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.crop(self.conv(x))
        return result


@register
class Conv2DTranspose(ImageConvSpec):
    kind = "Conv2DTranspose"
    help = (
        "Learnt upsampling: spreads each pixel over a small learnt filter, so the image grows "
        "(strides 2 doubles it). Used in decoders, autoencoders and image generators."
    )
    params = (
        filters_param(),
        pair_param("kernel_size", 3, "Height and width of each filter, such as 3×3."),
        Param(
            "strides",
            "ints",
            (1, 1),
            "How much the image grows: 2 doubles the height and width.",
            minimum=1,
            maximum=4096,
            length=2,
        ),
        Param(
            "padding",
            "choice",
            "valid",
            "same: the output is the input times strides (while output_padding is empty); "
            "valid: a little larger, keeping the filters' overhang.",
            choices=("valid", "same"),
        ),
        Param(
            "output_padding",
            "ints",
            None,
            "Extra rows and columns at the bottom and right, to reach an exact size; each "
            "below strides. Empty lets Keras choose.",
            minimum=0,
            maximum=4095,
            length=2,
            optional=True,
        ),
        pair_param("dilation_rate", 1, "Spacing between filter taps; above 1 spreads wider."),
        activation_param("linear"),
        use_bias_param(),
    )
    keras_class = "Conv2DTranspose"

    def params_problems(self, params: Mapping[str, Any]) -> list[str]:
        problems = super().params_problems(params)
        extra = params["output_padding"]
        if extra is not None and any(o >= s for o, s in zip(extra, params["strides"], strict=True)):
            problems.append("output_padding must be smaller than strides in each direction.")
        return problems

    def _axes(self, params: Mapping[str, Any]) -> list[tuple[int, int, int, int | None]]:
        extra = params["output_padding"] or (None, None)
        return list(
            zip(
                params["kernel_size"],
                params["strides"],
                params["dilation_rate"],
                extra,
                strict=True,
            )
        )

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        (shape,) = inputs
        expect_image(self.kind, shape)
        sizes = [
            transpose_output_size(size, k, s, d, params["padding"], o)
            for size, (k, s, d, o) in zip(shape[1:], self._axes(params), strict=True)
        ]
        if min(sizes) < 1:
            raise ShapeError(
                f"Conv2DTranspose would give an empty {sizes[0]}×{sizes[1]} output from its "
                f"{format_shape(shape)} input: with padding 'same', an output_padding of 0 and "
                "an even kernel size, an input 1 pixel high or wide shrinks to nothing.",
                "Leave output_padding empty, use an odd kernel_size, or set padding to 'valid'.",
            )
        return (params["filters"], *sizes)

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        findings = super().check(inputs, outputs, params)
        spans = [(k - 1) * d + 1 for k, _, d, _ in self._axes(params)]
        if any(s > span for s, span in zip(params["strides"], spans, strict=True)):
            findings.append(
                Finding(
                    "warning",
                    f"Conv2DTranspose's strides {format_shape(params['strides'])} are larger "
                    f"than its {format_shape(spans)} kernel, so the output has rows or columns "
                    "that no filter reaches (they hold only the bias).",
                    "Make kernel_size at least as large as strides (for example kernel_size 4 "
                    "with strides 2), or use an UpSampling2D layer before a Conv2D.",
                )
            )
        extra = params["output_padding"]
        if params["padding"] == "same" and extra is not None:
            shrunk = [span % 2 == 0 and o == 0 for span, o in zip(spans, extra, strict=True)]
            if any(shrunk):
                findings.append(
                    Finding(
                        "warning",
                        "With padding 'same', an even kernel size and an output_padding of 0, "
                        f"Conv2DTranspose's output ({format_shape(outputs[0])}) falls short "
                        "of the input times strides, and Keras on TensorFlow refuses "
                        "such a layer.",
                        "Leave output_padding empty, so that the output is exactly the input "
                        "times strides, or use an odd kernel_size.",
                    )
                )
        return findings

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        (shape,) = inputs
        layouts = [
            torch_layout(keras_crops(k, s, d, params["padding"], o), s, d)
            for k, s, d, o in self._axes(params)
        ]
        conv = nn.ConvTranspose2d(
            shape[0],
            params["filters"],
            params["kernel_size"],
            stride=params["strides"],
            padding=(layouts[0][0], layouts[1][0]),
            output_padding=(layouts[0][1], layouts[1][1]),
            dilation=params["dilation_rate"],
            bias=params["use_bias"],
        )
        keras_init_(conv)
        layer = CroppedConvTranspose2d(conv, [cut for _, _, cut in layouts])
        return Activated(layer, make_activation(params["activation"], 3))

    def keras_weights(self, module: nn.Module, ctx: KerasContext) -> list[tuple[str, np.ndarray]]:
        return kernel_and_bias(inner_layer(module, CroppedConvTranspose2d).conv, (2, 3, 1, 0))

    def set_keras_weights(
        self, module: nn.Module, arrays: Sequence[np.ndarray], ctx: KerasContext
    ) -> None:
        load_kernel_and_bias(
            inner_layer(module, CroppedConvTranspose2d).conv, arrays, (3, 2, 0, 1), self.kind
        )
