"""A model summary like Keras's ``model.summary()``: layers, output shapes, parameter counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch

from core.graph import Graph
from core.layers import Shape, get_spec
from core.shapes import ShapeReport, infer_shapes


@dataclass(frozen=True)
class LayerRow:
    """One line of the summary. Counts are None when the layer's shapes are unknown."""

    node: str
    name: str
    kind: str
    output_shapes: tuple[Shape, ...] | None
    trainable: int | None
    non_trainable: int | None
    inputs: tuple[str, ...]

    @property
    def params(self) -> int | None:
        """All parameters of the layer."""
        if self.trainable is None or self.non_trainable is None:
            return None
        return self.trainable + self.non_trainable


@dataclass(frozen=True)
class ModelSummary:
    """Rows (Output markers left out) and totals of every layer whose shapes are known."""

    name: str
    rows: tuple[LayerRow, ...]

    @property
    def trainable(self) -> int:
        """Parameters that training changes."""
        return sum(r.trainable or 0 for r in self.rows)

    @property
    def non_trainable(self) -> int:
        """Parameters that training does not change by gradient (such as running averages)."""
        return sum(r.non_trainable or 0 for r in self.rows)

    @property
    def total(self) -> int:
        """All parameters."""
        return self.trainable + self.non_trainable


def count_parameters(module: torch.nn.Module) -> tuple[int, int]:
    """(trainable, non-trainable) counts as Keras counts them.

    Float buffers such as running statistics count as non-trainable, as in Keras; parameters
    that only exist because torch splits what Keras keeps as one (an LSTM's second bias, held
    at zero and marked ``keras_redundant``) do not count.
    """
    counted = [p for p in module.parameters() if not getattr(p, "keras_redundant", False)]
    trainable = sum(p.numel() for p in counted if p.requires_grad)
    frozen = sum(p.numel() for p in counted if not p.requires_grad)
    frozen += sum(b.numel() for b in module.buffers() if b.is_floating_point())
    return trainable, frozen


def layer_parameters(
    kind: str, params: Mapping[str, Any], inputs: Sequence[Shape]
) -> tuple[int, int]:
    """(trainable, non-trainable) counts of one layer, remembered for its kind, params and inputs.

    The editor asks after every edit; most layers of a big model are alike, and a layer's
    counts depend on nothing else.
    """
    try:
        key = (kind, tuple(sorted(params.items())), tuple(tuple(s) for s in inputs))
        hash(key)
    except TypeError:  # a value that cannot be a key: count it afresh
        return _count_layer(kind, dict(params), tuple(tuple(s) for s in inputs))
    return _cached_count(key)


@lru_cache(maxsize=8192)
def _cached_count(
    key: tuple[str, tuple[tuple[str, Any], ...], tuple[Shape, ...]],
) -> tuple[int, int]:
    kind, params, inputs = key
    return _count_layer(kind, dict(params), inputs)


def _count_layer(kind: str, params: dict[str, Any], inputs: tuple[Shape, ...]) -> tuple[int, int]:
    with torch.device("meta"):
        module = get_spec(kind).build(inputs, params)
    return count_parameters(module)


def summarize(graph: Graph, report: ShapeReport | None = None) -> ModelSummary:
    """Summarise the graph. Modules are built on the ``meta`` device, so nothing is allocated."""
    report = report or infer_shapes(graph)
    rows = []
    for node_id in graph.topological_order():
        node = graph.nodes[node_id]
        if node.kind == "Output":
            continue
        outs = report.outputs.get(node_id)
        counts: tuple[int | None, int | None] = (None, None)
        if outs is not None:
            counts = layer_parameters(node.kind, node.params, report.inputs[node_id])
        sources = tuple(graph.nodes[e.src].name for _, e in sorted(graph.in_edges(node_id).items()))
        rows.append(
            LayerRow(
                node_id,
                node.name,
                node.kind,
                None if outs is None else tuple(outs),
                counts[0],
                counts[1],
                sources,
            )
        )
    return ModelSummary(graph.name, tuple(rows))


def _shape_text(shapes: tuple[Shape, ...] | None) -> str:
    if shapes is None:
        return "?"
    texts = ["(None, " + ", ".join(str(d) for d in s) + ")" if s else "(None,)" for s in shapes]
    return texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"


def format_summary(summary: ModelSummary, width: int = 98) -> str:
    """The summary as text in the style of Keras's ``model.summary()``."""
    cols = (38, 24, 12)
    rule = "_" * width
    lines = [f'Model: "{summary.name}"', rule]
    header = f"{'Layer (type)':<{cols[0]}} {'Output Shape':<{cols[1]}} {'Param #':>{cols[2]}}"
    lines += [header + "  Connected to", "=" * width]
    for i, row in enumerate(summary.rows):
        label = f"{row.name} ({row.kind})"
        count = "?" if row.params is None else f"{row.params:,}"
        line = f"{label:<{cols[0]}} {_shape_text(row.output_shapes):<{cols[1]}} {count:>{cols[2]}}"
        lines.append(line + ("  " + ", ".join(row.inputs) if row.inputs else ""))
        lines.append(rule if i == len(summary.rows) - 1 else "")
    if not summary.rows:
        lines.append(rule)
    lines += [
        f"Total params: {summary.total:,}",
        f"Trainable params: {summary.trainable:,}",
        f"Non-trainable params: {summary.non_trainable:,}",
    ]
    return "\n".join(lines)
