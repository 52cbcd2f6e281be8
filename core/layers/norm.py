"""Normalisation and regularisation: BatchNormalization, LayerNormalization, GaussianNoise and
SpatialDropout2D.

``axis`` keeps Keras's meaning: it counts the axes of Keras's channels-last tensors, the batch
being axis 0, so -1 is the features of flat data and sequences and the channels of images (our
axis 0, since the studio keeps images channels-first). The modules are in ``_norm_modules.py``.

LayerNormalization is limited to that last Keras axis: Keras 3's PyTorch backend normalises
the last axis whatever single axis it is given (``F.layer_norm``), so no other axis can give the
same numbers in Keras and in the studio.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from torch import nn

from core.layers._keras_layout import torch_axis
from core.layers._norm_modules import (
    GaussianNoiseModule,
    KerasBatchNorm,
    KerasLayerNorm,
    SpatialDropoutModule,
)
from core.layers.params import Param
from core.layers.spec import (
    Finding,
    KerasContext,
    LayerSpec,
    Shape,
    ShapeError,
    expect_rank,
    format_shape,
    load_array,
    register,
    to_numpy,
)

RANKS = (1, 2, 3, 4)
#: Keras switches the studio's normalisations lack (BatchNormalization's, LayerNormalization's).
UNSUPPORTED = {"renorm": "batch renormalisation", "rms_scaling": "a deprecated RMS scaling"}
ANY_DATA = "flat data, a sequence or an image"
AXIS_NAMES = {
    1: ("features",),
    2: ("steps", "features"),
    3: ("channels", "height", "width"),
    4: ("channels", "depth", "height", "width"),
}


def axis_param(help_text: str) -> Param:
    """Keras's ``axis``, counted on channels-last tensors with the batch as axis 0."""
    return Param("axis", "int", -1, help_text, minimum=-4, maximum=4)


def epsilon_param() -> Param:
    """Keras's ``epsilon``, 0.001 by default (torch's normalisations default to 0.00001)."""
    return Param(
        "epsilon",
        "float",
        1e-3,
        "A small number added to the variance so that nothing is ever divided by zero.",
        minimum=1e-12,
    )


def center_scale_params() -> tuple[Param, Param]:
    """Keras's ``center`` (learn beta) and ``scale`` (learn gamma) switches."""
    return (
        Param("center", "bool", True, "Learn an offset (beta) added after normalising."),
        Param(
            "scale",
            "bool",
            True,
            "Learn a factor (gamma) that multiplies the normalised values. Can be off when the "
            "next layer is linear (such as Dense or Conv2D), which scales anyway.",
        ),
    )


def seed_param() -> Param:
    """Keras's optional ``seed`` of a random layer."""
    return Param(
        "seed",
        "int",
        None,
        "A number that makes the randomness the same on every run; empty for different "
        "randomness each time.",
        minimum=0,
        maximum=2**32 - 1,
        optional=True,
    )


def axis_name(axis: int, rank: int) -> str:
    """What Keras's (existing) ``axis`` is for a per-sample shape of ``rank`` axes, in words."""
    return AXIS_NAMES[rank][torch_axis(axis, rank)]


def expect_axis(kind: str, axis: int, shape: Shape) -> None:
    """Raise a friendly :class:`ShapeError` when Keras's ``axis`` does not exist for ``shape``."""
    rank = len(shape)
    if not (1 <= axis <= rank or -rank <= axis <= -1):
        raise ShapeError(
            f"{kind}'s axis {axis} does not exist for its {format_shape(shape)} input, whose axes "
            f"are 1 to {rank} (or -1 to -{rank}), counted as in Keras.",
            "Use axis -1 to normalise each feature, or each channel of an image.",
        )


class AxisNormSpec(LayerSpec):
    """What the two normalisations share: an ``axis`` with Keras's meaning, gamma and beta."""

    category = "Normalisation"
    input_ranks = RANKS
    #: The module that ``build`` makes; its ``weight`` and ``bias`` are gamma and beta.
    module_class: ClassVar[type[nn.Module]] = KerasLayerNorm
    #: ``(Keras name, module attribute)`` of the non-trainable weights, after gamma and beta.
    statistics: ClassVar[tuple[tuple[str, str], ...]] = ()

    def params_problems(self, params: Mapping[str, Any]) -> list[str]:
        if params["axis"] == 0:
            return ["axis 0 is the batch, which cannot be normalised. Use -1 for the features."]
        return []

    def params_from_keras(self, config: Mapping[str, Any]) -> dict[str, Any]:
        params = super().params_from_keras(config)
        axis = params.get("axis")
        if isinstance(axis, (list, tuple)) and len(axis) == 1:  # Keras 2 writes [3] for -1
            params["axis"] = axis[0]
        return params

    def keras_problems(self, config: Mapping[str, Any]) -> list[str]:
        problems = []
        axis = config.get("axis", -1)
        if isinstance(axis, (list, tuple)) and len(axis) != 1:
            problems.append(
                f"{self.kind} normalises over several axes at once (axis={list(axis)}); the "
                "studio normalises along one axis only."
            )
        for key, what in UNSUPPORTED.items():
            if config.get(key):
                problems.append(f"{self.kind} uses {what} ({key}), which the studio does not have.")
        return problems

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        (shape,) = inputs
        expect_rank(self.kind, shape, RANKS, ANY_DATA, "Reshape or Flatten its input first.")
        expect_axis(self.kind, params["axis"], shape)
        return shape

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        (shape,) = inputs
        index = torch_axis(params["axis"], len(shape))
        extra = {"keras_momentum": params["momentum"]} if "momentum" in params else {}
        return self.module_class(
            shape[index],
            1 + index,
            eps=params["epsilon"],
            center=params["center"],
            scale=params["scale"],
            **extra,
        )

    def weight_names(self, module: nn.Module) -> list[tuple[str, str]]:
        """``(Keras name, module attribute)`` of each weight the module has, in Keras's order."""
        if not isinstance(module, self.module_class):
            raise ValueError(f"expected a module built by the spec, a {self.module_class.__name__}")
        pairs = [("gamma", "weight"), ("beta", "bias"), *self.statistics]
        return [(k, a) for k, a in pairs if getattr(module, a) is not None]

    def keras_weights(self, module: nn.Module, ctx: KerasContext) -> list[tuple[str, np.ndarray]]:
        return [(k, to_numpy(getattr(module, a))) for k, a in self.weight_names(module)]

    def set_keras_weights(
        self, module: nn.Module, arrays: Sequence[np.ndarray], ctx: KerasContext
    ) -> None:
        names = self.weight_names(module)
        if len(arrays) != len(names):
            raise ValueError(f"{self.kind} expects {len(names)} weight arrays, got {len(arrays)}.")
        for (name, attribute), array in zip(names, arrays, strict=True):
            load_array(getattr(module, attribute), np.asarray(array), f"{self.kind} {name}")


@register
class BatchNormalization(AxisNormSpec):
    kind = "BatchNormalization"
    help = (
        "Keeps values in a steady range: normalises each channel (or feature) with the batch's "
        "statistics while training and with their running averages when predicting."
    )
    params = (
        axis_param(
            "The axis whose entries each get their own statistics, counted as in Keras: -1 is "
            "the features of flat data and sequences and the channels of images."
        ),
        Param(
            "momentum",
            "float",
            0.99,
            "How slowly the running averages used for predicting follow the batches: 0.99 "
            "keeps 99% of the old average at each training step.",
            minimum=0.0,
            maximum=1.0,
        ),
        epsilon_param(),
        *center_scale_params(),
    )
    keras_class = "BatchNormalization"
    compare_in_training = True
    module_class = KerasBatchNorm
    statistics = (("moving_mean", "running_mean"), ("moving_variance", "running_var"))

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        (shape,) = inputs
        axis = params["axis"]
        if len(shape) < 3 or torch_axis(axis, len(shape)) == 0:
            return []
        return [
            Finding(
                "warning",
                f"BatchNormalization's axis {axis} is the {axis_name(axis, len(shape))} of its "
                f"{format_shape(shape)} input, so each {axis_name(axis, len(shape))} position "
                "gets its own statistics instead of each channel.",
                "Set axis to -1 to normalise each channel: Keras counts the channels last, "
                "even though the studio shows them first.",
            )
        ]


@register
class LayerNormalization(AxisNormSpec):
    kind = "LayerNormalization"
    help = (
        "Rescales the features of each sample (of each step of a sequence, or the channels of "
        "each pixel) to mean 0 and spread 1, then applies a learnt scale and offset."
    )
    params = (
        axis_param(
            "The axis normalised, counted as in Keras: -1, the features of flat data and "
            "sequences and the channels of images (the only axis the studio offers)."
        ),
        epsilon_param(),
        *center_scale_params(),
    )
    keras_class = "LayerNormalization"
    compare_in_training = True
    module_class = KerasLayerNorm

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        shape = super().output_shape(inputs, params)
        axis = params["axis"]
        if axis not in (-1, len(shape)):
            raise ShapeError(
                f"LayerNormalization can only normalise the last axis as Keras counts it (the "
                f"{axis_name(-1, len(shape))} here), but axis {axis} is the "
                f"{axis_name(axis, len(shape))} of its {format_shape(shape)} input.",
                "Set axis to -1. Other axes give different numbers in Keras's PyTorch version, "
                "so the studio does not offer them.",
            )
        return shape

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        (shape,) = inputs
        size = shape[torch_axis(params["axis"], len(shape))]
        if size != 1:
            return []
        name = axis_name(params["axis"], len(shape))
        return [
            Finding(
                "warning",
                f"LayerNormalization normalises the {name} of its {format_shape(shape)} input, "
                f"but there is only one {name[:-1] if name.endswith('s') else name} value, so "
                "the result is always 0 (plus the offset): no information gets through.",
                "Remove this layer, or place it where there are several features or channels.",
            )
        ]


@register
class GaussianNoise(LayerSpec):
    kind = "GaussianNoise"
    category = "Regularisation"
    help = (
        "Fights overfitting: while training, adds random noise (a bell curve around 0) to "
        "every value. Does nothing when predicting."
    )
    params = (
        Param(
            "stddev",
            "float",
            0.1,
            "How strong the noise is (its standard deviation), from 0 (none) to 1.",
            minimum=0.0,
            maximum=1.0,
        ),
        seed_param(),
    )
    keras_class = "GaussianNoise"

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        return inputs[0]

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        if params["stddev"] > 0:
            return []
        return [
            Finding(
                "info",
                "GaussianNoise with stddev 0 adds no noise, so it does nothing.",
                "Set stddev above 0 (0.1 is a common start), or delete the layer.",
            )
        ]

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        return GaussianNoiseModule(params["stddev"], params["seed"])


@register
class SpatialDropout2D(LayerSpec):
    kind = "SpatialDropout2D"
    category = "Regularisation"
    help = (
        "Fights overfitting in image models: while training, switches off whole channels "
        "(feature maps) at random. Does nothing when predicting."
    )
    params = (
        Param(
            "rate",
            "float",
            0.5,
            "The share of channels dropped while training, from 0 (none) to just below 1.",
            minimum=0.0,
            maximum=1.0,
            exclusive_maximum=True,
        ),
        seed_param(),
    )
    input_ranks = (3,)
    keras_class = "SpatialDropout2D"

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        (shape,) = inputs
        expect_rank(
            self.kind,
            shape,
            (3,),
            "an image (channels×height×width)",
            "SpatialDropout2D drops whole channels of images, such as the output of Conv2D. "
            "For flat data or sequences use Dropout.",
        )
        return shape

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        (shape,) = inputs
        if params["rate"] == 0:
            return [
                Finding(
                    "info",
                    "SpatialDropout2D with rate 0 drops nothing, so it does nothing.",
                    "Set rate above 0 (0.1 to 0.3 is common), or delete the layer.",
                )
            ]
        if shape[0] == 1:
            return [
                Finding(
                    "warning",
                    f"SpatialDropout2D's {format_shape(shape)} input has a single channel, so "
                    "dropping a channel blanks the whole image of that sample.",
                    "Place it after a Conv2D with several filters, or use Dropout, which drops "
                    "single values.",
                )
            ]
        return []

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        return SpatialDropoutModule(params["rate"], params["seed"])

    def keras_config(self, params: Mapping[str, Any], ctx: KerasContext) -> dict[str, Any]:
        return {**super().keras_config(params, ctx), "data_format": "channels_last"}

    def keras_problems(self, config: Mapping[str, Any]) -> list[str]:
        data_format = config.get("data_format")
        if data_format in (None, "channels_last"):
            return []
        return [
            f"SpatialDropout2D uses data_format={data_format!r}; the studio imports only "
            "channels_last images (Keras's default)."
        ]
