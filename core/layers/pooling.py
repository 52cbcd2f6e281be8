"""Pooling layers: MaxPooling2D."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from core.layers.conv import IMAGE_HINT, keras_pads, padding_param, pair_param, spatial_output
from core.layers.modules import Pad
from core.layers.spec import KerasContext, LayerSpec, Shape, expect_rank, register


@register
class MaxPooling2D(LayerSpec):
    kind = "MaxPooling2D"
    category = "Pooling"
    help = "Shrinks an image by keeping the largest value of each small window, such as 2×2."
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
    keras_class = "MaxPooling2D"

    @staticmethod
    def _strides(params: Mapping[str, Any]) -> tuple[int, int]:
        strides: tuple[int, int] = params["strides"] or params["pool_size"]
        return strides

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        (shape,) = inputs
        expect_rank(self.kind, shape, (3,), "an image (channels×height×width)", IMAGE_HINT)
        h, w = spatial_output(
            self.kind,
            shape,
            params["pool_size"],
            self._strides(params),
            (1, 1),
            params["padding"],
            "window",
        )
        return (shape[0], h, w)

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        (shape,) = inputs
        k, s = params["pool_size"], self._strides(params)
        if params["padding"] == "valid":
            return nn.MaxPool2d(k, s)
        # Keras pads with values that never win the max, the extra row and column at the end.
        return nn.Sequential(
            Pad(keras_pads(shape, k, s, (1, 1)), float("-inf")), nn.MaxPool2d(k, s)
        )

    def keras_config(self, params: Mapping[str, Any], ctx: KerasContext) -> dict[str, Any]:
        return {
            "pool_size": list(params["pool_size"]),
            "strides": list(self._strides(params)),
            "padding": params["padding"],
            "data_format": "channels_last",
        }
