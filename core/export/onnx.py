"""The trained model as an ONNX file, through ``torch.onnx``, for runtimes beyond Python.

Inputs and outputs are named after the Input and Output layers, the batch axis is dynamic, and
an Embedding's ids are int64. ``onnxruntime`` (the ``onnx`` extra) runs the file.
"""

from __future__ import annotations

import io
import warnings

import torch

from core.compile import ModelInfo, model_info, python_name
from core.export import ExportedFiles, ExportError, ExportRequest
from core.graph import Graph
from core.layers.spec import format_shape
from core.shapes import infer_shapes

OPSET = 17


def onnx_export(request: ExportRequest) -> ExportedFiles:
    """The ONNX file of the request's trained module, with a description to preview.

    Raises:
        ExportError: With a sentence when there is no module or the exporter fails.
    """
    module = request.module
    if module is None:
        raise ExportError(
            "The model is not complete yet, so there is nothing to export to ONNX; fix the "
            "problems on the canvas first."
        )
    info = model_info(module)
    graph = request.graph
    taken: set[str] = set()
    inputs = [python_name(graph.nodes[n].name, taken) for n in info.inputs]
    outputs = [python_name(graph.nodes[n].name, taken) for n in info.outputs]
    integer = [graph.nodes[n].params.get("dtype") == "int32" for n in info.inputs]
    examples = tuple(
        torch.zeros((2, *shape), dtype=torch.int64 if ids else torch.float32)
        for shape, ids in zip(info.input_shapes, integer, strict=True)
    )
    axes = {name: {0: "batch"} for name in inputs + outputs}
    buffer = io.BytesIO()
    training = module.training
    module.eval()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                examples,
                buffer,  # type: ignore[arg-type]  # the legacy exporter takes a file object
                input_names=inputs,
                output_names=outputs,
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )
    except Exception as err:  # the exporter raises many kinds; the user gets one sentence
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ExportError(f"PyTorch could not export this model to ONNX: {reason}") from None
    finally:
        module.train(training)
    data = buffer.getvalue()
    return ExportedFiles(data, {}, _description(inputs, outputs, integer, info, data, graph))


def _description(
    inputs: list[str],
    outputs: list[str],
    integer: list[bool],
    info: ModelInfo,
    data: bytes,
    graph: Graph,
) -> str:
    report = infer_shapes(graph)
    lines = [f"An ONNX model (opset {OPSET}), {len(data) / 1e6:.2f} MB.", "", "Inputs:"]
    for name, shape, ids in zip(inputs, info.input_shapes, integer, strict=True):
        kind = "int64 ids" if ids else "float32"
        lines.append(f"    {name}: batch × {format_shape(shape)}, {kind}")
    lines.append("Outputs:")
    for name, node_id in zip(outputs, info.outputs, strict=True):
        edge = graph.in_edges(node_id)[0]
        shape = report.outputs[edge.src][edge.src_port]
        lines.append(f"    {name}: batch × {format_shape(shape)}")
    feed = ", ".join(f'"{n}": x{i}' for i, n in enumerate(inputs))
    lines += [
        "",
        "Run it with onnxruntime (images are channels first, as in PyTorch):",
        "",
        "    import onnxruntime",
        '    session = onnxruntime.InferenceSession("model.onnx")',
        f"    outputs = session.run(None, {{{feed}}})",
    ]
    return "\n".join(lines) + "\n"
