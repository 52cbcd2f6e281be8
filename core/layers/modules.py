"""Small ``torch.nn.Module`` classes that the specs build, and Keras-style initialisation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import nn


def keras_init_(layer: nn.Module) -> nn.Module:
    """Initialise a Linear or Conv layer as Keras does: Glorot-uniform kernel, zero bias."""
    weight = getattr(layer, "weight", None)
    if isinstance(weight, torch.Tensor):
        nn.init.xavier_uniform_(weight)
    bias = getattr(layer, "bias", None)
    if isinstance(bias, torch.Tensor):
        nn.init.zeros_(bias)
    return layer


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """Keras's ``padding='same'``: total padding split with the extra at the end (bottom/right)."""
    span = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def conv_output_size(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    """Output length of a convolution or pooling along one axis, as Keras computes it."""
    if padding == "same":
        return -(-size // stride)
    span = (kernel - 1) * dilation + 1
    return (size - span) // stride + 1


class Pad(nn.Module):
    """Constant padding given per spatial axis as ``(before, after)`` pairs, first axis first."""

    def __init__(self, pads: Sequence[tuple[int, int]], value: float = 0.0) -> None:
        super().__init__()
        flat: list[int] = []
        for before, after in reversed(list(pads)):  # F.pad starts from the last axis
            flat += [before, after]
        self.pad = tuple(flat)
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pad, value=self.value)

    def extra_repr(self) -> str:
        return f"pad={self.pad}, value={self.value}"


LayerT = TypeVar("LayerT", bound=nn.Module)


class Activated(nn.Module):
    """A layer followed by its activation, with optional Keras-style asymmetric padding first."""

    def __init__(self, layer: nn.Module, activation: nn.Module, pad: nn.Module | None = None):
        super().__init__()
        self.pad: nn.Module = pad if pad is not None else nn.Identity()
        self.layer: nn.Module = layer
        self.activation: nn.Module = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.activation(self.layer(self.pad(x)))
        return result


def inner_layer(module: nn.Module, cls: type[LayerT]) -> LayerT:
    """The ``cls`` layer inside an :class:`Activated` module built by a spec."""
    layer = module.layer if isinstance(module, Activated) else None
    if not isinstance(layer, cls):
        raise ValueError(f"expected a module built by the spec, holding a {cls.__name__}")
    return layer
