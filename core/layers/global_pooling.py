"""Global pooling layers: GlobalAveragePooling1D/2D and GlobalMaxPooling1D/2D.

A global pooling layer summarises each channel of a whole sequence or image by one number: the
average or the largest value. It is the usual bridge from convolutions to Dense layers, and,
unlike Flatten, it does not care about the order of positions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from core.layers.params import Param
from core.layers.pooling import (
    IMAGE,
    SEQUENCE,
    channels_first_problems,
    image_hint,
    sequence_hint,
)
from core.layers.spec import KerasContext, LayerSpec, Shape, expect_rank, register


class GlobalPool(nn.Module):
    """The average or maximum over ``dims`` (batch counted), optionally keeping them as size 1."""

    def __init__(self, mode: Literal["max", "average"], dims: tuple[int, ...], keepdims: bool):
        super().__init__()
        self.mode = mode
        self.dims = dims
        self.keepdims = keepdims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "max":
            return x.amax(dim=self.dims, keepdim=self.keepdims)
        return x.mean(dim=self.dims, keepdim=self.keepdims)

    def extra_repr(self) -> str:
        return f"mode={self.mode}, dims={self.dims}, keepdims={self.keepdims}"


def keepdims_param(what: str) -> Param:
    """Keras's ``keepdims`` switch of the global poolings."""
    return Param(
        "keepdims",
        "bool",
        False,
        f"Keep the pooled {what} as axes of size 1 instead of removing them. Leave off to get "
        "one number per channel, ready for Dense layers.",
    )


class GlobalPooling(LayerSpec):
    """Base of the global poolings; subclasses set the kind and ``mode``."""

    category = "Pooling"
    mode: ClassVar[Literal["max", "average"]] = "average"

    def keras_config(self, params: Mapping[str, Any], ctx: KerasContext) -> dict[str, Any]:
        return {"data_format": "channels_last", "keepdims": params["keepdims"]}

    def keras_problems(self, config: Mapping[str, Any]) -> list[str]:
        return channels_first_problems(self.kind, config)


class GlobalPooling1D(GlobalPooling):
    """Pools all the steps of a sequence ``(steps, channels)``."""

    image_kind: ClassVar[str] = ""
    params = (keepdims_param("steps"),)
    input_ranks = (2,)

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        (shape,) = inputs
        expect_rank(self.kind, shape, (2,), SEQUENCE, sequence_hint(self.kind, self.image_kind))
        return (1, shape[1]) if params["keepdims"] else (shape[1],)

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        return GlobalPool(self.mode, (1,), params["keepdims"])


class GlobalPooling2D(GlobalPooling):
    """Pools the whole height and width of an image ``(channels, height, width)``."""

    sequence_kind: ClassVar[str] = ""
    params = (keepdims_param("height and width"),)
    input_ranks = (3,)

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        (shape,) = inputs
        expect_rank(self.kind, shape, (3,), IMAGE, image_hint(self.kind, self.sequence_kind))
        # Keras keeps (1, 1, channels); channels come first in the studio's layout.
        return (shape[0], 1, 1) if params["keepdims"] else (shape[0],)

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        return GlobalPool(self.mode, (2, 3), params["keepdims"])


@register
class GlobalAveragePooling1D(GlobalPooling1D):
    kind = "GlobalAveragePooling1D"
    help = "Averages each channel over the whole sequence, giving one number per channel."
    keras_class = "GlobalAveragePooling1D"
    mode = "average"
    image_kind = "GlobalAveragePooling2D"


@register
class GlobalMaxPooling1D(GlobalPooling1D):
    kind = "GlobalMaxPooling1D"
    help = "Keeps the largest value of each channel over the whole sequence."
    keras_class = "GlobalMaxPooling1D"
    mode = "max"
    image_kind = "GlobalMaxPooling2D"


@register
class GlobalAveragePooling2D(GlobalPooling2D):
    kind = "GlobalAveragePooling2D"
    help = (
        "Averages each channel over the whole image, giving one number per channel: a common "
        "replacement for Flatten before the last Dense layers."
    )
    keras_class = "GlobalAveragePooling2D"
    mode = "average"
    sequence_kind = "GlobalAveragePooling1D"


@register
class GlobalMaxPooling2D(GlobalPooling2D):
    kind = "GlobalMaxPooling2D"
    help = "Keeps the largest value of each channel over the whole image."
    keras_class = "GlobalMaxPooling2D"
    mode = "max"
    sequence_kind = "GlobalMaxPooling1D"
