"""Embedding: turns whole-number ids (words, categories) into learnt vectors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from core.layers.params import Param
from core.layers.spec import (
    KerasContext,
    LayerSpec,
    Shape,
    ShapeError,
    format_shape,
    load_array,
    register,
    to_numpy,
)


class IdEmbedding(nn.Embedding):
    """``nn.Embedding`` that accepts ids of any integer or float dtype (cut to whole numbers)."""

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return super().forward(ids.long())


@register
class Embedding(LayerSpec):
    kind = "Embedding"
    category = "Core"
    help = (
        "Turns whole-number ids, such as word numbers, into lists of numbers (vectors) that "
        "it learns; usually the first layer of a text model."
    )
    params = (
        Param(
            "input_dim",
            "int",
            1000,
            "How many different ids there are (the vocabulary size): ids go from 0 to this "
            "number minus 1.",
            minimum=1,
            maximum=10_000_000,
        ),
        Param(
            "output_dim",
            "int",
            32,
            "How many numbers describe each id (the length of each learnt vector).",
            minimum=1,
            maximum=100_000,
        ),
    )
    input_ranks = (1,)
    keras_class = "Embedding"
    integer_input = True

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        (shape,) = inputs
        if len(shape) != 1:
            raise ShapeError(
                f"Embedding reads one id per step, a sequence of ids (steps), but gets "
                f"{format_shape(shape)}, which has {len(shape)} axes.",
                "Connect it to an Input of shape (steps), for example (100) for texts of 100 "
                "word ids, with dtype int32.",
            )
        return (shape[0], params["output_dim"])

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        # A weight given up front skips torch's normal_ initialisation, which on the meta device
        # imports torch._dynamo (1.5 s) only for the values to be overwritten here.
        weight = torch.empty(params["input_dim"], params["output_dim"])
        module = IdEmbedding(params["input_dim"], params["output_dim"], _weight=weight)
        nn.init.uniform_(module.weight, -0.05, 0.05)  # Keras's RandomUniform default
        return module

    def example_inputs(
        self, inputs: Sequence[Shape], params: Mapping[str, Any], rng: np.random.Generator
    ) -> list[np.ndarray]:
        return [rng.integers(0, params["input_dim"], (2, *s)).astype(np.int32) for s in inputs]

    def keras_problems(self, config: Mapping[str, Any]) -> list[str]:
        problems = []
        if config.get("mask_zero"):
            problems.append(
                "Embedding with mask_zero=True cannot be reproduced: Keras then makes the "
                "layers after it skip the padding id 0, which the studio does not do. Use "
                "mask_zero=False and pad the sequences at their start (as Keras's "
                "pad_sequences does by default), so that a recurrent layer reads the real ids "
                "last."
            )
        if config.get("lora_rank"):
            problems.append(
                "Embedding with LoRA weights (lora_rank) is not available; merge the LoRA "
                "weights into the embeddings in Keras and save the model again."
            )
        dtype = config.get("dtype")
        policy = dtype.get("class_name") if isinstance(dtype, Mapping) else dtype
        if config.get("quantization_config") or "Quantized" in str(policy):
            problems.append(
                "A quantized Embedding is not available; save the model unquantized (float32)."
            )
        return problems

    def keras_weights(self, module: nn.Module, ctx: KerasContext) -> list[tuple[str, np.ndarray]]:
        return [("embeddings", to_numpy(as_embedding(module).weight))]

    def set_keras_weights(
        self, module: nn.Module, arrays: Sequence[np.ndarray], ctx: KerasContext
    ) -> None:
        if len(arrays) != 1:
            raise ValueError(f"Embedding expects 1 weight array, got {len(arrays)}.")
        load_array(as_embedding(module).weight, np.asarray(arrays[0]), "Embedding embeddings")


def as_embedding(module: nn.Module) -> nn.Embedding:
    """``module`` as the ``nn.Embedding`` the spec built, or a clear error."""
    if not isinstance(module, nn.Embedding):
        raise ValueError("expected a module built by the Embedding spec")
    return module
