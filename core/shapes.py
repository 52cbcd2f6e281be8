"""Shape inference over a whole graph, and diagnostics a beginner can act on.

:func:`infer_shapes` walks the graph in topological order, asks each layer spec for its output
shapes, and collects :class:`Diagnostic` objects: errors that stop the model from being built,
warnings about what is probably a mistake, and notes. A layer whose inputs are unknown (because
something before it is wrong) gets no shape and no diagnostic of its own, so one mistake gives
one message, not a cascade.

The editor re-checks the graph after every edit; pass the same ``cache`` dict each time and only
layers whose params or input shapes changed are asked again.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from core.graph import Edge, Graph
from core.layers import Finding, LayerSpec, Shape, ShapeError, get_spec
from core.layers.spec import Severity

SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Diagnostic:
    """One problem or remark, about one layer (``node`` is its id) or the whole model (None)."""

    node: str | None
    severity: Severity
    message: str
    hint: str = ""

    def text(self, graph: Graph | None = None) -> str:
        """One line: ``severity: name (Kind): message hint``."""
        who = ""
        if self.node is not None and graph is not None and self.node in graph.nodes:
            node = graph.nodes[self.node]
            who = f"{node.name} ({node.kind}): "
        return f"{self.severity}: {who}{self.message}" + (f" {self.hint}" if self.hint else "")


@dataclass
class ShapeReport:
    """The result of :func:`infer_shapes`.

    Attributes:
        outputs: For each layer whose shapes are known, the shape of each output port.
        inputs: For each such layer, the shape arriving at each input port.
        live: Ids of the layers that lead to an Output (what a compiled model computes).
        diagnostics: Everything found, model-wide first, then layer by layer in graph order.
    """

    outputs: dict[str, list[Shape]] = field(default_factory=dict)
    inputs: dict[str, list[Shape]] = field(default_factory=dict)
    live: set[str] = field(default_factory=set)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        """The diagnostics that stop the model from being built."""
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def ok(self) -> bool:
        """True when nothing stops the model from being built."""
        return not self.errors

    def for_node(self, node_id: str) -> list[Diagnostic]:
        """The diagnostics about one layer, worst first."""
        found = [d for d in self.diagnostics if d.node == node_id]
        return sorted(found, key=lambda d: SEVERITY_ORDER[d.severity])

    def edge_shape(self, edge: Edge) -> Shape | None:
        """The shape of the tensor an edge carries, when known."""
        shapes = self.outputs.get(edge.src)
        return shapes[edge.src_port] if shapes and edge.src_port < len(shapes) else None


_NodeResult = tuple[list[Shape] | None, list[Diagnostic]]


def infer_shapes(
    graph: Graph, cache: MutableMapping[str, tuple[Hashable, _NodeResult]] | None = None
) -> ShapeReport:
    """Every layer's output shape, and every diagnostic, for ``graph``.

    Args:
        graph: The document.
        cache: Optional memo kept by the caller between calls (the editor keeps one per graph).
    """
    report = ShapeReport()
    report.diagnostics.extend(_model_diagnostics(graph, report))
    if cache is not None:
        for stale in set(cache) - set(graph.nodes):
            del cache[stale]
    for node_id in graph.topological_order():
        node = graph.nodes[node_id]
        in_edges = graph.in_edges(node_id)
        spec = get_spec(node.kind)
        count = spec.num_inputs(node.params)
        missing = [p for p in range(count) if p not in in_edges]
        if missing:
            report.diagnostics.append(_unconnected(node_id, node.kind, count, missing))
            continue
        upstream = [report.outputs.get(in_edges[p].src) for p in range(count)]
        if any(shapes is None for shapes in upstream):
            continue
        ins = [shapes[in_edges[p].src_port] for p, shapes in enumerate(upstream)]  # type: ignore[index]
        key = (node.kind, tuple(sorted(node.params.items())), tuple(ins))
        hit = cache.get(node_id) if cache is not None else None
        if hit is not None and hit[0] == key:
            outs, diags = hit[1]
        else:
            outs, diags = _infer_node(node_id, spec, ins, node.params)
            if cache is not None:
                cache[node_id] = (key, (outs, diags))
        report.diagnostics.extend(diags)
        if spec.integer_input:
            report.diagnostics.extend(_integer_source(graph, node_id, in_edges[0].src))
        if outs is not None:
            report.inputs[node_id] = ins
            report.outputs[node_id] = outs
    return report


def _infer_node(
    node_id: str, spec: LayerSpec, ins: list[Shape], params: Mapping[str, Any]
) -> _NodeResult:
    try:
        outs = [tuple(s) for s in spec.output_shapes(ins, params)]
    except ShapeError as err:
        return None, [Diagnostic(node_id, "error", err.message, err.hint)]
    findings: list[Finding] = spec.check(ins, outs, params)
    return outs, [Diagnostic(node_id, f.severity, f.message, f.hint) for f in findings]


def _integer_source(graph: Graph, node_id: str, source_id: str) -> list[Diagnostic]:
    """Layers that read whole-number ids (Embedding) must get them straight from an Input."""
    kind = graph.nodes[node_id].kind
    source = graph.nodes[source_id]
    if source.kind != "Input":
        return [
            Diagnostic(
                node_id,
                "error",
                f"{kind} reads whole-number ids (such as word numbers), but gets the decimal "
                f"output of {source.name} ({source.kind}).",
                f"Connect the {kind} straight to an Input whose dtype is int32, holding the ids.",
            )
        ]
    if source.params.get("dtype") != "int32":
        return [
            Diagnostic(
                node_id,
                "warning",
                f"{kind} reads whole-number ids, but its Input {source.name} holds decimal "
                "numbers (dtype float32); they will be cut to whole numbers.",
                f"Set the dtype of {source.name} to int32.",
            )
        ]
    return []


def _unconnected(node_id: str, kind: str, count: int, missing: list[int]) -> Diagnostic:
    if count == 1:
        message = f"Nothing is connected to the input of this {kind}."
    else:
        ports = ", ".join(str(p + 1) for p in missing)
        message = f"This {kind} has {count} inputs but nothing is connected to input {ports}."
    return Diagnostic(
        node_id,
        "error",
        message,
        "Drag a wire from the output of the layer that should feed it, or delete it.",
    )


def _model_diagnostics(graph: Graph, report: ShapeReport) -> list[Diagnostic]:
    kinds = {n.kind for n in graph.nodes.values()}
    found: list[Diagnostic] = []
    if "Input" not in kinds:
        found.append(
            Diagnostic(
                None,
                "error",
                "The model has no Input layer, so no data can enter it.",
                "Drag an Input layer onto the canvas and set its shape to the shape of one "
                "sample of your data.",
            )
        )
    if "Output" not in kinds:
        found.append(
            Diagnostic(
                None,
                "error",
                "The model has no Output layer, so it predicts nothing.",
                "Add an Output layer after the last layer of the model.",
            )
        )
        return found
    live = _leading_to_output(graph)
    report.live = live
    for node_id, node in graph.nodes.items():
        if node_id in live or node.kind == "Output":
            continue
        if node.kind == "Input" and not graph.out_edges(node_id):
            found.append(
                Diagnostic(
                    node_id,
                    "warning",
                    "This Input is not connected to anything, so its data is never used.",
                    "Connect it to the first layer that should read it, or delete it.",
                )
            )
        elif not graph.out_edges(node_id):
            found.append(
                Diagnostic(
                    node_id,
                    "warning",
                    "This branch ends here without reaching an Output, so its result is "
                    "never used.",
                    "Connect it onward (for example into an Add or Concatenate), add an "
                    "Output after it, or delete it.",
                )
            )
    return found


def _leading_to_output(graph: Graph) -> set[str]:
    """Ids of the layers from which some Output can be reached (Outputs included)."""
    stack = [nid for nid, n in graph.nodes.items() if n.kind == "Output"]
    seen = set(stack)
    while stack:
        nid = stack.pop()
        for edge in graph.in_edges(nid).values():
            if edge.src not in seen:
                seen.add(edge.src)
                stack.append(edge.src)
    return seen
