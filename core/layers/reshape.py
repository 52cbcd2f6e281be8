"""Layers that change the arrangement of values, not the values: Flatten."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from core.layers.spec import Finding, KerasContext, LayerSpec, Shape, register


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
        return nn.Flatten()

    def keras_config(self, params: Mapping[str, Any], ctx: KerasContext) -> dict[str, Any]:
        return {"data_format": "channels_last"}
