"""Layers that change the arrangement of values, not the values: Flatten."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from core.layers.spec import Finding, KerasContext, LayerSpec, Shape, register


class KerasOrderFlatten(nn.Module):
    """Flatten that orders values as Keras does: an image's ``(C, H, W)`` as ``H, W, C``.

    Keras flattens channels-last maps, so a Dense after a Flatten expects ``height, width,
    channels`` order (keras-h5.md §8). Flattening in that order costs one copy and means Keras
    weights fit as they are, in both directions, with no permutation to remember.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() >= 4:
            x = x.movedim(1, -1)
        return x.flatten(1)


@register
class Flatten(LayerSpec):
    kind = "Flatten"
    category = "Reshaping"
    help = "Lays an image or feature map out as one long row of numbers, for Dense layers."
    keras_class = "Flatten"

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        return (math.prod(inputs[0]),)

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        if len(inputs[0]) == 1:
            return [
                Finding(
                    "info",
                    "Flatten does nothing here: its input is already flat.",
                    "You can delete it.",
                )
            ]
        return []

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        return KerasOrderFlatten()

    def keras_config(self, params: Mapping[str, Any], ctx: KerasContext) -> dict[str, Any]:
        return {"data_format": "channels_last"}
