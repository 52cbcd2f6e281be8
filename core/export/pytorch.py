"""The model as one standalone PyTorch script that a learner can read and run.

The file imports only torch, numpy, h5py and the standard library. It holds, in order:

* the helpers its layers need (a Keras-style padding, a weight loader...);
* an ``nn.Module`` class whose submodules carry the layers' names and whose ``forward`` reads
  like hand-written code (``x = F.relu(self.conv2d(x))``);
* ``load_weights``, which copies the weights the studio saved in its ``.h5`` file;
* the data loading for what the model was trained on (:mod:`core.export.data_code`);
* the training loop with the studio's optimizer, loss and metrics, which also runs under
  ``torchrun`` with DistributedDataParallel (:mod:`core.export.training_code`);
* ``predict`` and a command line of its own.

Each layer's code comes from :mod:`core.export.torch_layers`. Names from the document reach
the code only as checked identifiers (:func:`core.compile.python_name`) or through
:func:`repr`: nothing in a model file can add code to the script.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.compile import python_name
from core.export.codeformat import format_lines, quoted
from core.export.data_loading import data_code
from core.export.fit_code import training_code
from core.export.script_main import main_source, predict_source
from core.export.section import Section, import_block
from core.export.torch_layers import (
    HELPERS,
    Layer,
    LayerCode,
    helper,
    helpers_in_order,
    kinds_with_code,
    layer_code,
)
from core.graph import Graph
from core.keras_format import keras_names
from core.shapes import ShapeReport, infer_shapes
from core.training_settings import TrainingSettings

#: Names the script defines or imports at module level: no local variable may hide them.
_MODULE_NAMES = {
    "I",  # ambiguous in most fonts: ruff (E741) refuses them as variable names
    "O",
    "l",
    "Path",
    "DistributedDataParallel",
    "dist",
    "csv",
    "gzip",
    "struct",
    "argparse",
    "os",
    "h5py",
    "np",
    "torch",
    "nn",
    "F",
    "self",
    "main",
    "predict",
    "load_weights",
    "load_data",
    "fit",
    "evaluate",
}
_LONGEST_NAME = 40

KERAS_ARRAYS = helper(
    "keras_arrays",
    '''
    def keras_arrays(group):
        """A layer's weight arrays in a Keras .h5 file, in the order Keras saved them."""
        names = group.attrs["weight_names"]
        names = [n.decode() if isinstance(n, bytes) else n for n in names]
        return [np.asarray(group[name]) for name in names]
    ''',
)


class ExportGraphError(ValueError):
    """The graph cannot become a script (it has errors, or a layer has no code yet)."""


@dataclass(frozen=True)
class PyTorchExport:
    """An exported script and the files it reads from beside it.

    Attributes:
        code: The script.
        companions: Other files by name (a built-in sample's data), for the same folder.
    """

    code: str
    companions: dict[str, bytes] = field(default_factory=dict)


@dataclass
class _Node:
    """One live layer as the model section writes it."""

    node_id: str
    code: LayerCode
    attr: str | None  # the submodule's attribute, when the layer has one
    results: list[str]  # the variable of each output port


def _identifier(name: str, taken: set[str]) -> str:
    return python_name(name[:_LONGEST_NAME], taken)


def class_name(graph: Graph) -> str:
    """The model's class name: its name in CamelCase (``mnist_cnn`` -> ``MnistCnn``)."""
    kinds_with_code()  # every helper declared, so that none is taken
    words = python_name(graph.name, set()).split("_")
    name = "".join(w[:1].upper() + w[1:] for w in words if w)[:_LONGEST_NAME]
    if not (name.isidentifier() and name[0].isalpha()):
        return "Model"
    if name in _MODULE_NAMES or name in HELPERS or name.isupper() or len(name) < 3:
        return name + "Model"  # never one of the file's own names (F, EPOCHS, Path...)
    return name


def _layer(graph: Graph, report: ShapeReport, node_id: str) -> Layer:
    node = graph.nodes[node_id]
    outputs = tuple(tuple(s) for s in report.outputs[node_id])
    return Layer(node.kind, node.params, tuple(tuple(s) for s in report.inputs[node_id]), outputs)


def _is_chain(graph: Graph, live: list[str], nodes: dict[str, _Node]) -> bool:
    """True when every layer reads the one before it: the forward can use ``x`` throughout."""
    inputs = [n for n in live if graph.nodes[n].kind == "Input"]
    outputs = [n for n in live if graph.nodes[n].kind == "Output"]
    if len(inputs) != 1 or len(outputs) != 1:
        return False
    readers: dict[str, int] = {}
    for node_id in live:
        edges = list(graph.in_edges(node_id).values())
        if graph.nodes[node_id].kind != "Input" and len(edges) != 1:
            return False
        for edge in edges:
            readers[edge.src] = readers.get(edge.src, 0) + 1
    several = any(n.code.outputs > 1 for n in nodes.values())
    return not several and all(count == 1 for count in readers.values())


def model_section(graph: Graph, name: str) -> tuple[Section, list[str]]:
    """The model class, ``load_weights`` and ``predict``.

    Returns:
        The section, and the python names of the model's outputs (for saving predictions).

    Raises:
        ExportGraphError: When the graph has errors or a layer has no code.
    """
    report = infer_shapes(graph)
    if report.errors:
        count = len(report.errors)
        raise ExportGraphError(
            f"The model is not complete yet ({count} problem{'s' * (count != 1)} to fix on "
            "the canvas); it can be exported once its shapes fit."
        )
    order = [n for n in graph.topological_order() if n in report.live]
    inputs = [n for n in graph.nodes if n in report.live and graph.nodes[n].kind == "Input"]
    outputs = [n for n in graph.nodes if n in report.live and graph.nodes[n].kind == "Output"]
    nodes: dict[str, _Node] = {}
    for node_id in order:
        kind = graph.nodes[node_id].kind
        if kind in ("Input", "Output"):
            continue
        try:
            code = layer_code(_layer(graph, report, node_id))
        except ValueError as err:
            raise ExportGraphError(str(err)) from None
        nodes[node_id] = _Node(node_id, code, None, [])
    chain = _is_chain(graph, order, nodes)
    attrs: set[str] = set()
    variables: set[str] = set(_MODULE_NAMES) | set(HELPERS)  # locals hide no module name
    helpers = [KERAS_ARRAYS]
    values: dict[tuple[str, int], str] = {}
    arguments = []
    for node_id in inputs:
        var = "x" if chain else _identifier(graph.nodes[node_id].name, variables)
        values[(node_id, 0)] = var
        arguments.append(var)
    init: list[str] = []
    forward: list[str] = []
    for node_id in order:
        item = nodes.get(node_id)
        if item is None:
            continue
        node = graph.nodes[node_id]
        code = item.code
        helpers += code.helpers
        if code.load:
            helpers.append(code.load)
        if code.module is not None:
            item.attr = _identifier(node.name, attrs)
            init.append(f"self.{item.attr} = {code.module}")
        sources = [values[(e.src, e.src_port)] for _, e in sorted(graph.in_edges(node_id).items())]
        layer = f"self.{item.attr}" if item.attr else ""
        expression = code.call.format(*sources, layer=layer, inputs=", ".join(sources))
        if chain:
            item.results = ["x"]
        elif code.outputs == 1:
            item.results = [_identifier(node.name, variables)]
        else:
            item.results = [
                _identifier(f"{node.name}_{port}" if port else node.name, variables)
                for port in range(code.outputs)
            ]
        for port, var in enumerate(item.results):
            values[(node_id, port)] = var
        forward.append(f"{', '.join(item.results)} = {expression}")
    results = []
    output_names: list[str] = []
    taken_outputs: set[str] = set()
    for node_id in outputs:
        edge = graph.in_edges(node_id)[0]
        results.append(values[(edge.src, edge.src_port)])
        output_names.append(_identifier(graph.nodes[node_id].name, taken_outputs))
    forward.append(f"return {', '.join(results)}")
    dtypes = [
        "torch.int64" if graph.nodes[n].params.get("dtype") == "int32" else "torch.float32"
        for n in inputs
    ]
    shapes = [tuple(report.outputs[n][0]) for n in inputs]
    parts = [h.source for h in helpers_in_order(list(dict.fromkeys(helpers)))]
    parts.append(
        _class_source(name, graph, report, inputs, outputs, arguments, init, forward, shapes)
    )
    parts.append(_load_weights_source(graph, nodes))
    parts.append(predict_source(dtypes))
    imports = (
        "import h5py",
        "import numpy as np",
        "import torch",
        "import torch.nn.functional as F",
    )
    return Section("\n\n".join(parts), (*imports, "from torch import nn")), output_names


def _class_source(
    name: str,
    graph: Graph,
    report: ShapeReport,
    inputs: list[str],
    outputs: list[str],
    arguments: list[str],
    init: list[str],
    forward: list[str],
    shapes: list[tuple[int, ...]],
) -> str:
    takes = ", ".join(
        f"{arg} {_shape_text(shape)}" for arg, shape in zip(arguments, shapes, strict=True)
    )
    gives = ", ".join(
        _shape_text(tuple(report.outputs[graph.in_edges(n)[0].src][graph.in_edges(n)[0].src_port]))
        for n in outputs
    )
    lines = [
        f"class {name}(nn.Module):",
        f'    """The model made in Layer Studio. Takes {takes}; gives {gives}.',
        "",
        "    Shapes are PyTorch's: samples first, then an image's channels, height and width.",
        '    """',
        "",
        "    def __init__(self):",
        "        super().__init__()",
    ]
    lines += format_lines(init, 8) if init else []
    lines += ["", f"    def forward(self, {', '.join(arguments)}):"]
    lines += format_lines(forward, 8)
    return "\n".join(lines) + "\n"


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(N, " + ", ".join(str(d) for d in shape) + ")"


def _load_weights_source(graph: Graph, nodes: Mapping[str, _Node]) -> str:
    names = keras_names(graph)
    lines = [
        "def load_weights(model, path):",
        '    """Copy the trained weights from a .h5 file saved by the studio (a Keras file)."""',
        '    with h5py.File(path, "r") as file, torch.no_grad():',
        '        if "model_weights" not in file:',
        '            raise SystemExit(f"{path} holds no Keras weights; save the model again.")',
    ]
    body = []
    for item in nodes.values():
        if item.code.load and item.attr:
            arrays = f"keras_arrays(weights[{quoted(names[item.node_id])}])"
            body.append(f"{item.code.load}(model.{item.attr}, {arrays})")
    if body:
        lines.append('        weights = file["model_weights"]')
        lines += format_lines(body, 8)
    else:
        lines.append("        pass  # none of this model's layers has weights")
    return "\n".join(lines) + "\n"


def pytorch_export(
    graph: Graph,
    settings: TrainingSettings | None = None,
    data: Mapping[str, Any] | None = None,
    stem: str = "model",
) -> PyTorchExport:
    """The script for ``graph``, trained with ``settings`` on the data of ``data`` (a model
    file's data record, :attr:`core.h5io.ModelFile.data`); ``stem`` names the script
    (``model`` for ``model.py``) and the files it writes or reads beside it.

    Raises:
        ExportGraphError: When the graph has errors or a layer has no code yet.
    """
    settings = settings or TrainingSettings()
    name = class_name(graph)
    model, output_names = model_section(graph, name)
    data_part = data_code(dict(data) if data else None, stem)
    training = training_code(graph, settings)
    sections = [model, data_part.section, training]
    imports = ["import argparse", "import os"] + [line for s in sections for line in s.imports]
    title = python_name(graph.name, set())
    docstring = "\n".join(
        [
            f'"""{title}: a model made in Layer Studio, as a standalone PyTorch script.',
            "",
            f"It trains on {_plain(data_part.description)}.",
            "",
            "    python this_file.py                     # train, then save the weights",
            "    torchrun --nproc_per_node 2 this_file.py  # the same on two processes",
            "    python this_file.py --weights model.h5 --predict x.npy -o y.npy",
            '"""',
        ]
    )
    parts = [s.source for s in sections]
    parts.append(main_source(name, stem, output_names))
    parts.append('if __name__ == "__main__":\n    main()\n')
    body = "\n\n".join(p.rstrip("\n") + "\n" for p in parts)
    used = [line for line in imports if re.search(rf"\b{line.split()[-1]}\b", body)]
    code = docstring + "\n\n" + import_block(used) + "\n\n\n" + body
    return PyTorchExport(code, dict(data_part.companions))


def _plain(text: str) -> str:
    """A description safe inside the docstring (no quotes or backslashes to end it early)."""
    return text.replace("\\", "/").replace('"""', "'''").replace("\n", " ")
