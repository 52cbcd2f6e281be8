"""Light convolutions that filter each channel on its own: DepthwiseConv2D, SeparableConv2D.

Keras stores a depthwise kernel as ``(kh, kw, in, multiplier)``; torch's grouped convolution
(``groups=in``) holds it as ``(in * multiplier, 1, kh, kw)``, output channel ``c * multiplier + m``
being the ``m``-th filter of input channel ``c``, as in Keras (keras-h5.md §7).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from core.layers.activations import make_activation
from core.layers.conv import (
    ImageConvSpec,
    conv_padding,
    depth_multiplier_param,
    expect_arrays,
    filters_param,
    glorot_uniform_,
    kernel_params,
    window_pads,
)
from core.layers.modules import Activated, inner_layer, keras_init_
from core.layers.params import activation_param, use_bias_param
from core.layers.spec import KerasContext, Shape, load_array, register, to_numpy


def depthwise_conv(
    shape: Shape, params: Mapping[str, Any], bias: bool
) -> tuple[nn.Conv2d, nn.Module | None]:
    """The grouped convolution of a depthwise layer (Keras-initialised) and its padding module."""
    channels = shape[0]
    multiplier = params["depth_multiplier"]
    kh, kw = params["kernel_size"]
    (ph, pw), pad = conv_padding(window_pads(shape, params))
    conv = nn.Conv2d(
        channels,
        channels * multiplier,
        (kh, kw),
        stride=params["strides"],
        padding=(ph, pw),
        dilation=params["dilation_rate"],
        groups=channels,
        bias=bias,
    )
    keras_init_(conv)
    # Keras counts the fans on its (kh, kw, in, multiplier) kernel, not on torch's.
    glorot_uniform_(conv.weight, channels * kh * kw, multiplier * kh * kw)
    return conv, pad


def depthwise_to_keras(weight: torch.Tensor, multiplier: int) -> np.ndarray:
    """A torch ``(in * m, 1, kh, kw)`` depthwise weight as Keras's ``(kh, kw, in, m)`` kernel."""
    w = to_numpy(weight)
    out, _, kh, kw = w.shape
    return np.ascontiguousarray(
        w.reshape(out // multiplier, multiplier, kh, kw).transpose(2, 3, 0, 1)
    )


def depthwise_from_keras(kernel: np.ndarray, kind: str) -> np.ndarray:
    """Keras's ``(kh, kw, in, m)`` depthwise kernel in torch's ``(in * m, 1, kh, kw)`` layout."""
    if kernel.ndim != 4:
        raise ValueError(f"{kind} depthwise kernel should have 4 axes but has {kernel.ndim}.")
    kh, kw, channels, multiplier = kernel.shape
    result: np.ndarray = kernel.transpose(2, 3, 0, 1).reshape(channels * multiplier, 1, kh, kw)
    return result


class SeparableConv2d(nn.Module):
    """A depthwise convolution (no bias) followed by a 1×1 pointwise one, as Keras computes it."""

    def __init__(self, depthwise: nn.Conv2d, pointwise: nn.Conv2d) -> None:
        super().__init__()
        self.depthwise = depthwise
        self.pointwise = pointwise

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.pointwise(self.depthwise(x))
        return result


@register
class SeparableConv2D(ImageConvSpec):
    kind = "SeparableConv2D"
    help = (
        "A cheaper Conv2D: first filters each channel on its own, then mixes the channels with "
        "1×1 filters. Learns similar patterns with far fewer weights (as in Xception)."
    )
    params = (
        filters_param(),
        *kernel_params(),
        depth_multiplier_param(),
        activation_param("linear"),
        use_bias_param(),
    )
    keras_class = "SeparableConv2D"

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        (shape,) = inputs
        h, w = self.spatial(shape, params)
        return (params["filters"], h, w)

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        (shape,) = inputs
        depthwise, pad = depthwise_conv(shape, params, bias=False)
        pointwise = nn.Conv2d(depthwise.out_channels, params["filters"], 1, bias=params["use_bias"])
        keras_init_(pointwise)
        layer = SeparableConv2d(depthwise, pointwise)
        return Activated(layer, make_activation(params["activation"], 3), pad)

    def keras_weights(self, module: nn.Module, ctx: KerasContext) -> list[tuple[str, np.ndarray]]:
        layer = inner_layer(module, SeparableConv2d)
        depthwise, pointwise = layer.depthwise, layer.pointwise
        multiplier = depthwise.out_channels // depthwise.in_channels
        result = [
            ("depthwise_kernel", depthwise_to_keras(depthwise.weight, multiplier)),
            (
                "pointwise_kernel",
                np.ascontiguousarray(to_numpy(pointwise.weight).transpose(2, 3, 1, 0)),
            ),
        ]
        if pointwise.bias is not None:
            result.append(("bias", to_numpy(pointwise.bias)))
        return result

    def set_keras_weights(
        self, module: nn.Module, arrays: Sequence[np.ndarray], ctx: KerasContext
    ) -> None:
        layer = inner_layer(module, SeparableConv2d)
        depthwise, pointwise = layer.depthwise, layer.pointwise
        expect_arrays(self.kind, arrays, 3 if pointwise.bias is not None else 2)
        kernel = depthwise_from_keras(np.asarray(arrays[0]), self.kind)
        load_array(depthwise.weight, kernel, "SeparableConv2D depthwise kernel")
        points = np.asarray(arrays[1])
        if points.ndim != 4:
            raise ValueError(
                f"SeparableConv2D pointwise kernel should have 4 axes, not {points.ndim}."
            )
        load_array(
            pointwise.weight, points.transpose(3, 2, 0, 1), "SeparableConv2D pointwise kernel"
        )
        if pointwise.bias is not None:
            load_array(pointwise.bias, np.asarray(arrays[2]), "SeparableConv2D bias")


_WINDOW = kernel_params()  # Keras puts depth_multiplier before dilation_rate here


@register
class DepthwiseConv2D(ImageConvSpec):
    kind = "DepthwiseConv2D"
    help = (
        "Filters each channel of an image on its own, with no mixing between channels: a cheap "
        "convolution, as in MobileNet."
    )
    params = (
        *_WINDOW[:3],
        depth_multiplier_param(),
        _WINDOW[3],
        activation_param("linear"),
        use_bias_param(),
    )
    keras_class = "DepthwiseConv2D"

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        (shape,) = inputs
        h, w = self.spatial(shape, params)
        return (shape[0] * params["depth_multiplier"], h, w)

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        conv, pad = depthwise_conv(inputs[0], params, params["use_bias"])
        return Activated(conv, make_activation(params["activation"], 3), pad)

    def keras_weights(self, module: nn.Module, ctx: KerasContext) -> list[tuple[str, np.ndarray]]:
        conv = inner_layer(module, nn.Conv2d)
        multiplier = conv.out_channels // conv.in_channels
        result = [("kernel", depthwise_to_keras(conv.weight, multiplier))]
        if conv.bias is not None:
            result.append(("bias", to_numpy(conv.bias)))
        return result

    def set_keras_weights(
        self, module: nn.Module, arrays: Sequence[np.ndarray], ctx: KerasContext
    ) -> None:
        conv = inner_layer(module, nn.Conv2d)
        expect_arrays(self.kind, arrays, 2 if conv.bias is not None else 1)
        kernel = depthwise_from_keras(np.asarray(arrays[0]), self.kind)
        load_array(conv.weight, kernel, "DepthwiseConv2D kernel")
        if conv.bias is not None:
            load_array(conv.bias, np.asarray(arrays[1]), "DepthwiseConv2D bias")
