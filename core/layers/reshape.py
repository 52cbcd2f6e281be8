"""Layers that change the arrangement of values, not the values: Flatten, Reshape, Permute,
RepeatVector.

Each orders values exactly as Keras does. Keras keeps images channels-last; the studio keeps
them channels-first, so these modules look at a tensor of three or more axes (batch excluded)
in Keras's layout, do what Keras does, and give the result back in the studio's layout.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from core.layers._keras_layout import from_keras_layout, keras_shape, studio_shape, to_keras_layout
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


def no_op_finding(kind: str, inputs: Sequence[Shape], outputs: Sequence[Shape]) -> list[Finding]:
    """An info finding when a rearranging layer leaves its input exactly as it is."""
    if tuple(inputs[0]) != tuple(outputs[0]):
        return []
    return [
        Finding(
            "info",
            f"{kind} does nothing here: its output {format_shape(outputs[0])} is its input.",
            "You can delete it.",
        )
    ]


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


# -- Reshape ---------------------------------------------------------------------------------


class KerasOrderReshape(nn.Module):
    """Keras's reshape, on and to the studio's layout.

    Args:
        target: The resolved target shape in Keras's layout (no -1, batch excluded).
    """

    def __init__(self, target: Shape) -> None:
        super().__init__()
        self.target = tuple(target)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = to_keras_layout(x).reshape(x.shape[0], *self.target)
        return from_keras_layout(y)

    def extra_repr(self) -> str:
        return f"target={self.target} (Keras order)"


def as_tuple_text(sizes: Sequence[int]) -> str:
    """``(7, 7, 64)``, or ``(3,)`` for one size: a target shape as the user types it."""
    return "(" + ", ".join(str(s) for s in sizes) + ("," if len(sizes) == 1 else "") + ")"


def suggest_target(target: Sequence[int], total: int) -> tuple[int, ...]:
    """A target shape close to ``target`` whose sizes fit ``total`` values.

    One size is changed (the last one that can be); a -1 is kept where it is.
    """
    free = target.index(-1) if -1 in target else None
    for i in reversed(range(len(target))):
        if i == free:
            continue
        rest = math.prod(v for j, v in enumerate(target) if j not in (i, free))
        if total % rest:
            continue
        need = total // rest
        if free is None:
            return (*target[:i], need, *target[i + 1 :])
        size = max(d for d in range(1, min(target[i], need) + 1) if need % d == 0)
        return (*target[:i], size, *target[i + 1 :])
    return (-1,)


@register
class Reshape(LayerSpec):
    kind = "Reshape"
    category = "Reshaping"
    help = (
        "Rearranges the values into a new shape, in Keras's order, without changing them; "
        "for example 3136 numbers into a 7×7 image with 64 channels."
    )
    params = (
        Param(
            "target_shape",
            "shape",
            (1, -1),
            "The new shape, as in Keras: for an image give height, width, channels, such as "
            "(7, 7, 64), which the canvas shows channels first as 64×7×7. The sizes must "
            "multiply to the number of input values; one size may be -1 to have it worked out "
            "(the default (1, -1) makes one row of all the values).",
            minimum=-1,
        ),
    )
    keras_class = "Reshape"

    def params_problems(self, params: Mapping[str, Any]) -> list[str]:
        target = params["target_shape"]
        problems = []
        if 0 in target:
            problems.append(
                f"target_shape {as_tuple_text(target)} has a size of 0; every size must be at "
                "least 1, or -1 for the one size worked out from the input."
            )
        if target.count(-1) > 1:
            problems.append(
                f"target_shape {as_tuple_text(target)} has {target.count(-1)} sizes of -1, but "
                "only one size can be worked out from the input; give the others as numbers."
            )
        return problems

    def resolved(self, shape: Shape, target: Sequence[int]) -> Shape:
        """The target with its -1 worked out (Keras's layout), or a friendly ShapeError."""
        for problem in self.params_problems({"target_shape": target}):
            raise ShapeError(problem, "Change target_shape.")
        total = math.prod(shape)
        known = math.prod(v for v in target if v != -1)
        values = f"the {total} values of its input {format_shape(shape)}"
        suggestion = as_tuple_text(suggest_target(target, total))
        if -1 in target:
            if total % known:
                raise ShapeError(
                    f"Reshape cannot arrange {values} as {as_tuple_text(target)}: the sizes "
                    f"other than -1 multiply to {known}, which does not divide {total}.",
                    f"Change target_shape so that its other sizes multiply to a divisor of "
                    f"{total}, for example {suggestion}.",
                )
            return tuple(total // known if v == -1 else v for v in target)
        if known != total:
            raise ShapeError(
                f"Reshape cannot arrange {values} as {as_tuple_text(target)}, which holds "
                f"{known} values.",
                f"Change target_shape so that its sizes multiply to {total}, for example "
                f"{suggestion}, or write -1 for one size to have it worked out.",
            )
        return tuple(target)

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        return studio_shape(self.resolved(inputs[0], params["target_shape"]))

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        return no_op_finding(self.kind, inputs, outputs)

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        return KerasOrderReshape(self.resolved(inputs[0], params["target_shape"]))


# -- Permute ---------------------------------------------------------------------------------


class PermuteModule(nn.Module):
    """Reorders the axes after the batch axis: output axis ``i`` is input axis ``order[i]``."""

    def __init__(self, order: Sequence[int]) -> None:
        super().__init__()
        self.order = tuple(order)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, *(1 + i for i in self.order))

    def extra_repr(self) -> str:
        return f"order={self.order} (studio layout, batch excluded)"


def example_permutation(count: int) -> str:
    """A valid ``dims`` for ``count`` axes that changes something when it can: (2, 1, 3)."""
    dims = list(range(1, count + 1))
    if count >= 2:
        dims[0], dims[1] = 2, 1
    return as_tuple_text(dims)


def studio_order(dims: Sequence[int]) -> tuple[int, ...]:
    """Keras's 1-indexed ``dims`` as a 0-indexed permutation of the studio's per-sample axes.

    Studio axis ``i`` of the output is Keras axis ``from_keras[i]`` of Keras's output, which is
    Keras axis ``dims[...] - 1`` of Keras's input, which is studio axis ``to_keras[...]``.
    """
    rank = len(dims)
    to_keras = keras_shape(tuple(range(rank)))  # Keras axis j holds studio axis to_keras[j]
    from_keras = studio_shape(tuple(range(rank)))  # studio axis i holds Keras axis from_keras[i]
    return tuple(to_keras[dims[from_keras[i]] - 1] for i in range(rank))


def dims_fault(dims: Sequence[int], rank: int) -> str:
    """What is wrong with ``dims`` as a reordering of ``rank`` axes, as a phrase."""
    faults = []
    repeated = sorted({d for d in dims if dims.count(d) > 1})
    if repeated:
        faults.append("repeats " + ", ".join(map(str, repeated)))
    beyond = sorted({d for d in dims if d > rank})
    if beyond:
        faults.append(f"names {', '.join(map(str, beyond))} although there are {rank} axes")
    missing = [d for d in range(1, rank + 1) if d not in dims]
    if missing:
        faults.append("leaves out " + ", ".join(map(str, missing)))
    return faults[0] if len(faults) == 1 else ", ".join(faults[:-1]) + " and " + faults[-1]


@register
class Permute(LayerSpec):
    kind = "Permute"
    category = "Reshaping"
    help = (
        "Swaps the axes of its input, for example the steps and features of a sequence, "
        "without changing any value."
    )
    params = (
        Param(
            "dims",
            "shape",
            (2, 1),
            "The new order of the input's axes, counted from 1 as in Keras, each axis once: "
            "(2, 1) swaps the steps and features of a sequence. Keras sees an image as height, "
            "width, channels, so (2, 1, 3) swaps its height and width.",
            minimum=1,
            maximum=4,
        ),
    )
    keras_class = "Permute"

    def params_problems(self, params: Mapping[str, Any]) -> list[str]:
        dims = params["dims"]
        count = len(dims)
        if sorted(dims) == list(range(1, count + 1)):
            return []
        return [
            f"dims must list each axis from 1 to {count} exactly once, in the new order, such "
            f"as {example_permutation(count)}; {as_tuple_text(dims)} {dims_fault(dims, count)}."
        ]

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        (shape,) = inputs
        dims, rank = params["dims"], len(shape)
        for problem in self.params_problems(params):
            raise ShapeError(problem, "Change dims.")
        if len(dims) != rank:
            raise ShapeError(
                f"Permute's dims {as_tuple_text(dims)} reorder {len(dims)} "
                f"{'axis' if len(dims) == 1 else 'axes'}, but its input {format_shape(shape)} "
                f"has {rank}.",
                f"Give one number per input axis, each of 1 to {rank} once, such as "
                f"{example_permutation(rank)}.",
            )
        return tuple(shape[i] for i in studio_order(dims))

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        if list(params["dims"]) == sorted(params["dims"]):
            return [
                Finding(
                    "info",
                    f"Permute does nothing here: dims {as_tuple_text(params['dims'])} keeps "
                    "every axis where it is.",
                    "You can delete it, or give the axes in a new order such as "
                    f"{example_permutation(len(params['dims']))}.",
                )
            ]
        return []

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        return PermuteModule(studio_order(params["dims"]))


# -- RepeatVector ----------------------------------------------------------------------------


class RepeatModule(nn.Module):
    """``(batch, features)`` to ``(batch, n, features)`` by repeating each sample ``n`` times."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1).expand(-1, self.n, -1).contiguous()

    def extra_repr(self) -> str:
        return f"n={self.n}"


@register
class RepeatVector(LayerSpec):
    kind = "RepeatVector"
    category = "Reshaping"
    help = (
        "Repeats a flat input n times to make a sequence of n steps, for example to feed a "
        "recurrent decoder."
    )
    params = (
        Param(
            "n",
            "int",
            3,
            "How many times to repeat the input: the number of steps of the output sequence.",
            minimum=1,
            maximum=1_000_000,
        ),
    )
    input_ranks = (1,)
    keras_class = "RepeatVector"

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        (shape,) = inputs
        expect_rank(
            self.kind,
            shape,
            (1,),
            "a flat input (features)",
            "Add a Flatten layer before it, or end the sequence with a recurrent layer that "
            "returns only its last output.",
        )
        return (params["n"], shape[0])

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        return RepeatModule(params["n"])
