"""Convolution over sequences: Conv1D, on (steps, channels) data as in Keras."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from core.layers.activations import make_activation, softmax_findings
from core.layers.conv import (
    conv_padding,
    filters_param,
    groups_param,
    strides_dilation_problems,
    unsupported_keras_settings,
)
from core.layers.modules import Activated, conv_output_size, inner_layer, keras_init_, same_padding
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


class StepsConv1d(nn.Module):
    """``nn.Conv1d`` on ``(batch, steps, channels)`` data, as Keras's channels-last Conv1D.

    Torch convolves ``(batch, channels, steps)``, so the module swaps the two axes around the
    convolution (and the optional Keras-style padding before it).
    """

    def __init__(self, conv: nn.Conv1d, pad: nn.Module | None = None) -> None:
        super().__init__()
        self.pad: nn.Module = pad if pad is not None else nn.Identity()
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.conv(self.pad(x.transpose(1, 2)))
        return result.transpose(1, 2)


def _length_param(name: str, default: int, help_text: str) -> Param:
    return Param(name, "int", default, help_text, minimum=1, maximum=4096)


def _single(value: Any) -> Any:
    """Keras writes a 1-D size as a list of one number; the studio keeps the number."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return value[0]
    return value


SEQUENCE_HINT = (
    "Conv1D works on sequences of steps×channels, such as a sound or a sentence of word "
    "vectors. Give the Input the shape (steps, channels)."
)


@register
class Conv1D(LayerSpec):
    kind = "Conv1D"
    category = "Convolution"
    help = (
        "Slides small learnt filters along a sequence (a signal, a text) to detect local "
        "patterns; outputs one channel per filter at each step."
    )
    params = (
        filters_param(),
        _length_param("kernel_size", 3, "How many neighbouring steps each filter looks at."),
        _length_param("strides", 1, "How far the filter moves each step; 2 halves the length."),
        Param(
            "padding",
            "choice",
            "valid",
            "valid: no border, so the sequence shrinks; same: pad both ends so the length "
            "stays (divided by the stride); causal: pad the start only, so no step sees the "
            "future (for forecasting).",
            choices=("valid", "same", "causal"),
        ),
        _length_param("dilation_rate", 1, "Spacing between filter taps; above 1 sees further."),
        groups_param(),
        activation_param("linear"),
        use_bias_param(),
    )
    input_ranks = (2,)
    keras_class = "Conv1D"

    def params_problems(self, params: Mapping[str, Any]) -> list[str]:
        problems = []
        if params["filters"] % params["groups"]:
            problems.append("filters must be a multiple of groups.")
        return problems + strides_dilation_problems([params["strides"]], [params["dilation_rate"]])

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        (shape,) = inputs
        if len(shape) != 2:
            raise ShapeError(
                f"Conv1D needs a sequence (steps×channels) but gets {format_shape(shape)}.",
                self._rank_hint(shape),
            )
        steps, channels = shape
        k, s, d = params["kernel_size"], params["strides"], params["dilation_rate"]
        if channels % params["groups"]:
            raise ShapeError(
                f"Conv1D with groups={params['groups']} needs a number of input channels that "
                f"groups divides, but gets {channels} channels ({format_shape(shape)}).",
                "Set groups to 1 or to a divisor of the input channels.",
            )
        span = (k - 1) * d + 1
        if params["padding"] == "valid" and span > steps:
            raise ShapeError(
                f"Conv1D's kernel spans {span} steps but its input has only {steps} "
                f"({format_shape(shape)}).",
                "Use a smaller kernel_size"
                + (" or dilation_rate" if d > 1 else "")
                + ", or set padding to 'same' or 'causal'.",
            )
        padding = "same" if params["padding"] == "causal" else params["padding"]
        return (conv_output_size(steps, k, s, d, padding), params["filters"])

    @staticmethod
    def _rank_hint(shape: Shape) -> str:
        if len(shape) == 1:
            return (
                f"{SEQUENCE_HINT} For {shape[0]} numbers in a row, reshape them to "
                f"({shape[0]}, 1) first: {shape[0]} steps of one channel."
            )
        if len(shape) == 3:
            return f"{SEQUENCE_HINT} For images (channels, height, width) use Conv2D instead."
        return SEQUENCE_HINT

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        return softmax_findings(params["activation"], outputs[0], self.kind)

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        (shape,) = inputs
        steps, channels = shape
        k, s, d = params["kernel_size"], params["strides"], params["dilation_rate"]
        if params["padding"] == "causal":
            pads = [((k - 1) * d, 0)]
        elif params["padding"] == "same":
            pads = [same_padding(steps, k, s, d)]
        else:
            pads = [(0, 0)]
        (padding,), pad = conv_padding(pads)
        conv = nn.Conv1d(
            channels,
            params["filters"],
            k,
            stride=s,
            padding=padding,
            dilation=d,
            groups=params["groups"],
            bias=params["use_bias"],
        )
        keras_init_(conv)
        return Activated(StepsConv1d(conv, pad), make_activation(params["activation"], 2))

    def keras_config(self, params: Mapping[str, Any], ctx: KerasContext) -> dict[str, Any]:
        config = super().keras_config(params, ctx)
        for name in ("kernel_size", "strides", "dilation_rate"):
            config[name] = [params[name]]
        return {**config, "data_format": "channels_last"}

    def params_from_keras(self, config: Mapping[str, Any]) -> dict[str, Any]:
        params = super().params_from_keras(config)
        for name in ("kernel_size", "strides", "dilation_rate"):
            if name in params:
                params[name] = _single(params[name])
        return params

    def keras_problems(self, config: Mapping[str, Any]) -> list[str]:
        return unsupported_keras_settings(self.kind, config)

    def keras_weights(self, module: nn.Module, ctx: KerasContext) -> list[tuple[str, np.ndarray]]:
        return kernel_and_bias(inner_layer(module, StepsConv1d).conv, (2, 1, 0))

    def set_keras_weights(
        self, module: nn.Module, arrays: Sequence[np.ndarray], ctx: KerasContext
    ) -> None:
        load_kernel_and_bias(inner_layer(module, StepsConv1d).conv, arrays, (2, 1, 0), self.kind)
