"""Layers that join several inputs into one: Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate (Dot, which also merges two inputs, is in ``dot.py``).

The value-by-value merges follow Keras 3: their inputs must have the same shape, except that an
input may have size 1 where the others do not, or fewer axes; its values are then repeated to
fit (broadcasting). Keras lines shapes up from their last axis, in its channels-last layout, so
a flat input of 8 values meets the 8 channels of an image.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from core.layers._keras_layout import (
    from_keras_layout,
    keras_shape,
    studio_shape,
    to_keras_layout,
    torch_axis,
)
from core.layers.params import Param, num_inputs_param
from core.layers.spec import (
    Finding,
    KerasContext,
    LayerSpec,
    Shape,
    ShapeError,
    format_shape,
    register,
)


def _listing(shapes: Sequence[Shape]) -> str:
    parts = [format_shape(s) for s in shapes]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


class MergeSpec(LayerSpec):
    """Base of the merges: a ``num_inputs`` param sets how many input ports there are."""

    category = "Merge"

    def num_inputs(self, params: Mapping[str, Any]) -> int:
        return int(params["num_inputs"])


# -- value-by-value merges -------------------------------------------------------------------

Binary = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: Keras's binary operation of each value-by-value merge, applied left to right.
OPERATIONS: dict[str, Binary] = {
    "add": operator.add,
    "subtract": operator.sub,
    "multiply": operator.mul,
    "average": operator.add,  # then divided by the number of inputs, as Keras does
    "maximum": torch.maximum,
    "minimum": torch.minimum,
}


class ElementwiseModule(nn.Module):
    """Combines its inputs value by value, broadcasting as Keras 3 does.

    Inputs of one rank broadcast in place: a size-1 axis is one in either layout. Inputs of
    different ranks move to Keras's layout, get axes added after the batch axis until their
    ranks match (as Keras's ``Merge`` does), and the result moves back.

    Args:
        operation: A key of :data:`OPERATIONS`.
        ranks: The rank of each input (batch excluded).
    """

    def __init__(self, operation: str, ranks: Sequence[int]) -> None:
        super().__init__()
        self.operation = operation
        self.ranks = tuple(ranks)
        self.top = max(self.ranks)
        self.mixed = any(r != self.top for r in self.ranks)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        if self.mixed:
            xs = tuple(self._keras_view(x, r) for x, r in zip(xs, self.ranks, strict=True))
        op = OPERATIONS[self.operation]
        result = xs[0]
        for x in xs[1:]:
            result = op(result, x)
        if self.operation == "average":
            result = result / len(xs)
        return from_keras_layout(result) if self.mixed else result

    def _keras_view(self, x: torch.Tensor, rank: int) -> torch.Tensor:
        x = to_keras_layout(x)
        for _ in range(self.top - rank):
            x = x.unsqueeze(1)
        return x

    def extra_repr(self) -> str:
        return f"{self.operation}, input ranks={self.ranks}"


def broadcast_shape(kind: str, inputs: Sequence[Shape], hint: str) -> Shape:
    """The output shape of a value-by-value merge by Keras's rules, or a friendly ShapeError."""
    result: list[int] = []
    for shape in (keras_shape(s) for s in inputs):
        result = [1] * (len(shape) - len(result)) + result
        offset = len(result) - len(shape)
        for i, size in enumerate(shape):
            mine = result[offset + i]
            if mine != size and 1 not in (mine, size):
                raise ShapeError(
                    f"{kind} needs inputs of the same shape but gets {_listing(inputs)}.", hint
                )
            result[offset + i] = max(mine, size)
    return studio_shape(tuple(result))


SAME_SHAPE_HINT = (
    "Make the layers that feed it produce the same shape (for example the same number of units "
    "or filters). An input may also have size 1 where the others do not, or fewer axes (a flat "
    "input meets the channels of an image): its values are then repeated to fit."
)


class ElementwiseMerge(MergeSpec):
    """A merge that combines its inputs value by value, with Keras 3's broadcasting."""

    params: ClassVar[tuple[Param, ...]] = (num_inputs_param(),)
    shape_hint = SAME_SHAPE_HINT

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        return broadcast_shape(self.kind, inputs, self.shape_hint)

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        out = tuple(outputs[0])
        repeated = [(port, s) for port, s in enumerate(inputs, 1) if tuple(s) != out]
        if not repeated:
            return []
        ports = " and ".join(str(port) for port, _ in repeated)
        shapes = (
            _listing([s for _, s in repeated])
            if len(repeated) > 1
            else format_shape(repeated[0][1])
        )
        return [
            Finding(
                "info",
                f"{self.kind} repeats the values of input{'s' if len(repeated) > 1 else ''} "
                f"{ports} ({shapes}) to fit its "
                f"{format_shape(out)} result, as Keras does.",
                "If the shapes were meant to be equal, check the layers that feed it.",
            )
        ]

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        return ElementwiseModule(self.kind.lower(), [len(s) for s in inputs])


@register
class Add(ElementwiseMerge):
    kind = "Add"
    help = "Adds its inputs value by value, as in a residual (skip) connection. Shapes must match."
    keras_class = "Add"
    shape_hint = (
        "Make the layers that feed it produce the same shape (for example the same number of "
        "filters or units), or use Concatenate to put them side by side."
    )


@register
class Subtract(ElementwiseMerge):
    kind = "Subtract"
    help = "Subtracts its second input from its first, value by value. Shapes must match."
    params = ()
    keras_class = "Subtract"

    def num_inputs(self, params: Mapping[str, Any]) -> int:
        return 2


@register
class Multiply(ElementwiseMerge):
    kind = "Multiply"
    help = (
        "Multiplies its inputs value by value, for example to weigh features by learnt "
        "importances (attention, gating). Shapes must match."
    )
    keras_class = "Multiply"


@register
class Average(ElementwiseMerge):
    kind = "Average"
    help = "Averages its inputs value by value, for example to combine models. Shapes must match."
    keras_class = "Average"


@register
class Maximum(ElementwiseMerge):
    kind = "Maximum"
    help = "Keeps the largest of its inputs at each position. Shapes must match."
    keras_class = "Maximum"


@register
class Minimum(ElementwiseMerge):
    kind = "Minimum"
    help = "Keeps the smallest of its inputs at each position. Shapes must match."
    keras_class = "Minimum"


# -- Concatenate ----------------------------------------------------------------------------


class ConcatModule(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


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
