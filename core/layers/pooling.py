"""Pooling layers: MaxPooling1D, AveragePooling1D, MaxPooling2D, AveragePooling2D.

A pooling layer slides a window over a sequence ``(steps, channels)`` or an image
``(channels, height, width)`` and keeps the largest value or the average of each window. With
``padding='same'`` Keras pads like TensorFlow: the extra row or column goes at the end, max
pooling never picks a padded cell, and average pooling leaves padded cells out of the average.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from core.layers.conv import keras_pads, padding_param, pair_param, spatial_output
from core.layers.modules import Pad, conv_output_size, same_padding
from core.layers.params import Param
from core.layers.spec import (
    Finding,
    KerasContext,
    LayerSpec,
    Shape,
    ShapeError,
    expect_rank,
    format_shape,
    register,
)

Pads = list[tuple[int, int]]

SEQUENCE = "a sequence (steps×channels)"
IMAGE = "an image (channels×height×width)"


def sequence_hint(kind: str, image_kind: str) -> str:
    """What to do when a layer for sequences gets something else."""
    return (
        f"{kind} works on sequences (steps×channels), such as the output of Conv1D or an Input "
        f"of shape (steps, channels). For images use {image_kind}."
    )


def image_hint(kind: str, sequence_kind: str | None = None) -> str:
    """What to do when a layer for images gets something else."""
    other = f" For sequences (steps×channels) use {sequence_kind}." if sequence_kind else ""
    return (
        f"{kind} works on images (channels×height×width), such as the output of Conv2D or an "
        f"Input of shape (channels, height, width), for example (1, 28, 28).{other}"
    )


def channels_first_problems(kind: str, config: Mapping[str, Any]) -> list[str]:
    """Keras layers with ``data_format='channels_first'`` see a different axis order than ours."""
    if config.get("data_format", "channels_last") in (None, "channels_last"):
        return []
    return [
        f"{kind} uses data_format={config['data_format']!r}; the studio can only import layers "
        "that keep the channels last, as Keras does by default."
    ]


def unwrap_single(value: Any) -> Any:
    """Keras stores a 1-D window as a one-item tuple, ``(2,)``; the studio as the number 2."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return value[0]
    return value


class UnpaddedAverage(nn.Module):
    """Average pooling over zero-padded input, dividing each window by its real cells only.

    This is Keras's (TensorFlow's) ``padding='same'`` for average pooling where the padding is
    uneven (one more cell at the end); torch's own ``count_include_pad=False`` only pads evenly.
    """

    def __init__(self, kernel: Sequence[int], stride: Sequence[int], pads: Pads) -> None:
        super().__init__()
        self.kernel = tuple(kernel)
        self.stride = tuple(stride)
        self.pad = Pad(pads)

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        if len(self.kernel) == 1:
            return F.avg_pool1d(x, self.kernel, self.stride)
        return F.avg_pool2d(x, self.kernel, self.stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        real = self.pad(x.new_ones((1, 1, *x.shape[2:])))
        return self._pool(self.pad(x)) / self._pool(real)

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}"


class ChannelsLast(nn.Module):
    """Runs a torch layer made for ``(N, C, L)`` on a sequence laid out as ``(N, steps, C)``."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.layer(x.transpose(1, 2))
        return result.transpose(1, 2)


def pool_module(
    mode: Literal["max", "average"], kernel: Sequence[int], stride: Sequence[int], pads: Pads
) -> nn.Module:
    """A channels-first torch pooling module with Keras's padding, for 1 or 2 spatial axes."""
    k, s = tuple(kernel), tuple(stride)
    one_d = len(k) == 1
    if mode == "max":
        pool: nn.Module = nn.MaxPool1d(k[0], s[0]) if one_d else nn.MaxPool2d(k, s)
        if not any(before or after for before, after in pads):
            return pool
        return nn.Sequential(Pad(pads, float("-inf")), pool)  # never wins the max
    if any(before != after for before, after in pads):
        return UnpaddedAverage(k, s, pads)
    if one_d:
        return nn.AvgPool1d(k[0], s[0], pads[0][0], count_include_pad=False)
    even = (pads[0][0], pads[1][0])
    return nn.AvgPool2d((k[0], k[1]), (s[0], s[1]), even, count_include_pad=False)


class WindowPooling(LayerSpec):
    """Base of the window poolings; subclasses set the kind, ``mode`` and ``params``."""

    category = "Pooling"
    mode: ClassVar[Literal["max", "average"]] = "max"

    @staticmethod
    def _windows(params: Mapping[str, Any]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """``pool_size`` and ``strides`` as tuples, strides defaulting to the pool size."""
        k = params["pool_size"]
        s = params["strides"] if params["strides"] is not None else k
        return (k, s) if isinstance(k, tuple) else ((k,), (s,))

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        k, s = self._windows(params)
        if any(stride > size for size, stride in zip(k, s, strict=True)):
            return [
                Finding(
                    "warning",
                    f"{self.kind}'s strides ({format_shape(s)}) are larger than its pool_size "
                    f"({format_shape(k)}), so some values are skipped and never looked at.",
                    "Make strides at most pool_size, or leave strides empty to use pool_size.",
                )
            ]
        if max(k) == 1 and max(s) == 1:
            return [
                Finding(
                    "info",
                    f"{self.kind} does nothing here: a window of one value with steps of one "
                    "gives back its input unchanged.",
                    "Set pool_size to 2 to halve the size, or delete the layer.",
                )
            ]
        return []

    def keras_config(self, params: Mapping[str, Any], ctx: KerasContext) -> dict[str, Any]:
        k, s = self._windows(params)
        return {
            "pool_size": list(k),
            "strides": list(s),
            "padding": params["padding"],
            "data_format": "channels_last",
        }

    def keras_problems(self, config: Mapping[str, Any]) -> list[str]:
        return channels_first_problems(self.kind, config)


class Pooling1D(WindowPooling):
    """Pooling over the steps of a sequence ``(steps, channels)``, laid out as in Keras."""

    image_kind: ClassVar[str] = ""
    params = (
        Param(
            "pool_size",
            "int",
            2,
            "How many steps each window covers; 2 halves the sequence.",
            minimum=1,
            maximum=4096,
        ),
        Param(
            "strides",
            "int",
            None,
            "How many steps the window moves each time. Empty means the same as pool_size.",
            minimum=1,
            maximum=4096,
            optional=True,
        ),
        padding_param(),
    )
    input_ranks = (2,)

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        (shape,) = inputs
        expect_rank(self.kind, shape, (2,), SEQUENCE, sequence_hint(self.kind, self.image_kind))
        (k,), (s,) = self._windows(params)
        steps, channels = shape
        if params["padding"] == "valid" and k > steps:
            raise ShapeError(
                f"{self.kind}'s window of {k} steps is longer than its input of {steps} steps "
                f"({format_shape(shape)}).",
                "Use a smaller pool_size, set padding to 'same', or remove a pooling layer "
                "before it.",
            )
        return (conv_output_size(steps, k, s, 1, params["padding"]), channels)

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        (shape,) = inputs
        (k,), (s,) = self._windows(params)
        pads = [same_padding(shape[0], k, s) if params["padding"] == "same" else (0, 0)]
        return ChannelsLast(pool_module(self.mode, (k,), (s,), pads))

    def params_from_keras(self, config: Mapping[str, Any]) -> dict[str, Any]:
        params = super().params_from_keras(config)
        return {name: unwrap_single(value) for name, value in params.items()}


class Pooling2D(WindowPooling):
    """Pooling over the height and width of an image ``(channels, height, width)``."""

    sequence_kind: ClassVar[str] = ""
    params = (
        pair_param("pool_size", 2, "Height and width of the window; 2×2 halves the image."),
        pair_param(
            "strides",
            2,
            "How far the window moves each step. Empty means the same as pool_size.",
            optional=True,
        ),
        padding_param(),
    )
    input_ranks = (3,)

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        (shape,) = inputs
        expect_rank(self.kind, shape, (3,), IMAGE, image_hint(self.kind, self.sequence_kind))
        k, s = self._windows(params)
        h, w = spatial_output(self.kind, shape, k, s, (1, 1), params["padding"], "window")
        return (shape[0], h, w)

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        (shape,) = inputs
        k, s = self._windows(params)
        same = params["padding"] == "same"
        pads = keras_pads(shape, k, s, (1, 1)) if same else [(0, 0), (0, 0)]
        return pool_module(self.mode, k, s, pads)


@register
class MaxPooling1D(Pooling1D):
    kind = "MaxPooling1D"
    help = "Shortens a sequence by keeping the largest value of each few steps, such as 2."
    keras_class = "MaxPooling1D"
    mode = "max"
    image_kind = "MaxPooling2D"


@register
class AveragePooling1D(Pooling1D):
    kind = "AveragePooling1D"
    help = "Shortens a sequence by averaging each few steps, such as 2, into one."
    keras_class = "AveragePooling1D"
    mode = "average"
    image_kind = "AveragePooling2D"


@register
class MaxPooling2D(Pooling2D):
    kind = "MaxPooling2D"
    help = "Shrinks an image by keeping the largest value of each small window, such as 2×2."
    keras_class = "MaxPooling2D"
    mode = "max"
    sequence_kind = "MaxPooling1D"


@register
class AveragePooling2D(Pooling2D):
    kind = "AveragePooling2D"
    help = "Shrinks an image by averaging each small window, such as 2×2, into one value."
    keras_class = "AveragePooling2D"
    mode = "average"
    sequence_kind = "AveragePooling1D"
