"""Core layers of every tutorial: Dense, Activation, Dropout."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.layers.activations import make_activation, softmax_findings
from core.layers.modules import Activated, inner_layer
from core.layers.params import Param, activation_param, use_bias_param
from core.layers.spec import (
    Finding,
    KerasContext,
    LayerSpec,
    Shape,
    expect_rank,
    load_array,
    register,
)


@register
class Dense(LayerSpec):
    kind = "Dense"
    category = "Core"
    help = "A fully connected layer: every output is a learnt weighted sum of all the inputs."
    params = (
        Param(
            "units",
            "int",
            32,
            "How many numbers this layer outputs (its neurons). For the last layer of a "
            "classifier: the number of classes.",
            minimum=1,
            maximum=1_000_000,
        ),
        activation_param("linear"),
        use_bias_param(),
    )
    input_ranks = (1, 2)
    keras_class = "Dense"

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        (shape,) = inputs
        if len(shape) >= 3:
            expect_rank(
                self.kind,
                shape,
                (1,),
                "a flat input",
                "Add a Flatten layer (or a GlobalAveragePooling2D layer) before it.",
            )
        return (*shape[:-1], params["units"])

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        return softmax_findings(params["activation"], outputs[0], self.kind)

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        (shape,) = inputs
        layer = DenseKernel(shape[-1], params["units"], bias=params["use_bias"])
        return Activated(layer, make_activation(params["activation"], len(shape)))

    def keras_weights(self, module: nn.Module, ctx: KerasContext) -> list[tuple[str, np.ndarray]]:
        layer = inner_layer(module, DenseKernel)
        tensors = [("kernel", layer.kernel), ("bias", layer.bias)]
        return [(name, t.detach().cpu().numpy()) for name, t in tensors if t is not None]

    def set_keras_weights(
        self, module: nn.Module, arrays: Sequence[np.ndarray], ctx: KerasContext
    ) -> None:
        layer = inner_layer(module, DenseKernel)
        tensors = [t for t in (layer.kernel, layer.bias) if t is not None]
        if len(arrays) != len(tensors):
            raise ValueError(f"Dense expects {len(tensors)} weight arrays, got {len(arrays)}.")
        for what, tensor, array in zip(("kernel", "bias"), tensors, arrays, strict=False):
            load_array(tensor, array, f"Dense {what}")


class DenseKernel(nn.Module):
    """``x @ kernel + bias`` with Keras's ``(inputs, units)`` kernel, initialised as Keras does.

    Holding the kernel in Keras's layout (``nn.Linear`` holds its transpose) costs nothing in
    speed and lets model files be written and read without transposing the largest arrays.
    """

    def __init__(self, inputs: int, units: int, bias: bool = True) -> None:
        super().__init__()
        self.kernel = nn.Parameter(torch.empty(inputs, units))
        self.bias = nn.Parameter(torch.zeros(units)) if bias else None
        nn.init.xavier_uniform_(self.kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.kernel.T, self.bias)

    def extra_repr(self) -> str:
        inputs, units = self.kernel.shape
        return f"inputs={inputs}, units={units}, bias={self.bias is not None}"


@register
class Activation(LayerSpec):
    kind = "Activation"
    category = "Core"
    help = "Applies a function to every value, such as relu or softmax, with no learnt weights."
    params = (activation_param("relu"),)
    keras_class = "Activation"

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        return inputs[0]

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        return softmax_findings(params["activation"], outputs[0], self.kind)

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        return make_activation(params["activation"], len(inputs[0]))


@register
class Dropout(LayerSpec):
    kind = "Dropout"
    category = "Regularisation"
    help = (
        "Fights overfitting: while training, randomly sets a share of the values to zero. "
        "Does nothing when predicting."
    )
    params = (
        Param(
            "rate",
            "float",
            0.5,
            "The share of values dropped while training, from 0 (none) to just below 1.",
            minimum=0.0,
            maximum=1.0,
            exclusive_maximum=True,
        ),
    )
    keras_class = "Dropout"

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        return inputs[0]

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        return nn.Dropout(params["rate"])
