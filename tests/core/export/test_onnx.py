"""ONNX export: onnxruntime gives the studio's outputs, for any batch size."""

from __future__ import annotations

import numpy as np
import pytest

from core.compile import compile_graph
from core.export import ExportError, ExportRequest, export_files
from core.templates import load_template, template_names
from tests.core.export.torch_checks import example_inputs, studio_outputs
from tests.core.graph_strategies import two_heads

onnxruntime = pytest.importorskip("onnxruntime")


def run_onnx(data: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    inputs = [x.astype(np.int64) if x.dtype.kind == "i" else x for x in inputs]  # ids: int64
    return list(session.run(None, dict(zip(names, inputs, strict=True))))


@pytest.mark.parametrize("name", [*template_names(), "two_heads"])
def test_onnx_predicts_like_the_studio(name: str) -> None:
    graph = two_heads() if name == "two_heads" else load_template(name)
    module = compile_graph(graph, seed=1)
    exported = export_files(ExportRequest(graph, module), "onnx")
    assert module.training  # left as it was
    inputs = example_inputs(graph, count=5)  # exported with 2 samples: the batch is free
    ours = studio_outputs(module, inputs)
    theirs = run_onnx(exported.main, inputs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(b, a, atol=1e-5, rtol=1e-5)
    assert "onnxruntime.InferenceSession" in exported.text


def test_an_incomplete_model_is_refused_in_a_sentence() -> None:
    with pytest.raises(ExportError, match="not complete yet"):
        export_files(ExportRequest(load_template("mlp"), None), "onnx")


def test_an_exporter_failure_is_a_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Unsupported: something\nwith a long trace")

    monkeypatch.setattr(torch.onnx, "export", broken)
    graph = load_template("mlp")
    with pytest.raises(ExportError, match="could not export this model to ONNX: Unsupported"):
        export_files(ExportRequest(graph, compile_graph(graph, seed=0)), "onnx")
