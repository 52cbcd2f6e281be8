"""Turn a graph into a working PyTorch module: a ``torch.fx.GraphModule``.

The result is a real ``nn.Module`` with one submodule per layer (named after the layer) and a
generated ``forward`` that can be printed (``model.code``), traced, scripted, exported to ONNX and
given to ``torch.compile``. Its inputs are the Input layers and its results the Output layers,
both in the order the layers were added to the graph; one Output gives a tensor, several a tuple.
"""

from __future__ import annotations

import builtins
import keyword
import operator
import re
from dataclasses import dataclass

import numpy as np
import torch
from torch import fx, nn

from core.graph import Graph
from core.layers import get_spec
from core.shapes import Diagnostic, ShapeReport, infer_shapes

META_KEY = "layer_studio"
# fx renames a value that shadows a builtin (``input`` -> ``input_1``), which could collide
# with another layer's name; never hand fx such a name. A submodule may not take the name of
# anything a GraphModule has, class or instance attribute (``training``, ``graph``, ``code``),
# nor ``self``, the generated forward's first argument.
_BUILTINS = frozenset(dir(builtins))
_TAKEN_BY_MODULE = frozenset(
    {"self", *dir(fx.GraphModule), *vars(fx.GraphModule(nn.Module(), fx.Graph()))}
)


class CompileError(ValueError):
    """The graph has errors; ``diagnostics`` holds them."""

    def __init__(self, diagnostics: list[Diagnostic], graph: Graph) -> None:
        lines = [d.text(graph) for d in diagnostics]
        super().__init__("The model cannot be built yet:\n" + "\n".join(f"- {x}" for x in lines))
        self.diagnostics = diagnostics


@dataclass(frozen=True)
class ModelInfo:
    """What the compiled module's parts are in the graph.

    Attributes:
        inputs: Ids of the Input layers, in the order ``forward`` takes them.
        outputs: Ids of the Output layers, in the order ``forward`` returns them.
        modules: For each layer id, the attribute name of its submodule.
        input_shapes: One sample's shape for each input, in the studio's layout.
    """

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    modules: dict[str, str]
    input_shapes: tuple[tuple[int, ...], ...] = ()


def python_name(name: str, taken: set[str]) -> str:
    """A valid, unused Python identifier made from a layer name (added to ``taken``)."""
    ident = re.sub(r"\W", "_", name, flags=re.ASCII).strip("_") or "layer"
    if ident[0].isdigit() or keyword.iskeyword(ident) or ident.startswith("_"):
        ident = f"layer_{ident}"
    base, i = ident, 1
    while ident in taken or ident in _TAKEN_BY_MODULE or ident in _BUILTINS:
        ident = f"{base}_{i}"
        i += 1
    taken.add(ident)
    return ident


def compile_graph(
    graph: Graph,
    *,
    seed: int | None = None,
    report: ShapeReport | None = None,
    initialise: bool = True,
) -> fx.GraphModule:
    """Build the graph as a ``torch.fx.GraphModule``.

    Args:
        graph: The document; it must have no errors.
        seed: Seed for the weights' initialisation, which then does not disturb the global
            random state. None uses (and advances) the global generator.
        report: The graph's current :class:`~core.shapes.ShapeReport`, to avoid recomputing it.
        initialise: False leaves every weight at zero instead of drawing it, for a caller
            that loads them all (opening a file): drawing 50 million weights takes seconds.

    Returns:
        The module; :func:`model_info` tells which layers are its inputs, outputs and parts.

    Raises:
        CompileError: The graph has errors (each one is in the exception).
    """
    report = report or infer_shapes(graph)
    if report.errors:
        raise CompileError(report.errors, graph)
    if not initialise:
        with torch.device("meta"):
            module = _build(graph, report)
        return _zeros_on_cpu(module)
    if seed is None:
        return _build(graph, report)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _build(graph, report)


def _build(graph: Graph, report: ShapeReport) -> fx.GraphModule:
    root = nn.Module()
    fx_graph = fx.Graph()
    taken: set[str] = set()
    values: dict[tuple[str, int], fx.Node] = {}
    live = [nid for nid in graph.nodes if nid in report.live]  # document order
    inputs = [nid for nid in live if graph.nodes[nid].kind == "Input"]
    outputs = [nid for nid in live if graph.nodes[nid].kind == "Output"]
    for node_id in inputs:
        values[(node_id, 0)] = fx_graph.placeholder(python_name(graph.nodes[node_id].name, taken))
    modules: dict[str, str] = {}
    for node_id in graph.topological_order():
        node = graph.nodes[node_id]
        if node_id not in report.live or node.kind in ("Input", "Output"):
            continue
        spec = get_spec(node.kind)
        edges = sorted(graph.in_edges(node_id).items())
        args = tuple(values[(e.src, e.src_port)] for _, e in edges)
        attr = python_name(node.name, taken)
        root.add_module(attr, spec.build(report.inputs[node_id], node.params))
        modules[node_id] = attr
        result = fx_graph.call_module(attr, args)
        count = spec.num_outputs(node.params)
        if count == 1:
            values[(node_id, 0)] = result
        for port in range(count if count > 1 else 0):
            values[(node_id, port)] = fx_graph.call_function(operator.getitem, (result, port))
    results = []
    for node_id in outputs:
        edge = graph.in_edges(node_id)[0]
        results.append(values[(edge.src, edge.src_port)])
    fx_graph.output(results[0] if len(results) == 1 else tuple(results))
    module = fx.GraphModule(root, fx_graph, class_name=python_name(graph.name, set()))
    shapes = tuple(tuple(int(d) for d in report.outputs[nid][0]) for nid in inputs)
    module.meta[META_KEY] = ModelInfo(tuple(inputs), tuple(outputs), modules, shapes)
    return module


def _zeros_on_cpu(module: fx.GraphModule) -> fx.GraphModule:
    """Give a module built on the meta device real zero tensors, keeping each parameter's
    ``requires_grad`` and attributes (``Module.to_empty`` would drop the attributes)."""
    for sub in module.modules():
        for name, param in list(sub.named_parameters(recurse=False)):
            fresh = nn.Parameter(_lazy_zeros(param), param.requires_grad)
            fresh.__dict__.update(param.__dict__)
            setattr(sub, name, fresh)  # through setattr, so nn.RNN refreshes its weight list
        for name, buffer in list(sub.named_buffers(recurse=False)):
            setattr(sub, name, _lazy_zeros(buffer))
    return module


def _lazy_zeros(like: torch.Tensor) -> torch.Tensor:
    """Zeros shaped like ``like``, from ``calloc``: the memory is only touched when written
    (``torch.zeros`` writes every byte, a tenth of a second per 100 MB)."""
    dtype = torch.empty(0, dtype=like.dtype).numpy().dtype
    return torch.from_numpy(np.zeros(tuple(like.shape), dtype=dtype))


def model_info(module: fx.GraphModule) -> ModelInfo:
    """Which layers a module made by :func:`compile_graph` takes, returns and contains.

    Kept in the module's ``meta``, so it survives ``copy.deepcopy``.
    """
    info = module.meta.get(META_KEY)
    if not isinstance(info, ModelInfo):
        raise ValueError("This module was not made by compile_graph.")
    return info


def carry_weights(old: fx.GraphModule, new: fx.GraphModule) -> None:
    """Copy into ``new`` the weights of every layer that ``old`` has with the same shapes."""
    before, after = model_info(old).modules, model_info(new).modules
    for node_id, attr in after.items():
        if node_id not in before:
            continue
        source = old.get_submodule(before[node_id]).state_dict()
        target = new.get_submodule(attr).state_dict()
        if list(source) == list(target) and all(source[k].shape == target[k].shape for k in source):
            new.get_submodule(attr).load_state_dict(source)
