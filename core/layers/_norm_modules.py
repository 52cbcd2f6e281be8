"""The ``torch.nn.Module`` classes behind the normalisation and noise layers of ``norm.py``.

They compute exactly what Keras computes, in the studio's layout (channels first for images):

* :class:`KerasBatchNorm` updates its running statistics the Keras way, with the *biased* batch
  variance (``torch.nn.BatchNorm*d`` uses the unbiased one), and normalises along any one axis;
* :class:`KerasLayerNorm` normalises along one axis, the channel axis of images included;
* :class:`GaussianNoiseModule` and :class:`SpatialDropoutModule` are random while training only,
  and reproducible when given a seed, like Keras's layers.
"""

# No ``from __future__ import annotations`` here: TorchScript cannot resolve the string
# annotations of a ``@torch.jit.unused`` method, and these modules must stay scriptable.
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn


def _optional_parameter(module: nn.Module, name: str, value: float, size: int, on: bool) -> None:
    """Register parameter ``name`` filled with ``value``, or None when ``on`` is false."""
    module.register_parameter(name, nn.Parameter(torch.full((size,), value)) if on else None)


def _along(v: torch.Tensor, dim: int, ndim: int) -> torch.Tensor:
    """A per-feature vector shaped to broadcast along axis ``dim`` of an ``ndim``-axis tensor."""
    shape = [1] * ndim
    shape[dim] = -1
    return v.reshape(shape)


class KerasBatchNorm(nn.Module):
    """Batch normalisation as Keras computes it, along any one axis.

    Training normalises with the batch's mean and biased variance and moves the running
    statistics towards them: ``running = running * (1 - momentum) + batch * momentum``, where
    ``momentum`` is torch's (``1 - `` Keras's ``momentum``). Unlike ``torch.nn.BatchNorm2d`` the
    variance used for ``running_var`` is the biased one, as in Keras, so the running statistics
    after training equal Keras's ``moving_mean`` and ``moving_variance``. Inference normalises
    with the running statistics. A batch with a single value per feature works (its variance is 0).

    Attributes:
        weight: Keras's ``gamma`` (None when ``scale`` is off).
        bias: Keras's ``beta`` (None when ``center`` is off).
        running_mean: Keras's ``moving_mean``.
        running_var: Keras's ``moving_variance``.
        dim: The axis of the features, counting the batch axis as 0.
        momentum: The weight of a new batch in the running statistics (torch's meaning).
        eps: Added to the variance before the square root.
    """

    if TYPE_CHECKING:  # TorchScript reads class annotations and cannot parse these
        weight: torch.Tensor | None
        bias: torch.Tensor | None
        running_mean: torch.Tensor
        running_var: torch.Tensor

    def __init__(
        self,
        num_features: int,
        dim: int,
        keras_momentum: float = 0.99,
        eps: float = 1e-3,
        center: bool = True,
        scale: bool = True,
    ) -> None:
        super().__init__()
        self.dim = dim
        self.momentum = 1.0 - keras_momentum
        self.eps = eps
        _optional_parameter(self, "weight", 1.0, num_features, scale)
        _optional_parameter(self, "bias", 0.0, num_features, center)
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            others: list[int] = []
            for d in range(x.dim()):
                if d != self.dim:
                    others.append(d)
            var, mean = torch.var_mean(x, dim=others, correction=0)
            with torch.no_grad():
                keep, new = 1.0 - self.momentum, self.momentum
                self.running_mean.copy_(self.running_mean * keep + mean * new)
                self.running_var.copy_(self.running_var * keep + var * new)
        else:
            mean, var = self.running_mean, self.running_var
        factor = torch.rsqrt(var + self.eps)
        if self.weight is not None:
            factor = factor * self.weight
        result = (x - _along(mean, self.dim, x.dim())) * _along(factor, self.dim, x.dim())
        if self.bias is not None:
            result = result + _along(self.bias, self.dim, x.dim())
        return result

    def extra_repr(self) -> str:
        return f"dim={self.dim}, momentum={self.momentum:.6g}, eps={self.eps:.6g}"


class KerasLayerNorm(nn.Module):
    """Layer normalisation along one axis (the channel axis of images, the last one otherwise).

    Each sample is normalised by its own mean and biased variance along ``dim``, then scaled by
    ``weight`` (Keras's ``gamma``) and offset by ``bias`` (``beta``). Training and inference
    compute the same thing.

    Attributes:
        dim: The normalised axis, counting the batch axis as 0.
        eps: Added to the variance before the square root.
    """

    if TYPE_CHECKING:  # TorchScript reads class annotations and cannot parse these
        weight: torch.Tensor | None
        bias: torch.Tensor | None

    def __init__(
        self,
        num_features: int,
        dim: int,
        eps: float = 1e-3,
        center: bool = True,
        scale: bool = True,
    ) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps
        self.num_features = num_features
        _optional_parameter(self, "weight", 1.0, num_features, scale)
        _optional_parameter(self, "bias", 0.0, num_features, center)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = [self.num_features]
        if self.dim in (-1, x.dim() - 1):
            return F.layer_norm(x, size, self.weight, self.bias, self.eps)
        moved = F.layer_norm(x.movedim(self.dim, -1), size, self.weight, self.bias, self.eps)
        return moved.movedim(-1, self.dim)

    def extra_repr(self) -> str:
        return f"{self.num_features}, dim={self.dim}, eps={self.eps:.6g}"


class _SeededRandom(nn.Module):
    """Base of the random layers: their own generator (one per device) when given a seed.

    Without a seed they draw from torch's global generator, like ``nn.Dropout``. TorchScript
    can script both kinds, but a scripted layer with a seed can only run in inference mode.
    """

    if TYPE_CHECKING:  # TorchScript cannot type an annotated empty dict; it never uses this one
        _generators: dict[str, torch.Generator]

    def __init__(self, seed: int | None) -> None:
        super().__init__()
        self.seed = seed
        self._generators = {}

    def draw(self, like: torch.Tensor, normal: bool) -> torch.Tensor:
        """Normal (or uniform in [0, 1)) random numbers shaped, placed and typed like ``like``."""
        if self.seed is not None:
            return self.seeded_draw(like, normal)
        return torch.randn_like(like) if normal else torch.rand_like(like)

    @torch.jit.unused
    def seeded_draw(self, like: torch.Tensor, normal: bool) -> torch.Tensor:
        """:meth:`draw` from this layer's generator for ``like``'s device, made on first use."""
        key = str(like.device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(like.device).manual_seed(int(self.seed or 0))
        kind = torch.randn if normal else torch.rand
        generator = self._generators[key]
        return kind(like.shape, generator=generator, device=like.device, dtype=like.dtype)


class GaussianNoiseModule(_SeededRandom):
    """Adds normal noise of standard deviation ``stddev`` while training; identity otherwise."""

    def __init__(self, stddev: float, seed: int | None = None) -> None:
        super().__init__(seed)
        self.stddev = stddev

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.stddev == 0:
            return x
        return x + self.draw(x, normal=True) * self.stddev

    def extra_repr(self) -> str:
        return f"stddev={self.stddev}, seed={self.seed}"


class SpatialDropoutModule(_SeededRandom):
    """While training, zeroes whole channels (axis 1) at random and scales the rest up.

    Each channel of each sample is kept with probability ``1 - rate`` and then multiplied by
    ``1 / (1 - rate)``, so the expected value is unchanged, as Keras's SpatialDropout2D does.
    Identity in inference.
    """

    def __init__(self, rate: float, seed: int | None = None) -> None:
        super().__init__(seed)
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return x
        shape = [x.shape[0], x.shape[1]]
        for _ in range(x.dim() - 2):
            shape.append(1)
        kept = (self.draw(x.new_empty(shape), normal=False) >= self.rate).to(x.dtype)
        return x * (kept / (1.0 - self.rate))

    def extra_repr(self) -> str:
        return f"rate={self.rate}, seed={self.seed}"
