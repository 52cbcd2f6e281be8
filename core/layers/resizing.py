"""Layers that change an image's height and width: UpSampling2D, ZeroPadding2D, Cropping2D.

ZeroPadding2D's ``padding`` and Cropping2D's ``cropping`` are four whole numbers in the order
``(top, bottom, left, right)``. They also accept every form Keras does (one number for all
sides, a ``(height, width)`` pair, or ``((top, bottom), (left, right))``), and convert to
Keras's ``((top, bottom), (left, right))`` config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from core.layers.conv import pair_param
from core.layers.modules import Pad
from core.layers.params import Param, ParamError
from core.layers.pooling import IMAGE, channels_first_problems, image_hint
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


class SidesParam(Param):
    """Four whole numbers ``(top, bottom, left, right)`` that also take Keras's shorter forms."""

    def validate(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)) and len(value) == 2:
            # Keras's (height, width), each a number for both sides or a (before, after) pair.
            flat: list[Any] = []
            for item in value:
                if isinstance(item, (list, tuple)):
                    if len(item) != 2:
                        raise ParamError(self._forms(f"{list(item)!r} is not a pair"))
                    flat += item
                else:
                    flat += [item, item]
            value = flat
        elif isinstance(value, (list, tuple)) and len(value) not in (1, 4):
            raise ParamError(self._forms(f"{len(value)} numbers do not fit"))
        return super().validate(value)

    def _forms(self, problem: str) -> str:
        return (
            f"{self.name} takes four whole numbers (top, bottom, left, right), one for all sides, "
            f"or a (height, width) pair; {problem}."
        )


def sides_param(name: str, default: int, help_text: str) -> SidesParam:
    """A ``(top, bottom, left, right)`` param, such as ZeroPadding2D's ``padding``."""
    return SidesParam(name, "ints", (default,) * 4, help_text, minimum=0, maximum=4096, length=4)


def keras_sides(sides: Sequence[int]) -> list[list[int]]:
    """``(top, bottom, left, right)`` as Keras's ``[[top, bottom], [left, right]]``."""
    top, bottom, left, right = sides
    return [[top, bottom], [left, right]]


class Upsample(nn.Module):
    """Keras's UpSampling2D: repeated rows and columns, or bilinear with half-pixel centres."""

    def __init__(self, size: tuple[int, int], interpolation: str) -> None:
        super().__init__()
        self.size = size
        self.interpolation = interpolation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fh, fw = self.size
        if self.interpolation == "nearest":
            return x.repeat_interleave(fh, dim=2).repeat_interleave(fw, dim=3)
        out = (x.shape[2] * fh, x.shape[3] * fw)
        return F.interpolate(x, size=out, mode="bilinear", align_corners=False)

    def extra_repr(self) -> str:
        return f"size={self.size}, interpolation={self.interpolation!r}"


class Crop(nn.Module):
    """Removes ``(top, bottom, left, right)`` rows and columns from the border of an image."""

    def __init__(self, sides: Sequence[int]) -> None:
        super().__init__()
        self.sides = tuple(sides)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom, left, right = self.sides
        return x[:, :, top : x.shape[2] - bottom, left : x.shape[3] - right]

    def extra_repr(self) -> str:
        return f"top, bottom, left, right={self.sides}"


class ImageResizing(LayerSpec):
    """Base of the layers here: images in, images out, Keras's channels-last config."""

    category = "Reshaping"
    input_ranks = (3,)

    def _image(self, inputs: Sequence[Shape]) -> Shape:
        (shape,) = inputs
        expect_rank(self.kind, shape, (3,), IMAGE, image_hint(self.kind))
        return shape

    def keras_config(self, params: Mapping[str, Any], ctx: KerasContext) -> dict[str, Any]:
        return {**super().keras_config(params, ctx), "data_format": "channels_last"}

    def keras_problems(self, config: Mapping[str, Any]) -> list[str]:
        return channels_first_problems(self.kind, config)

    def _does_nothing(self, what: str, hint: str) -> list[Finding]:
        return [Finding("info", f"{self.kind} does nothing here: {what}.", hint)]


@register
class UpSampling2D(ImageResizing):
    kind = "UpSampling2D"
    help = (
        "Enlarges an image by a whole factor, such as 2×2, by repeating or blending pixels; "
        "used in decoders and segmentation models."
    )
    params = (
        pair_param("size", 2, "How many times taller and wider the image becomes, such as 2×2."),
        Param(
            "interpolation",
            "choice",
            "nearest",
            "nearest repeats each pixel; bilinear blends neighbouring pixels for a smoother "
            "result.",
            choices=("nearest", "bilinear"),
        ),
    )
    keras_class = "UpSampling2D"

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        c, h, w = self._image(inputs)
        fh, fw = params["size"]
        return (c, h * fh, w * fw)

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        if tuple(params["size"]) != (1, 1):
            return []
        return self._does_nothing(
            "a size of 1×1 keeps the image as it is", "Set size to 2 to double it, or delete it."
        )

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        return Upsample(params["size"], params["interpolation"])

    def keras_problems(self, config: Mapping[str, Any]) -> list[str]:
        problems = super().keras_problems(config)
        interpolation = config.get("interpolation", "nearest")
        if interpolation not in self.param("interpolation").choices:
            problems.append(
                f"UpSampling2D's interpolation {interpolation!r} is not available in the "
                "studio; only nearest and bilinear are, because other methods give different "
                "numbers in TensorFlow and PyTorch."
            )
        return problems


@register
class ZeroPadding2D(ImageResizing):
    kind = "ZeroPadding2D"
    help = "Adds a border of zeros around an image, making it taller and wider."
    params = (
        sides_param(
            "padding",
            1,
            "How many rows and columns of zeros to add: top, bottom, left, right.",
        ),
    )
    keras_class = "ZeroPadding2D"

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        c, h, w = self._image(inputs)
        top, bottom, left, right = params["padding"]
        return (c, h + top + bottom, w + left + right)

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        if any(params["padding"]):
            return []
        return self._does_nothing(
            "a padding of 0 on every side adds no border", "Set padding to 1, or delete it."
        )

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        top, bottom, left, right = params["padding"]
        return Pad([(top, bottom), (left, right)])

    def keras_config(self, params: Mapping[str, Any], ctx: KerasContext) -> dict[str, Any]:
        return {"padding": keras_sides(params["padding"]), "data_format": "channels_last"}


@register
class Cropping2D(ImageResizing):
    kind = "Cropping2D"
    help = "Cuts rows and columns off the border of an image, making it smaller."
    params = (
        sides_param(
            "cropping",
            0,
            "How many rows and columns to cut off: top, bottom, left, right.",
        ),
    )
    keras_class = "Cropping2D"

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        shape = self._image(inputs)
        c, h, w = shape
        top, bottom, left, right = params["cropping"]
        for cut, size, first, second, what in (
            (top + bottom, h, "top", "bottom", "rows"),
            (left + right, w, "left", "right", "columns"),
        ):
            if cut >= size:
                raise ShapeError(
                    f"Cropping2D cuts off {cut} {what} ({first} and {second} together) but its "
                    f"input ({format_shape(shape)}) has only {size}, so nothing would be left.",
                    f"Crop fewer {what}: {first} plus {second} must stay below {size}.",
                )
        return (c, h - top - bottom, w - left - right)

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        if any(params["cropping"]):
            return []
        return self._does_nothing(
            "a cropping of 0 on every side cuts nothing off",
            "Set how many rows and columns to cut, or delete it.",
        )

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        return Crop(params["cropping"])

    def keras_config(self, params: Mapping[str, Any], ctx: KerasContext) -> dict[str, Any]:
        return {"cropping": keras_sides(params["cropping"]), "data_format": "channels_last"}
