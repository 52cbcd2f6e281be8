"""Recurrent layers, which read a sequence step by step: SimpleRNN, LSTM and GRU.

They take ``(steps, features)`` as Keras does and give ``(units,)``, or ``(steps, units)`` with
``return_sequences``; ``return_state`` adds ports with the final memory. The torch modules are in
:mod:`core.layers._rnn`, Bidirectional in :mod:`core.layers.wrappers`. Keras settings the studio
cannot reproduce (``stateful``, GRU's ``reset_after=False``, activations it does not offer) are
refused on import by ``keras_problems``; ``unroll`` only changes Keras's speed and is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from torch import nn

from core.layers._rnn import (
    STATE_COUNT,
    Recurrent,
    keras_init_rnn_,
    recurrent_keras_weights,
    set_recurrent_keras_weights,
)
from core.layers.params import KERAS_ACTIVATION_ALIASES, Param, use_bias_param
from core.layers.spec import (
    Finding,
    KerasContext,
    LayerSpec,
    Shape,
    ShapeError,
    format_shape,
    register,
)

#: Activations a recurrent layer offers: those recurrent layers use in practice (Keras allows any;
#: a file with another is refused on import, and each choice costs Keras-comparison test time).
RNN_ACTIVATIONS: tuple[str, ...] = (
    "tanh",
    "relu",
    "sigmoid",
    "hard_sigmoid",
    "linear",
    "elu",
    "selu",
)
#: Gate functions: Keras's sigmoid and Keras 2's old default hard_sigmoid. Unbounded gates make
#: the memory explode, so Keras's other choices (which no tutorial uses) are not offered.
GATE_ACTIVATIONS: tuple[str, ...] = ("sigmoid", "hard_sigmoid")
RECURRENT_KINDS: tuple[str, ...] = ("LSTM", "GRU", "SimpleRNN")


def rnn_params(kind: str) -> tuple[Param, ...]:
    """The params of a recurrent ``kind``, or of Bidirectional's wrapped layer (``kind=""``)."""
    wrapped = kind == ""
    only_lstm = " (LSTM only)" if wrapped else ""
    only_gates = " (LSTM and GRU only)" if wrapped else ""
    fast = "tanh (the default) and relu run" if kind == "SimpleRNN" else "tanh (the default) runs"
    memory = {
        "LSTM": "the final memory on two extra ports: h and the cell state c.",
        "": "each direction's final memory on extra ports: h (and for LSTM the cell state c).",
    }.get(kind, "the final memory (h) on an extra port.")
    params = [
        Param(
            "units",
            "int",
            32,
            "How many numbers the layer remembers from step to step, and outputs at each step.",
            minimum=1,
            maximum=100_000,
        ),
        Param(
            "activation",
            "choice",
            "tanh",
            f"The function that shapes the memory and the outputs. {fast} fastest; the "
            "others work but train more slowly.",
            choices=RNN_ACTIVATIONS,
        ),
    ]
    if kind != "SimpleRNN":
        params.append(
            Param(
                "recurrent_activation",
                "choice",
                "sigmoid",
                "The function of the gates that decide what to keep and what to forget"
                f"{only_gates}. sigmoid (the default) runs fastest; hard_sigmoid is Keras 2's "
                "old default.",
                choices=GATE_ACTIVATIONS,
            )
        )
    params.append(use_bias_param())
    if kind in ("LSTM", ""):
        params.append(
            Param(
                "unit_forget_bias",
                "bool",
                True,
                "Start training with the forget gate open, so that the layer keeps its memory "
                f"at first{only_lstm}. Keras's default; it only changes the starting weights.",
            )
        )
    params += [
        Param(
            "dropout",
            "float",
            0.0,
            "The share of the inputs dropped while training (the same ones at every step of "
            "a sequence), to fight overfitting. 0 turns it off.",
            minimum=0.0,
            maximum=1.0,
            exclusive_maximum=True,
        ),
        Param(
            "recurrent_dropout",
            "float",
            0.0,
            "The share of the memory dropped while training, to fight overfitting. 0 turns it "
            "off; above 0, training is slower.",
            minimum=0.0,
            maximum=1.0,
            exclusive_maximum=True,
        ),
        Param(
            "return_sequences",
            "bool",
            False,
            "On: output the result of every step (steps×units), as needed before another "
            "recurrent layer. Off: only the result after the last step (units).",
        ),
        Param(
            "return_state",
            "bool",
            False,
            f"Also output {memory}",
        ),
    ]
    if not wrapped:
        params.append(
            Param(
                "go_backwards",
                "bool",
                False,
                "Read the sequence from its last step to its first. With return_sequences the "
                "outputs come in that reversed order too.",
            )
        )
    return tuple(params)


def expect_sequence(kind: str, shape: Shape) -> None:
    """Refuse anything but a sequence (steps, features), saying what to do instead."""
    if len(shape) == 2:
        return
    wants = f"{kind} reads a sequence (steps×features)"
    if len(shape) == 1:
        raise ShapeError(
            f"{wants} but gets {shape[0]} values with no steps.",
            f"Add a Reshape before it to lay them out as steps×features, for example with "
            f"target_shape ({shape[0]}, 1) for one value per step; if they are word ids, add "
            "an Embedding before it.",
        )
    if len(shape) == 3:
        c, h, w = shape
        raise ShapeError(
            f"{wants} but gets an image or feature map of {format_shape(shape)} "
            "(channels×height×width).",
            f"To read it row by row, add a Reshape with target_shape ({h}, {w * c}) before it "
            "(each row a step); for image features, use Conv2D and pooling layers instead.",
        )
    raise ShapeError(
        f"{wants} but gets {format_shape(shape)}, which has {len(shape)} axes.",
        "Reshape the data to two axes (steps, features) before it, with a Reshape layer.",
    )


def single_step_findings(kind: str, shape: Shape) -> list[Finding]:
    """A note when the sequence has one step, so the layer's memory is never used."""
    if shape[0] != 1:
        return []
    return [
        Finding(
            "info",
            f"{kind} gets a sequence of a single step ({format_shape(shape)}), so it never "
            "uses its memory and acts much like a Dense layer.",
            "If your values are a time series, lay them out as steps instead, for example "
            f"with a Reshape to ({shape[1]}, 1).",
        )
    ]


def keras_activation(value: Any) -> Any:
    """Our name for a Keras activation name (Keras 3 saves swish as silu)."""
    return KERAS_ACTIVATION_ALIASES.get(value, value) if isinstance(value, str) else value


def recurrent_problems(kind: str, config: Mapping[str, Any]) -> list[str]:
    """What of a Keras SimpleRNN, LSTM or GRU config the studio cannot reproduce."""
    problems = []
    for key, offered in (
        ("activation", RNN_ACTIVATIONS),
        ("recurrent_activation", GATE_ACTIVATIONS),
    ):
        value = keras_activation(config.get(key))
        if key in config and value not in offered:
            problems.append(
                f"{kind}'s {key} {value!r} is not available in the studio; choose one of "
                f"{', '.join(offered)} and train the model again."
            )
    if config.get("stateful"):
        problems.append(
            f"{kind} with stateful=True (memory carried over from one batch to the next) cannot "
            "be reproduced: the studio starts every sequence with an empty memory. Turn "
            "stateful off in Keras and save the model again."
        )
    if config.get("time_major"):
        problems.append(
            f"{kind} with time_major=True (steps before samples) is not available; save the "
            "model with time_major=False."
        )
    if kind == "GRU" and config.get("reset_after") is False:
        problems.append(
            "GRU with reset_after=False (the formula of Keras 1 and early Keras 2) cannot be "
            "reproduced: the studio's GRU applies its reset gate after the recurrent weights, "
            "as Keras does by default. Train the model again with reset_after=True."
        )
    return problems


class RecurrentSpec(LayerSpec):
    """What SimpleRNN, LSTM and GRU share; the kind names the cell."""

    category = "Recurrent"
    input_ranks = (2,)

    def num_outputs(self, params: Mapping[str, Any]) -> int:
        return 1 + (STATE_COUNT[self.kind] if params["return_state"] else 0)

    def output_shapes(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> list[Shape]:
        (shape,) = inputs
        expect_sequence(self.kind, shape)
        units = params["units"]
        main = (shape[0], units) if params["return_sequences"] else (units,)
        return [main] + [(units,)] * (self.num_outputs(params) - 1)

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        return single_step_findings(self.kind, inputs[0])

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        return build_recurrent(self.kind, inputs[0][-1], params, params["go_backwards"])

    def keras_config(self, params: Mapping[str, Any], ctx: KerasContext) -> dict[str, Any]:
        config = super().keras_config(params, ctx)
        return {**config, "reset_after": True} if self.kind == "GRU" else config

    def params_from_keras(self, config: Mapping[str, Any]) -> dict[str, Any]:
        params = super().params_from_keras(config)
        if "recurrent_activation" in params:
            params["recurrent_activation"] = keras_activation(params["recurrent_activation"])
        return params

    def keras_problems(self, config: Mapping[str, Any]) -> list[str]:
        return recurrent_problems(self.kind, config)

    def keras_weights(self, module: nn.Module, ctx: KerasContext) -> list[tuple[str, np.ndarray]]:
        return recurrent_keras_weights(as_recurrent(module))

    def set_keras_weights(
        self, module: nn.Module, arrays: Sequence[np.ndarray], ctx: KerasContext
    ) -> None:
        set_recurrent_keras_weights(as_recurrent(module), list(arrays), self.kind)


def build_recurrent(
    cell: str, features: int, params: Mapping[str, Any], go_backwards: bool
) -> Recurrent:
    """A Keras-initialised :class:`Recurrent` for a recurrent kind's or Bidirectional's params."""
    module = Recurrent(
        cell,
        features,
        params["units"],
        activation=params["activation"],
        recurrent_activation=params.get("recurrent_activation", "sigmoid"),
        use_bias=params["use_bias"],
        dropout=params["dropout"],
        recurrent_dropout=params["recurrent_dropout"],
        go_backwards=go_backwards,
        return_sequences=params["return_sequences"],
        return_state=params["return_state"],
    )
    return keras_init_rnn_(module, params.get("unit_forget_bias", True))


def as_recurrent(module: nn.Module) -> Recurrent:
    """``module`` as the :class:`Recurrent` a spec built, or a clear error."""
    if not isinstance(module, Recurrent):
        raise ValueError("expected a module built by a recurrent layer spec")
    return module


@register
class SimpleRNN(RecurrentSpec):
    kind = "SimpleRNN"
    help = (
        "The simplest recurrent layer: reads a sequence step by step, mixing each step into a "
        "memory. Forgets quickly; LSTM or GRU usually learn better."
    )
    params = rnn_params("SimpleRNN")
    keras_class = "SimpleRNN"


@register
class LSTM(RecurrentSpec):
    kind = "LSTM"
    help = (
        "Reads a sequence (text, a time series) step by step with a gated memory that can "
        "keep information over many steps."
    )
    params = rnn_params("LSTM")
    keras_class = "LSTM"


@register
class GRU(RecurrentSpec):
    kind = "GRU"
    help = (
        "Reads a sequence step by step with a gated memory, like LSTM but a little simpler "
        "and faster."
    )
    params = rnn_params("GRU")
    keras_class = "GRU"
