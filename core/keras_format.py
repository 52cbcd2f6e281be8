"""Reading Keras models: a ``model_config`` becomes a studio graph, Keras weights its weights.

Covers Sequential and Functional models written by Keras 2 (tf_keras) and Keras 3, in both
flavours of ``inbound_nodes`` (keras-h5.md §3). A model with anything the studio cannot reproduce
exactly (an unknown layer class, a setting a spec names in ``keras_problems``, a layer used
twice) is refused whole, with every reason at once: nothing is half-loaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from torch import fx

from core.compile import model_info
from core.graph import Graph, GraphError
from core.layers import KerasContext, LayerSpec, all_specs, get_spec
from core.layout import apply_layout
from core.shapes import infer_shapes


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
    problems: list[str] = []
    specs = _specs_by_class()
    for entry in layers:
        cls = entry.get("class_name") if isinstance(entry, dict) else None
        if cls not in specs:
            name = entry.get("config", {}).get("name", "?") if isinstance(entry, dict) else "?"
            problems.append(f"Layer {name!r} is a {cls}, which the studio does not have.")
        else:
            problems += [
                f"{cls} {entry['config'].get('name', '')!r}: {p}"
                for p in specs[cls].keras_problems(entry.get("config", {}))
            ]
    if problems:
        known = ", ".join(sorted(s for s in specs if s != "InputLayer"))
        raise KerasFormatError([*problems, f"The studio can open models made of: {known}."])
    result = KerasImport(Graph(name=_model_name(config)))
    try:
        if kind == "Sequential":
            _sequential(result, config, layers, specs)
        elif kind in ("Functional", "Model"):
            _functional(result, config, layers, specs)
        else:
            raise KerasFormatError([f"A {kind} model is not a Sequential or Functional model."])
    except KerasFormatError:
        raise
    except (GraphError, KeyError, IndexError, TypeError, ValueError) as err:
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


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_keras_h5(path: str | Path) -> tuple[dict[str, Any], dict[str, list[np.ndarray]]]:
    """The ``model_config`` and the weights (Keras layer name -> arrays) of a Keras ``.h5``.

    This reads a well-formed file; the [files] work adds the checks for hostile ones.
    """
    with h5py.File(path, "r") as f:
        if "model_config" not in f.attrs:
            raise KerasFormatError(["The file has no model_config: it is not a Keras model."])
        config = json.loads(_text(f.attrs["model_config"]))
        weights: dict[str, list[np.ndarray]] = {}
        group = f.get("model_weights", f)
        for layer in group.attrs.get("layer_names", []):
            name = _text(layer)
            names = [_text(w) for w in group[name].attrs.get("weight_names", [])]
            weights[name] = [np.asarray(group[name][w]) for w in names]
    return config, weights
