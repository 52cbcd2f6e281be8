"""Layers that wrap another layer: Bidirectional, a recurrent layer reading both ways.

Keras wraps a layer object (``Bidirectional(LSTM(64))``); in the editor the wrapped layer is a
param: ``layer`` picks LSTM, GRU or SimpleRNN, and the wrapped layer's params sit beside it, so
the inspector's form stays the generic one. Keras's config nests the wrapped layer's config
under ``"layer"`` (with ``"module": "keras.layers"``, which Keras 3 needs there even in legacy
``.h5`` files and Keras 2 accepts); the backward copy is Keras's to make.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from torch import nn

from core.layers._rnn import (
    STATE_COUNT,
    BidirectionalModule,
    recurrent_keras_weights,
    set_recurrent_keras_weights,
)
from core.layers.params import Param
from core.layers.recurrent import (
    RECURRENT_KINDS,
    build_recurrent,
    expect_sequence,
    recurrent_problems,
    rnn_params,
    single_step_findings,
)
from core.layers.spec import Finding, KerasContext, LayerSpec, Shape, get_spec, register

MERGE_MODES: tuple[str, ...] = ("concat", "sum", "ave", "mul")


def _inner(config: Mapping[str, Any], key: str = "layer") -> tuple[Any, Mapping[str, Any]]:
    """The class name and config of the layer nested under ``key``, or (None, {})."""
    nested = config.get(key)
    if not isinstance(nested, Mapping):
        return None, {}
    inner = nested.get("config")
    return nested.get("class_name"), inner if isinstance(inner, Mapping) else {}


@register
class Bidirectional(LayerSpec):
    kind = "Bidirectional"
    category = "Recurrent"
    help = (
        "Runs a recurrent layer (LSTM, GRU or SimpleRNN) over the sequence forwards and a copy "
        "backwards, and joins their results, so each step sees what comes before and after."
    )
    params = (
        Param(
            "layer",
            "choice",
            "LSTM",
            "The recurrent layer that reads the sequence in each direction.",
            choices=RECURRENT_KINDS,
        ),
        *rnn_params(""),
        Param(
            "merge_mode",
            "choice",
            "concat",
            "How the two directions' results are joined: concat puts them side by side (twice "
            "the units), sum adds them, ave averages them, mul multiplies them.",
            choices=MERGE_MODES,
        ),
    )
    input_ranks = (2,)
    keras_class = "Bidirectional"

    # -- the wrapped layer -----------------------------------------------------------------

    @staticmethod
    def inner_params(params: Mapping[str, Any]) -> dict[str, Any]:
        """The wrapped layer's own params (forward copy), from ours."""
        spec = get_spec(params["layer"])
        inner = {p.name: params[p.name] for p in spec.params if p.name in params}
        return {**inner, "go_backwards": False}

    def num_outputs(self, params: Mapping[str, Any]) -> int:
        return 1 + (2 * STATE_COUNT[params["layer"]] if params["return_state"] else 0)

    def output_shapes(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> list[Shape]:
        (shape,) = inputs
        expect_sequence(self.kind, shape)
        units = params["units"]
        width = 2 * units if params["merge_mode"] == "concat" else units
        main = (shape[0], width) if params["return_sequences"] else (width,)
        return [main] + [(units,)] * (self.num_outputs(params) - 1)

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        return single_step_findings(self.kind, inputs[0])

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        features = inputs[0][-1]
        return BidirectionalModule(
            build_recurrent(params["layer"], features, params, go_backwards=False),
            build_recurrent(params["layer"], features, params, go_backwards=True),
            params["merge_mode"],
        )

    # -- Keras -----------------------------------------------------------------------------

    def keras_config(self, params: Mapping[str, Any], ctx: KerasContext) -> dict[str, Any]:
        spec = get_spec(params["layer"])
        inner = spec.keras_config(self.inner_params(params), ctx)
        return {
            "merge_mode": params["merge_mode"],
            "layer": {"module": "keras.layers", "class_name": params["layer"], "config": inner},
        }

    def params_from_keras(self, config: Mapping[str, Any]) -> dict[str, Any]:
        class_name, inner = _inner(config)
        params: dict[str, Any] = {"merge_mode": config.get("merge_mode", "concat")}
        if class_name is not None:
            params["layer"] = class_name
        if class_name in RECURRENT_KINDS:
            wrapped = get_spec(class_name).params_from_keras(inner)
            params.update({k: v for k, v in wrapped.items() if k != "go_backwards"})
        return params

    def keras_problems(self, config: Mapping[str, Any]) -> list[str]:
        class_name, inner = _inner(config)
        kinds = ", ".join(RECURRENT_KINDS)
        if class_name not in RECURRENT_KINDS:
            what = f"a {class_name}" if isinstance(class_name, str) else "no layer the studio knows"
            return [
                f"This Bidirectional wraps {what}; the studio's Bidirectional can only wrap "
                f"one of {kinds}."
            ]
        problems = recurrent_problems(class_name, inner)
        if config.get("merge_mode", "concat") not in MERGE_MODES:
            problems.append(
                f"Bidirectional with merge_mode={config.get('merge_mode')!r} (the two "
                f"directions as separate outputs) is not available; use one of "
                f"{', '.join(MERGE_MODES)}."
            )
        if inner.get("go_backwards"):
            problems.append(
                "This Bidirectional wraps a layer with go_backwards=True (its two directions "
                "swapped), which the studio does not offer; save it with go_backwards=False."
            )
        back_name, back = _inner(config, "backward_layer")
        if back_name is not None and not self._same_layer(class_name, inner, back_name, back):
            problems.append(
                "This Bidirectional has a backward layer that differs from its forward layer; "
                "the studio's Bidirectional runs two copies of the same layer."
            )
        return problems

    def _same_layer(
        self, forward: str, inner: Mapping[str, Any], backward: Any, back: Mapping[str, Any]
    ) -> bool:
        """Whether the backward layer is the forward one reading backwards."""
        if backward != forward or bool(back.get("go_backwards")) == bool(inner.get("go_backwards")):
            return False
        spec = get_spec(forward)
        ours = spec.validate_params(spec.params_from_keras(inner))[0]
        theirs = spec.validate_params(spec.params_from_keras(back))[0]
        ours.pop("go_backwards")
        theirs.pop("go_backwards")
        return ours == theirs and not recurrent_problems(forward, back)

    def keras_weights(self, module: nn.Module, ctx: KerasContext) -> list[tuple[str, np.ndarray]]:
        bi = as_bidirectional(module)
        return recurrent_keras_weights(bi.forward_layer) + recurrent_keras_weights(
            bi.backward_layer
        )

    def set_keras_weights(
        self, module: nn.Module, arrays: Sequence[np.ndarray], ctx: KerasContext
    ) -> None:
        bi = as_bidirectional(module)
        half = len(arrays) // 2
        if len(arrays) % 2:
            raise ValueError(f"Bidirectional expects an even number of arrays, got {len(arrays)}.")
        kind = f"Bidirectional {bi.forward_layer.cell}"
        set_recurrent_keras_weights(bi.forward_layer, list(arrays[:half]), kind)
        set_recurrent_keras_weights(bi.backward_layer, list(arrays[half:]), kind)


def as_bidirectional(module: nn.Module) -> BidirectionalModule:
    """``module`` as the :class:`BidirectionalModule` the spec built, or a clear error."""
    if not isinstance(module, BidirectionalModule):
        raise ValueError("expected a module built by the Bidirectional spec")
    return module
