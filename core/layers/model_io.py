"""Where data enters and results leave a model: Input and Output."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from core.layers._keras_layout import keras_shape, studio_shape
from core.layers.params import Param
from core.layers.spec import KerasContext, LayerSpec, Shape, register


@register
class Input(LayerSpec):
    kind = "Input"
    category = "Core"
    help = "Where your data enters the model. Set its shape to the shape of one sample."
    params = (
        Param(
            "shape",
            "shape",
            (1, 28, 28),
            "The size of one sample, batch excluded: (features) for a table row, "
            "(channels, height, width) for an image, (steps, features) for a sequence.",
            minimum=1,
            maximum=1_000_000,
        ),
        Param(
            "dtype",
            "choice",
            "float32",
            "The kind of numbers: float32 for measurements and pixels, int32 for whole-number "
            "ids such as word numbers (what an Embedding reads).",
            choices=("float32", "int32"),
        ),
    )
    keras_class = "InputLayer"

    def num_inputs(self, params: Mapping[str, Any]) -> int:
        return 0

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        return tuple(params["shape"])

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        return nn.Identity()

    def keras_config(self, params: Mapping[str, Any], ctx: KerasContext) -> dict[str, Any]:
        return {
            "batch_input_shape": [None, *keras_shape(params["shape"])],
            "dtype": params["dtype"],
        }

    def params_from_keras(self, config: Mapping[str, Any]) -> dict[str, Any]:
        shape = config.get("batch_input_shape") or config.get("batch_shape")
        if not isinstance(shape, (list, tuple)) or len(shape) < 2:
            return {}
        dtype = config.get("dtype")
        integer = isinstance(dtype, str) and dtype.startswith(("int", "uint"))
        return {"shape": studio_shape(tuple(shape[1:])), "dtype": "int32" if integer else "float32"}


@register
class Output(LayerSpec):
    kind = "Output"
    category = "Core"
    help = "Marks a result of the model: what it predicts. Training compares it with your labels."

    def num_outputs(self, params: Mapping[str, Any]) -> int:
        return 0

    def output_shapes(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> list[Shape]:
        return []

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        return nn.Identity()
