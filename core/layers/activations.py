"""Activation functions by their Keras names, with Keras's constants and axes."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from core.layers.spec import Finding


class Softmax(nn.Module):
    """Softmax over the features: the last axis of flat or sequence data, the channels of images.

    Keras normalises over its last axis, which for channels-last images is the channel axis;
    in our channels-first layout that is axis 1 once the batch axis is counted.
    """

    def __init__(self, rank: int) -> None:
        super().__init__()
        self.dim = 1 if rank >= 3 else -1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.softmax(dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


def make_activation(name: str, rank: int) -> nn.Module:
    """A module computing Keras's activation ``name`` on inputs of ``rank`` axes (batch excluded).

    Args:
        name: One of :data:`core.layers.params.ACTIVATIONS`.
        rank: The rank of the tensors it will see, which decides softmax's axis.
    """
    if name == "softmax":
        return Softmax(rank)
    simple: dict[str, type[nn.Module]] = {
        "linear": nn.Identity,
        "relu": nn.ReLU,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "gelu": nn.GELU,  # exact erf form: Keras's "gelu" string means approximate=False
        "elu": nn.ELU,
        "selu": nn.SELU,
        "softplus": nn.Softplus,
        "swish": nn.SiLU,
    }
    if name in simple:
        return simple[name]()
    if name == "leaky_relu":
        return nn.LeakyReLU(negative_slope=0.2)  # Keras's default slope, not torch's 0.01
    raise ValueError(f"unknown activation {name!r}")


def feature_count(shape: Sequence[int]) -> int:
    """How many values softmax normalises over for an output of this shape."""
    return shape[0] if len(shape) >= 3 else shape[-1]


def softmax_findings(activation: str, shape: Sequence[int], kind: str) -> list[Finding]:
    """Warn about a softmax over a single value, which always outputs 1."""
    if activation != "softmax" or not shape or feature_count(shape) != 1:
        return []
    return [
        Finding(
            "warning",
            f"softmax over a single value always gives 1, so this {kind} cannot learn anything.",
            "For a yes/no output use the sigmoid activation; for several classes give it one "
            "unit per class.",
        )
    ]
