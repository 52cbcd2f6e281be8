"""Dot: the dot product of two inputs along one axis each, with Keras's ``batch_dot`` meaning.

Keras multiplies its channels-last tensors; the module views a tensor of three or more axes
(batch excluded) in Keras's layout, does what Keras does, and gives the result back in the
studio's channels-first layout, so images work too and every number equals Keras's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from core.layers._keras_layout import from_keras_layout, keras_shape, studio_shape, to_keras_layout
from core.layers.params import Param
from core.layers.spec import KerasContext, LayerSpec, Shape, ShapeError, format_shape, register


def keras_l2_normalize(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Keras's ``normalize``: ``x * min(1 / sqrt(sum(x²)), 1 / epsilon)``, epsilon 1e-7."""
    inverse = torch.rsqrt(x.square().sum(dim=dim, keepdim=True))
    return x * torch.clamp(inverse, max=1e7)


class DotModule(nn.Module):
    """Keras's ``batch_dot`` of two inputs, on and to the studio's layout.

    Works in Keras's layout: multiplies axis ``axes[0]`` of the first input with axis ``axes[1]``
    of the second and sums; the result has the first input's other axes, then the second's
    (a single value when none are left).

    Args:
        axes: Per-sample axes (0-based, batch excluded) in Keras's layout.
        normalize: Whether to divide each input by its length along its axis first (cosine).
    """

    def __init__(self, axes: tuple[int, int], normalize: bool) -> None:
        super().__init__()
        self.axes = axes
        self.normalize = normalize

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x, y = to_keras_layout(x), to_keras_layout(y)
        if self.normalize:
            x = keras_l2_normalize(x, 1 + self.axes[0])
            y = keras_l2_normalize(y, 1 + self.axes[1])
        x = x.movedim(1 + self.axes[0], -1)  # (batch, *rest of x, n)
        y = y.movedim(1 + self.axes[1], 1)  # (batch, n, *rest of y)
        batch, size = x.shape[0], x.shape[-1]
        rest = (*x.shape[1:-1], *y.shape[2:])
        out = torch.bmm(x.reshape(batch, -1, size), y.reshape(batch, size, -1))
        return from_keras_layout(out.reshape(batch, *(rest or (1,))))

    def extra_repr(self) -> str:
        return f"axes={self.axes} (Keras layout, batch excluded), normalize={self.normalize}"


@register
class Dot(LayerSpec):
    kind = "Dot"
    category = "Merge"
    help = (
        "Multiplies two inputs along one axis and sums the products (a dot product), for "
        "example to score how similar two encodings are."
    )
    params = (
        Param(
            "axes",
            "ints",
            (-1, -1),
            "The axis of each input to multiply along, counted as in Keras: 1 is the first axis "
            "after the batch, -1 the last (the features; for an image, its channels). One number "
            "for both inputs, or two: the first input's and the second's.",
            minimum=-4,
            maximum=4,
            length=2,
        ),
        Param(
            "normalize",
            "bool",
            False,
            "Scale both inputs to length 1 along the axis first, so the result is their cosine "
            "similarity, from -1 to 1.",
        ),
    )
    keras_class = "Dot"

    def num_inputs(self, params: Mapping[str, Any]) -> int:
        return 2

    def params_problems(self, params: Mapping[str, Any]) -> list[str]:
        if 0 in params["axes"]:
            return [
                "axes cannot include 0: that is the batch (the samples), which Dot never "
                "mixes. Use -1 for the last axis or 1 for the first."
            ]
        return []

    def keras_axes(self, inputs: Sequence[Shape], axes: Sequence[int]) -> tuple[int, int]:
        """Per-sample Keras-layout axes (0-based), or a friendly ShapeError."""
        result = []
        for which, shape, axis in zip(("first", "second"), inputs, axes, strict=True):
            rank = len(shape)
            if not (-rank <= axis <= rank and axis != 0):
                raise ShapeError(
                    f"Dot's axis {axis} does not exist for its {which} input "
                    f"{format_shape(shape)}, which has {rank} {'axis' if rank == 1 else 'axes'}.",
                    f"Use an axis from 1 to {rank} (or -1 for the last).",
                )
            result.append(axis - 1 if axis > 0 else rank + axis)
        return result[0], result[1]

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        first, second = (keras_shape(s) for s in inputs)
        a, b = self.keras_axes(inputs, params["axes"])
        if first[a] != second[b]:
            axes = params["axes"]
            image = any(len(s) >= 3 for s in inputs)
            raise ShapeError(
                f"Dot multiplies axis {axes[0]} of its first input {format_shape(inputs[0])} "
                f"(size {first[a]}) with axis {axes[1]} of its second input "
                f"{format_shape(inputs[1])} (size {second[b]}), but the sizes differ.",
                "Make these sizes equal (for example the same number of units), or choose "
                "other axes"
                + (" (Keras counts an image's axes as height, width, channels)." if image else "."),
            )
        rest = (*first[:a], *first[a + 1 :], *second[:b], *second[b + 1 :])
        return studio_shape(rest or (1,))

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        return DotModule(self.keras_axes(inputs, params["axes"]), params["normalize"])

    def keras_config(self, params: Mapping[str, Any], ctx: KerasContext) -> dict[str, Any]:
        first, second = params["axes"]
        axes: int | list[int] = first if first == second else [first, second]
        return {"axes": axes, "normalize": params["normalize"]}
