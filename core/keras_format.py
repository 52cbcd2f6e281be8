"""Reading Keras models: a ``model_config`` becomes a studio graph, Keras weights its weights.

Covers Sequential and Functional models written by Keras 2 (tf_keras) and Keras 3, in both
flavours of ``inbound_nodes`` (keras-h5.md §3). A model with anything the studio cannot reproduce
exactly (an unknown layer class, a setting a spec names in ``keras_problems``, a layer used
twice) is refused whole, with every reason at once: nothing is half-loaded.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from torch import fx

from core.compile import model_info
from core.graph import Graph, GraphError
from core.layers import KerasContext, LayerSpec, all_specs, get_spec
from core.layout import apply_layout
from core.shapes import ShapeReport, infer_shapes


class KerasFormatError(ValueError):
    """A Keras model the studio cannot open; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        text = "This Keras model cannot be opened:\n" + "\n".join(f"- {p}" for p in problems)
        super().__init__(text)
        self.problems = problems


@dataclass
class KerasImport:
    """A Keras model as a studio graph, plus which node each Keras layer became."""

    graph: Graph
    nodes: dict[str, str] = field(default_factory=dict)  # Keras layer name -> node id
    notes: list[str] = field(default_factory=list)  # what the user should know


#: The most layers a Keras model may have to be opened.
MAX_LAYERS = 10_000


def _specs_by_class() -> dict[str, LayerSpec]:
    return {s.keras_class: s for s in all_specs() if s.keras_class}


def _history(value: Any) -> Iterator[tuple[str, int, int]]:
    """Every ``(layer, node_index, tensor_index)`` an ``inbound_nodes`` entry refers to, in
    order: Keras 3's ``keras_history`` triples or Keras 2's ``[name, node, tensor, kwargs]``."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            layer, node_index, tensor_index = value["config"]["keras_history"][:3]
            yield str(layer), int(node_index), int(tensor_index)
            return
        for item in value.values():  # Keras 3: "args", then "kwargs"
            yield from _history(item)
    elif isinstance(value, list):
        if (
            len(value) >= 3
            and isinstance(value[0], str)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value[1:3])
        ):
            yield value[0], value[1], value[2]
            return
        for item in value:
            yield from _history(item)


def _triples(value: Any) -> list[tuple[str, int, int]]:
    """``input_layers``/``output_layers``: a list of triples, or one triple (older files)."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        value = [value]
    return [(str(v[0]), int(v[1]), int(v[2])) for v in value or [] if isinstance(v, list)]


def graph_from_keras_config(model_config: Mapping[str, Any]) -> KerasImport:
    """The studio graph of a Keras ``model_config`` (Sequential or Functional).

    Raises:
        KerasFormatError: With every reason the model cannot be reproduced exactly.
    """
    if not isinstance(model_config, Mapping) or not isinstance(model_config.get("config"), dict):
        raise KerasFormatError(["The file's model_config is not a Keras model description."])
    kind = model_config.get("class_name")
    config = model_config["config"]
    layers = config.get("layers")
    if not isinstance(layers, list):
        raise KerasFormatError(["The model has no list of layers."])
    if len(layers) > MAX_LAYERS:
        raise KerasFormatError(
            [f"The model has {len(layers):,} layers; the studio opens at most {MAX_LAYERS:,}."]
        )
    problems: list[str] = []
    notes: list[str] = []
    specs = _specs_by_class()
    for i, entry in enumerate(layers):
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("class_name"), str)
            and isinstance(entry.get("config"), dict)
        ):
            problems.append(f"Layer #{i + 1} is not a Keras layer description.")
            continue
        cls, layer_config = entry["class_name"][:100], entry["config"]
        name = str(layer_config.get("name", entry.get("name", "?")))[:100]
        if cls not in specs:
            problems.append(f"Layer {name!r} is a {cls}, which the studio does not have.")
            continue
        try:
            problems += [f"{cls} {name!r}: {p}" for p in specs[cls].keras_problems(layer_config)]
            notes += [f"{cls} {name!r} {n}" for n in specs[cls].keras_notes(layer_config)]
        except (AttributeError, KeyError, IndexError, TypeError, ValueError):
            problems.append(f"{cls} {name!r} has settings that are not what Keras writes.")
    if problems:
        known = ", ".join(sorted(s for s in specs if s != "InputLayer"))
        raise KerasFormatError([*problems, f"The studio can open models made of: {known}."])
    result = KerasImport(Graph(name=_model_name(config)), notes=notes)
    try:
        if kind == "Sequential":
            _sequential(result, config, layers, specs)
        elif kind in ("Functional", "Model"):
            _functional(result, config, layers, specs)
        else:
            raise KerasFormatError([f"A {kind} model is not a Sequential or Functional model."])
    except KerasFormatError:
        raise
    except (GraphError, AttributeError, KeyError, IndexError, TypeError, ValueError) as err:
        raise KerasFormatError([f"The model description is inconsistent: {err}"]) from None
    report = infer_shapes(result.graph)
    if report.errors:
        raise KerasFormatError([d.text(result.graph) for d in report.errors])
    apply_layout(result.graph)
    return result


def _model_name(config: Mapping[str, Any]) -> str:
    name = config.get("name")
    return name if isinstance(name, str) and name and "/" not in name else "model"


def _add(result: KerasImport, spec: LayerSpec, entry: Mapping[str, Any]) -> str:
    layer_config = entry.get("config", {})
    name = layer_config.get("name") or entry.get("name")
    params = spec.params_from_keras(layer_config)
    graph = result.graph
    node = graph.add_node(spec.kind, params, name=graph.unique_name(str(name or spec.kind)))
    result.nodes[str(name)] = node.id
    return node.id


def _sequential(
    result: KerasImport, config: Mapping[str, Any], layers: list[Any], specs: dict[str, LayerSpec]
) -> None:
    graph = result.graph
    entries = list(layers)
    if entries and entries[0]["class_name"] == "InputLayer":
        prev = _add(result, specs["InputLayer"], entries.pop(0))
    else:
        first = entries[0]["config"] if entries else {}
        shape = first.get("batch_input_shape") or config.get("build_input_shape")
        if not shape:
            raise KerasFormatError(["The model does not say the shape of its input."])
        source = {"config": {"name": "input", "batch_input_shape": shape}}
        prev = _add(result, specs["InputLayer"], source)
    for entry in entries:
        node = _add(result, specs[entry["class_name"]], entry)
        graph.connect(prev, node)
        prev = node
    graph.connect(prev, graph.add_node("Output").id)


def _functional(
    result: KerasImport, config: Mapping[str, Any], layers: list[Any], specs: dict[str, LayerSpec]
) -> None:
    graph = result.graph
    for entry in layers:
        name = entry.get("name") or entry["config"].get("name")
        inbound = entry.get("inbound_nodes") or []
        if len(inbound) > 1:
            raise KerasFormatError([f"Layer {name!r} is used more than once (a shared layer)."])
        node = _add(result, specs[entry["class_name"]], entry)
        sources = list(_history(inbound[0])) if inbound else []
        for port, (src, node_index, tensor_index) in enumerate(sources):
            if node_index != 0:
                raise KerasFormatError([f"Layer {name!r} reads a shared layer's second use."])
            graph.connect(result.nodes[src], node, tensor_index, port)
    for src, _, tensor_index in _triples(config.get("output_layers")):
        out = graph.add_node("Output", name=graph.unique_name(f"{src}_output"))
        graph.connect(result.nodes[src], out.id, tensor_index, 0)


def load_keras_weights(
    module: fx.GraphModule,
    graph: Graph,
    imported: KerasImport,
    weights: Mapping[str, Sequence[np.ndarray]],
) -> None:
    """Put Keras weights (Keras layer name -> arrays in Keras's order) into a compiled module."""
    report = infer_shapes(graph)
    attrs = model_info(module).modules
    problems = []
    for keras_name, node_id in imported.nodes.items():
        arrays = weights.get(keras_name, [])
        node = graph.nodes[node_id]
        if node_id not in attrs:
            if arrays:
                problems.append(f"Layer {keras_name!r} has weights but is not part of the model.")
            continue
        ctx = KerasContext(tuple(report.inputs[node_id]))
        try:
            get_spec(node.kind).set_keras_weights(module.get_submodule(attrs[node_id]), arrays, ctx)
        except ValueError as err:
            problems.append(f"Layer {keras_name!r}: {err}")
    if problems:
        raise KerasFormatError(problems)


# -- writing ---------------------------------------------------------------------------------

#: What the studio writes as the Keras version: files follow the Keras 2 profile of
#: keras-h5.md §10, which Keras 2 and Keras 3 both load.
KERAS_VERSION = "2.15.0"
KERAS_BACKEND = "tensorflow"


@dataclass
class KerasLayerWeights:
    """One layer's group in ``model_weights``: its name, its node and its named arrays."""

    group: str
    node_id: str
    arrays: list[tuple[str, np.ndarray]]


def keras_export_problems(graph: Graph, report: ShapeReport | None = None) -> list[str]:
    """Why Keras could not load this graph as a model, as sentences (empty when it can)."""
    report = report or infer_shapes(graph)
    if report.errors:
        count = len(report.errors)
        return [f"The model is not complete yet ({count} problem{'s' * (count != 1)} to fix)."]
    problems = []
    for node_id in graph.topological_order():
        node = graph.nodes[node_id]
        live = node_id in report.live and node.kind != "Output"
        if live and not get_spec(node.kind).keras_class:
            problems.append(f"Keras has no layer like {node.kind} ({node.name!r}).")
    return problems


def _live_layers(graph: Graph, report: ShapeReport) -> list[str]:
    """The live layers (not Outputs) in the order of Keras's ``model.layers``.

    Keras pairs a file's weights with its layers by position, in the order its ``map_graph``
    gives them (Keras 2 and 3 alike): a depth-first walk from each output, in order, numbers
    the layers as it meets them; layers are then sorted by their distance from the outputs,
    farthest first, ties in walk order.
    """
    outputs = [n for n in graph.nodes if n in report.live and graph.nodes[n].kind == "Output"]

    def parents(node_id: str) -> list[str]:
        return [e.src for _, e in sorted(graph.in_edges(node_id).items())]

    index: dict[str, int] = {}
    walked: list[str] = []  # each layer after all it reads: inputs towards outputs
    done: set[str] = set()
    for output in outputs:
        stack = [(graph.in_edges(output)[0].src, False)]
        while stack:
            node_id, expanded = stack.pop()
            if expanded:
                if node_id not in done:
                    done.add(node_id)
                    walked.append(node_id)
                continue
            if node_id in index:
                continue
            index[node_id] = len(index)
            stack.append((node_id, True))
            stack.extend((p, False) for p in reversed(parents(node_id)) if p not in index)
    depth: dict[str, int] = {}
    for node_id in reversed(walked):
        here = depth.setdefault(node_id, 0)
        for parent in parents(node_id):
            depth[parent] = max(here + 1, depth.get(parent, 0))
    return sorted(walked, key=lambda n: (-depth[n], index[n]))


def keras_names(graph: Graph) -> dict[str, str]:
    """The name each layer has in a Keras file: its own, unless Keras cannot take it.

    Keras refuses ``/`` (the studio does too) and, on the torch backend, ``.`` in layer
    names; such a character becomes ``_``, kept unique. (Keras pairs weights with layers by
    position, and the studio part of the file keeps the real names.)
    """
    taken = {n.name for n in graph.nodes.values()}
    names = {}
    for node_id, node in graph.nodes.items():
        name = node.name
        if "." in name or name.startswith(" "):
            base = _keras_name(name)
            name, i = base, 1
            while name in taken:
                name, i = f"{base}_{i}", i + 1
            taken.add(name)
        names[node_id] = name
    return names


def _keras_name(name: str) -> str:
    """A model name Keras 3 takes: no '.' and no '/' (it refuses both)."""
    return name.replace(".", "_").replace("/", "_").strip() or "model"


def _is_stack(graph: Graph, report: ShapeReport, layers: list[str]) -> bool:
    """True when the live model is one chain: Input, single-port layers, one Output."""
    outputs = [n for n in graph.nodes if n in report.live and graph.nodes[n].kind == "Output"]
    if len(outputs) != 1 or len(layers) < 2 or graph.nodes[layers[0]].kind != "Input":
        return False
    chain = [*layers, outputs[0]]
    for prev, node_id in itertools.pairwise(chain):
        spec = get_spec(graph.nodes[node_id].kind)
        if (
            graph.nodes[node_id].kind == "Input"
            or spec.num_outputs(graph.nodes[node_id].params) > 1
        ):
            return False
        edges = list(graph.in_edges(node_id).values())
        if len(edges) != 1 or edges[0].src != prev or edges[0].src_port != 0:
            return False
    return True


def _layer_entry(graph: Graph, report: ShapeReport, node_id: str, name: str) -> dict[str, Any]:
    node = graph.nodes[node_id]
    spec = get_spec(node.kind)
    config = spec.keras_config(node.params, KerasContext(tuple(report.inputs[node_id])))
    if node.kind == "Input":
        return {"class_name": "InputLayer", "config": {"name": name, **config}}
    config = {"name": name, "dtype": "float32", **config}
    return {"class_name": spec.keras_class, "config": config}


def keras_model_config(graph: Graph, report: ShapeReport | None = None) -> dict[str, Any]:
    """The Keras-2-flavoured ``model_config`` (keras-h5.md §10) of a complete graph.

    A chain is a ``Sequential`` model, anything else a ``Functional`` one. Raises
    :class:`KerasFormatError` when :func:`keras_export_problems` finds reasons it cannot be.
    """
    report = report or infer_shapes(graph)
    problems = keras_export_problems(graph, report)
    if problems:
        raise KerasFormatError(problems)
    layers = _live_layers(graph, report)
    names = keras_names(graph)
    inputs_live = {n for n in layers if graph.nodes[n].kind == "Input"}
    if _is_stack(graph, report, layers):
        entries = [_layer_entry(graph, report, nid, names[nid]) for nid in layers]
        return {
            "class_name": "Sequential",
            "config": {"name": _keras_name(graph.name), "layers": entries},
        }
    functional = []
    for node_id in layers:
        entry = _layer_entry(graph, report, node_id, names[node_id])
        edges = [e for _, e in sorted(graph.in_edges(node_id).items())]
        inbound = [[names[e.src], 0, e.src_port, {}] for e in edges]
        functional.append(
            {
                **entry,
                "name": names[node_id],
                "inbound_nodes": [inbound] if edges else [],
            }
        )
    outputs = []
    for node_id in graph.nodes:
        if node_id in report.live and graph.nodes[node_id].kind == "Output":
            edge = graph.in_edges(node_id)[0]
            outputs.append([names[edge.src], 0, edge.src_port])
    inputs = [[names[n], 0, 0] for n in graph.nodes if n in inputs_live]
    config: dict[str, Any] = {"name": _keras_name(graph.name), "layers": functional}
    config.update(input_layers=inputs, output_layers=outputs)
    return {"class_name": "Functional", "config": config}


def keras_output_names(graph: Graph, report: ShapeReport | None = None) -> dict[str, str]:
    """For each live Output node, the name of the Keras layer whose result it is."""
    report = report or infer_shapes(graph)
    keras = keras_names(graph)
    names = {}
    for node_id in graph.nodes:
        if node_id in report.live and graph.nodes[node_id].kind == "Output":
            names[node_id] = keras[graph.in_edges(node_id)[0].src]
    return names


def keras_layer_weights(
    module: fx.GraphModule, graph: Graph, report: ShapeReport | None = None
) -> list[KerasLayerWeights]:
    """Every Keras layer of the model in model order, with its weights in Keras's layout.

    Weight names follow Keras 2 (``<layer>/<weight>:0``); a layer whose names repeat
    (Bidirectional) gets Keras's ``forward_``/``backward_`` halves.
    """
    report = report or infer_shapes(graph)
    attrs = model_info(module).modules
    keras = keras_names(graph)
    result = []
    for node_id in _live_layers(graph, report):
        node = graph.nodes[node_id]
        arrays: list[tuple[str, np.ndarray]] = []
        if node_id in attrs:
            ctx = KerasContext(tuple(report.inputs[node_id]))
            arrays = get_spec(node.kind).keras_weights(module.get_submodule(attrs[node_id]), ctx)
        names = [name for name, _ in arrays]
        if len(set(names)) != len(names):
            half = len(names) // 2
            names = [("forward_" if i < half else "backward_") + n for i, n in enumerate(names)]
        group = keras[node_id]
        named = [(f"{group}/{n}:0", a) for n, (_, a) in zip(names, arrays, strict=True)]
        result.append(KerasLayerWeights(group, node_id, named))
    return result
