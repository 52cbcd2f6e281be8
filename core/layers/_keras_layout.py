"""Moving shapes and tensors between the studio's layout and Keras's.

The studio keeps every tensor in Keras's element order except that a tensor of three or more
axes (batch excluded) has its channel axis first instead of last. Layers whose meaning depends
on the order of axes (Reshape, Permute, merges of different ranks, Dot) are easiest to get
exactly right by doing what Keras does on a Keras-layout view and converting back.
"""

from __future__ import annotations

import torch

from core.layers.spec import Shape


def keras_shape(shape: Shape) -> Shape:
    """The Keras (channels-last) form of a per-sample shape in the studio's layout."""
    return (*shape[1:], shape[0]) if len(shape) >= 3 else tuple(shape)


def studio_shape(shape: Shape) -> Shape:
    """The studio (channels-first) form of a per-sample shape in Keras's layout."""
    return (shape[-1], *shape[:-1]) if len(shape) >= 3 else tuple(shape)


def torch_axis(axis: int, rank: int) -> int:
    """Our per-sample (channels-first) index of Keras's existing ``axis`` (the batch is its 0).

    Keras counts axes of channels-last tensors; for images (rank 3 and up) its last axis is our
    channel axis 0, and its spatial axes are ours shifted by one.
    """
    index = axis - 1 if axis > 0 else rank + axis  # channels-last per-sample index
    if rank >= 3:
        return 0 if index == rank - 1 else index + 1
    return index


def to_keras_layout(x: torch.Tensor) -> torch.Tensor:
    """A batch in Keras's layout: the channel axis of a tensor of 3+ axes (batch excluded) last."""
    return x.movedim(1, -1) if x.dim() >= 4 else x


def from_keras_layout(x: torch.Tensor) -> torch.Tensor:
    """A batch in the studio's layout, from Keras's: the inverse of :func:`to_keras_layout`."""
    return x.movedim(-1, 1) if x.dim() >= 4 else x
