"""Does the data fit the model? Checks before training, each saying what to change, and
:func:`adapt`, which changes the model to fit (the Input shapes and the output units).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.data.dataset import Dataset
from core.graph import Graph
from core.layers import format_shape
from core.losses import check_targets
from core.shapes import infer_shapes
from core.training_settings import TrainingSettings

#: Layers that pass their input's width through, walked past to find the layer with units.
_PASS_THROUGH = {
    "Activation",
    "Dropout",
    "GaussianNoise",
    "BatchNormalization",
    "LayerNormalization",
}


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _inputs(graph: Graph) -> list[str]:
    return [n for n in graph.nodes if graph.nodes[n].kind == "Input"]


def _outputs(graph: Graph) -> list[str]:
    return [n for n in graph.nodes if graph.nodes[n].kind == "Output"]


def _width_layer(graph: Graph, output: str) -> str | None:
    """The layer whose ``units`` (or ``filters``) set the width of ``output``."""
    edge = graph.in_edges(output).get(0)
    while edge is not None:
        node = graph.nodes[edge.src]
        if "units" in node.params or "filters" in node.params:
            return node.id
        if node.kind not in _PASS_THROUGH:
            return None
        edge = graph.in_edges(node.id).get(0)
    return None


def _wanted_width(data: Dataset, loss: str) -> int:
    if data.task == "classification":
        if loss == "binary_crossentropy" and data.num_classes == 2:
            return 1
        return data.num_classes
    return int(data.y.shape[1]) if data.y.ndim == 2 else 1


def check_fit(graph: Graph, data: Dataset, settings: TrainingSettings) -> list[str]:
    """Why ``data`` cannot train ``graph`` with ``settings``, one sentence per problem."""
    report = infer_shapes(graph)
    if report.errors:
        return [f"The model has problems to fix first: {report.errors[0].text(graph)}"]
    problems = []
    inputs, outputs = _inputs(graph), _outputs(graph)
    if len(data.x) != len(inputs):
        problems.append(
            f"The model has {_count(len(inputs), 'Input layer')} but the data gives "
            f"{_count(len(data.x), 'input')}."
        )
    for node_id, shape in zip(inputs, data.input_shapes, strict=False):
        node = graph.nodes[node_id]
        expected = tuple(node.params["shape"])
        if expected != shape:
            problems.append(
                f"Your samples are {format_shape(shape)} but the Input layer {node.name!r} "
                f"expects {format_shape(expected)}: set its shape to {format_shape(shape)}."
            )
    if len(outputs) != 1:
        return [*problems, "Training needs a model with one Output layer."]
    output = outputs[0]
    loss = settings.loss_for(graph.nodes[output].name)
    shapes = report.inputs.get(output)
    if not shapes:
        return problems
    out_shape = tuple(shapes[0])
    width = out_shape[0] if len(out_shape) >= 3 else out_shape[-1] if out_shape else 1
    want = _wanted_width(data, loss)
    layer = _width_layer(graph, output)
    what = f"the last {graph.nodes[layer].kind}" if layer else "the model's output"
    if data.task == "classification" and width != want:
        problems.append(
            f"Your data has {data.num_classes} classes but {what} has {_count(width, 'unit')}: "
            f"set it to {want}."
        )
    elif data.task == "regression" and width != want:
        problems.append(
            f"Your data has {want} number{'s' if want != 1 else ''} to predict per sample "
            f"but {what} gives {width}: set it to {want}."
        )
    elif not problems:
        ids = loss == "categorical_crossentropy" and data.y.ndim == 1  # one-hot by the trainer
        axis = 1 if len(out_shape) >= 3 else -1  # the studio's images are channels first
        reason = check_targets(loss, out_shape, data.y, class_axis=axis, one_hot_ids=ids)
        if reason:
            problems.append(reason)
    return problems


@dataclass(frozen=True)
class Adapted:
    """A copy of the model changed to fit the data, and what was changed, in words."""

    graph: Graph
    changes: list[str]


def _flatten_for_dense(graph: Graph, input_id: str) -> list[str]:
    """Put a Flatten between an Input of images and the Dense layers it feeds (an MLP made
    for a table, given pictures)."""
    dense = [e for e in graph.out_edges(input_id) if graph.nodes[e.dst].kind == "Dense"]
    if not dense:
        return []
    x, y = graph.nodes[input_id].position
    flatten = graph.add_node("Flatten", position=(x + 40, y + 60))
    graph.connect(input_id, flatten.id)
    for edge in dense:
        graph.disconnect(edge)
        graph.connect(flatten.id, edge.dst, 0, edge.dst_port)
    return [f"Flatten {flatten.name!r} added after {graph.nodes[input_id].name!r}."]


def adapt(graph: Graph, data: Dataset, settings: TrainingSettings) -> Adapted:
    """Set the Input shapes to the data's and the last layer's units to the data's classes."""
    copy = graph.copy()
    changes = []
    for node_id, shape in zip(_inputs(copy), data.input_shapes, strict=False):
        node = copy.nodes[node_id]
        if tuple(node.params["shape"]) != shape:
            old = format_shape(node.params["shape"])
            copy.set_param(node_id, "shape", shape)
            changes.append(f"Input {node.name!r}: shape {old} → {format_shape(shape)}.")
            if len(shape) > 1:
                changes += _flatten_for_dense(copy, node_id)
    outputs = _outputs(copy)
    if len(outputs) == 1:
        layer = _width_layer(copy, outputs[0])
        if layer is not None:
            node = copy.nodes[layer]
            param = "units" if "units" in node.params else "filters"
            want = _wanted_width(data, settings.loss_for(copy.nodes[outputs[0]].name))
            if node.params[param] != want:
                old_value = node.params[param]
                copy.set_param(layer, param, want)
                changes.append(f"{node.kind} {node.name!r}: {param} {old_value} → {want}.")
    return Adapted(copy, changes)
