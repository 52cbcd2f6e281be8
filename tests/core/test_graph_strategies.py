"""The random-graph strategy gives valid, runnable graphs of every kind and every wiring."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from core.compile import compile_graph, model_info
from core.graph import Graph, name_problem
from core.layers import all_specs, get_spec
from core.shapes import infer_shapes
from tests.core.graph_strategies import (
    MAX_CHANNELS,
    MAX_FEATURES,
    MAX_SIDE,
    MAX_STEPS,
    MODULE_ATTRIBUTE_NAMES,
    example_batch,
    keras_compatible_graphs,
    layer_kinds,
    valid_graphs,
)

pytestmark = pytest.mark.filterwarnings("ignore:You are using a softmax")

ALL_KINDS = set(layer_kinds())
MERGES = {s.kind for s in all_specs() if s.kind != "Input" and s.num_inputs(s.defaults()) > 1}
FEATURES = (
    "merge",
    "merge of one tensor twice",
    "merge of different tensors",
    "branch",
    "two inputs",
    "two outputs",
    "side output",
    "second port used",
    "int ids",
    "odd name",
    "input straight to output",
)


def features_of(graph: Graph) -> set[str]:
    """Which wiring features (of :data:`FEATURES`) a graph has."""
    found = set()
    nodes = graph.nodes.values()
    count = Counter(n.kind for n in nodes)
    edges = graph.edges
    for node in nodes:
        sources = [(e.src, e.src_port) for e in graph.in_edges(node.id).values()]
        if node.kind in MERGES:
            found.add("merge")
            twice = len(set(sources)) < len(sources)
            found.add("merge of one tensor twice" if twice else "merge of different tensors")
        if len({e.dst for e in graph.out_edges(node.id)}) > 1:
            found.add("branch")  # feeds two layers or more
        if node.kind == "Output":
            source = graph.nodes[sources[0][0]]
            if any(graph.nodes[e.dst].kind != "Output" for e in graph.out_edges(source.id)):
                found.add("side output")  # its layer also feeds other layers
            if source.kind == "Input":
                found.add("input straight to output")
        if node.kind == "Input" and node.params["dtype"] == "int32":
            found.add("int ids")
    if count["Input"] >= 2:
        found.add("two inputs")
    if count["Output"] >= 2:
        found.add("two outputs")
    if any(e.src_port > 0 for e in edges):
        found.add("second port used")
    if any(not _keras_style(n.name) for n in nodes) or not _keras_style(graph.name):
        found.add("odd name")
    return found


def _keras_style(name: str) -> bool:
    return name.replace("_", "").isalnum() and name.isascii() and name == name.lower()


def check_valid(graph: Graph) -> None:
    """No errors, every layer live, sizes small, names valid and unique, JSON round trip."""
    report = infer_shapes(graph)
    assert report.errors == [], [d.text(graph) for d in report.errors]
    assert set(graph.nodes) == report.live, "a layer leads to no Output"
    kinds = [n.kind for n in graph.nodes.values()]
    assert 1 <= kinds.count("Input") <= 2 and kinds.count("Output") >= 1
    names = [n.name for n in graph.nodes.values()]
    assert len(set(names)) == len(names)
    assert all(name_problem(n) is None for n in [*names, graph.name])
    for node in graph.nodes.values():
        spec = get_spec(node.kind)
        assert spec.validate_params(node.params) == (node.params, [])
        assert len(graph.in_edges(node.id)) == spec.num_inputs(node.params)
        if node.kind == "Input":
            shape = node.params["shape"]
            limits = {1: (MAX_FEATURES,), 2: (MAX_STEPS, MAX_FEATURES)}.get(len(shape))
            limits = limits or (MAX_CHANNELS, MAX_SIDE, MAX_SIDE)
            assert all(d <= top for d, top in zip(shape, limits, strict=True)), shape
            if node.params["dtype"] == "int32":  # ids feed only layers that read ids
                readers = [graph.nodes[e.dst].kind for e in graph.out_edges(node.id)]
                assert all(get_spec(k).integer_input for k in readers), readers
    assert Graph.from_json(graph.to_json()).to_dict() == graph.to_dict()
    json.dumps(graph.to_dict(), ensure_ascii=False).encode("utf-8")  # no lone surrogates


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=valid_graphs(), seed=st.integers(0, 2**32 - 1))
def test_graphs_are_valid_compile_and_run(graph: Graph, seed: int) -> None:
    """Each graph is valid, compiles, and a batch of 2 gives every Output its inferred shape."""
    check_valid(graph)
    report = infer_shapes(graph)
    model = compile_graph(graph, seed=0, report=report).eval()
    xs = example_batch(graph, np.random.default_rng(seed), batch=2)
    info = model_info(model)
    assert len(xs) == len(info.inputs)
    with torch.no_grad():
        result = model(*(torch.from_numpy(x) for x in xs))
    results = result if isinstance(result, tuple) else (result,)
    assert len(results) == len(info.outputs)
    for output_id, value in zip(info.outputs, results, strict=True):
        edge = graph.in_edges(output_id)[0]
        assert tuple(value.shape) == (2, *report.outputs[edge.src][edge.src_port])
        assert value.dtype == torch.float32 or graph.nodes[edge.src].kind == "Input"


def test_every_kind_and_every_wiring_appears() -> None:
    """Over 400 seeded graphs each layer kind and each wiring feature turns up."""
    kinds: Counter[str] = Counter()
    features: Counter[str] = Counter()

    @settings(
        max_examples=400,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(valid_graphs())
    def collect(graph: Graph) -> None:
        check_valid(graph)
        kinds.update({n.kind for n in graph.nodes.values()})
        features.update(features_of(graph))

    collect()
    missing = sorted(ALL_KINDS - set(kinds))
    assert not missing, f"never drawn: {missing}; drawn: {dict(kinds)}"
    absent = [f for f in FEATURES if not features[f]]
    assert not absent, f"never drawn: {absent}; drawn: {dict(features)}"


@settings(max_examples=15, deadline=None)
@given(graph=valid_graphs(max_layers=4, kinds=["Dense", "Add", "Flatten"], odd_names=False))
def test_kinds_and_names_can_be_restricted(graph: Graph) -> None:
    """``kinds`` limits the layers (and no ids Input without an Embedding to read them)."""
    check_valid(graph)
    assert all(n.params["dtype"] == "float32" for n in graph.nodes.values() if n.kind == "Input")
    assert {n.kind for n in graph.nodes.values()} <= {"Input", "Output", "Dense", "Add", "Flatten"}
    assert all(_keras_style(n.name) for n in graph.nodes.values()) and graph.name == "model"


@settings(max_examples=15, deadline=None)
@given(
    graph=valid_graphs(
        max_layers=3, max_inputs=1, max_outputs=1, allow=lambda kind, p: kind != "Dropout"
    )
)
def test_allow_vetoes_layers_and_limits_hold(graph: Graph) -> None:
    """``allow`` vetoes layers; one Input and one Output when asked for at most one."""
    check_valid(graph)
    kinds = [n.kind for n in graph.nodes.values()]
    assert "Dropout" not in kinds
    assert kinds.count("Input") == 1 and kinds.count("Output") == 1
    assert len(kinds) <= 3 + 2


@settings(max_examples=15, deadline=None)
@given(graph=keras_compatible_graphs())
def test_keras_compatible_graphs_have_keras_classes(graph: Graph) -> None:
    """The Keras hook gives valid graphs of layers that Keras has."""
    check_valid(graph)
    for node in graph.nodes.values():
        assert node.kind == "Output" or get_spec(node.kind).keras_class is not None


@pytest.mark.parametrize("name", MODULE_ATTRIBUTE_NAMES)
def test_layers_named_like_module_attributes_compile(name: str) -> None:
    """A layer may be called ``self``, ``training``, ``graph``... and the model still runs."""
    graph = Graph()
    source = graph.add_node("Input", {"shape": (3,)})
    dense = graph.add_node("Dense", {"units": 2}, name=name)
    after = graph.add_node("Dense", {"units": 2})
    out = graph.add_node("Output")
    graph.connect(source.id, dense.id)
    graph.connect(dense.id, after.id)
    graph.connect(after.id, out.id)
    model = compile_graph(graph, seed=0)
    assert tuple(model(torch.zeros(2, 3)).shape) == (2, 2)
