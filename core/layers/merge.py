"""Layers that join several inputs into one: Add, Concatenate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from core.layers.params import Param, num_inputs_param
from core.layers.spec import KerasContext, LayerSpec, Shape, ShapeError, format_shape, register


def _listing(shapes: Sequence[Shape]) -> str:
    parts = [format_shape(s) for s in shapes]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


class MergeSpec(LayerSpec):
    """Base of the merges: a ``num_inputs`` param sets how many input ports there are."""

    category = "Merge"

    def num_inputs(self, params: Mapping[str, Any]) -> int:
        return int(params["num_inputs"])


class AddModule(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        result = xs[0]
        for x in xs[1:]:
            result = result + x
        return result


class ConcatModule(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


@register
class Add(MergeSpec):
    kind = "Add"
    help = "Adds its inputs value by value, as in a residual (skip) connection. Shapes must match."
    params = (num_inputs_param(),)
    keras_class = "Add"

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        if any(s != inputs[0] for s in inputs):
            raise ShapeError(
                f"Add needs inputs of the same shape but gets {_listing(inputs)}.",
                "Make the layers that feed it produce the same shape (for example the same "
                "number of filters or units), or use Concatenate to put them side by side.",
            )
        return inputs[0]

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        return AddModule()


def torch_axis(axis: int, rank: int) -> int:
    """The per-sample channels-first axis for Keras's ``axis`` (batch is Keras's axis 0).

    Keras counts axes of channels-last tensors; for images (rank 3 and up) its last axis is our
    channel axis 0, and its spatial axes are ours shifted by one.
    """
    index = axis - 1 if axis > 0 else rank + axis  # channels-last per-sample index
    if rank >= 3:
        return 0 if index == rank - 1 else index + 1
    return index


@register
class Concatenate(MergeSpec):
    kind = "Concatenate"
    help = (
        "Joins its inputs side by side along one axis (by default the features or channels), "
        "so the result has all of their values."
    )
    params = (
        num_inputs_param(),
        Param(
            "axis",
            "int",
            -1,
            "The axis to join along, counted as in Keras: -1 is the features of flat data and "
            "the channels of images.",
            minimum=-4,
            maximum=4,
        ),
    )
    keras_class = "Concatenate"

    def params_problems(self, params: Mapping[str, Any]) -> list[str]:
        if params["axis"] == 0:
            return ["axis 0 is the batch; samples cannot be joined. Use -1 for the features."]
        return []

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        rank = len(inputs[0])
        if any(len(s) != rank for s in inputs):
            raise ShapeError(
                f"Concatenate needs inputs with the same number of axes but gets "
                f"{_listing(inputs)}.",
                "Flatten the inputs first, or reshape them to match.",
            )
        axis = params["axis"]
        if not (-rank <= axis <= rank) or axis == 0:
            raise ShapeError(
                f"Concatenate's axis {axis} does not exist for inputs of shape "
                f"{format_shape(inputs[0])}.",
                "Use axis -1 to join along the features or channels.",
            )
        dim = torch_axis(axis, rank)
        for s in inputs:
            if any(a != b for i, (a, b) in enumerate(zip(s, inputs[0], strict=True)) if i != dim):
                raise ShapeError(
                    f"Concatenate can only join inputs that match except along the joining axis, "
                    f"but gets {_listing(inputs)}.",
                    "Make the other sizes equal (for example with pooling or padding), or "
                    "Flatten each input first.",
                )
        out = list(inputs[0])
        out[dim] = sum(s[dim] for s in inputs)
        return tuple(out)

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        return ConcatModule(1 + torch_axis(params["axis"], len(inputs[0])))

    def keras_config(self, params: Mapping[str, Any], ctx: KerasContext) -> dict[str, Any]:
        return {"axis": params["axis"]}
