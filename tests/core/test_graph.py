"""The document API of core.graph: names, refusals, events, undo data, order, files."""

from __future__ import annotations

import copy
import json
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.graph import (
    FORMAT,
    SCHEMA_VERSION,
    Edge,
    Graph,
    GraphError,
    GraphEvent,
    GraphLoadError,
    Node,
)


def ids(graph: Graph) -> dict[str, str]:
    """Node ids by layer name."""
    return {n.name: n.id for n in graph.nodes.values()}


@pytest.fixture
def doc() -> Graph:
    """input -> dense -> dense_1 -> dense_2 -> output; each of those Dense into one port of add;
    dense_2 -> concatenate (second port free) -> dense_3 -> dense_4; a lone dropout."""
    g = Graph(name="demo", description="A small model.")
    for kind, params in [
        ("Input", {"shape": [4]}),
        ("Dense", {}),
        ("Dense", {}),
        ("Dense", {}),
        ("Output", {}),
        ("Add", {"num_inputs": 3}),
        ("Concatenate", {}),
        ("Dense", {}),
        ("Dense", {}),
        ("Dropout", {}),
    ]:
        g.add_node(kind, params)
    n = ids(g)
    for path in ["input dense dense_1 dense_2 output", "dense_2 concatenate dense_3 dense_4"]:
        for a, b in pairwise(path.split()):
            g.connect(n[a], n[b])
    for port, src in enumerate(["dense", "dense_1", "dense_2"]):
        g.connect(n[src], n["add"], dst_port=port)
    return g


def test_new_layers_get_keras_names_and_default_params() -> None:
    g = Graph()
    names = [g.add_node(k).name for k in ["Dense", "Dense", "Dense", "MaxPooling2D", "Conv2D"]]
    assert names == ["dense", "dense_1", "dense_2", "max_pooling2d", "conv2d"]
    assert g.node_by_name("dense").params == {"units": 32, "activation": "linear", "use_bias": True}
    conv = g.node_by_name("conv2d").params
    assert conv["kernel_size"] == (3, 3) and conv["padding"] == "valid" and conv["filters"] == 32
    assert g.node_by_name("max_pooling2d").params["pool_size"] == (2, 2)
    assert g.add_node("Dropout").params == {"rate": 0.5}
    assert g.add_node("Conv2D", {"kernel_size": 5}).params["kernel_size"] == (5, 5)
    assert len(set(g.nodes)) == len(g.nodes) == 7


D = "dense"
REFUSALS = [  # (case, edit, words its reason must contain, separated by |)
    ("busy port", lambda g, n: g.connect(n["input"], n["dense_1"]), "already connected|disconnect"),
    ("2-cycle", lambda g, n: g.connect(n["dense_3"], n["concatenate"], 0, 1), "dense_3|loop"),
    ("3-cycle", lambda g, n: g.connect(n["dense_4"], n["concatenate"], 0, 1), "loop"),
    ("self-loop", lambda g, n: g.connect(n[D], n[D]), "cannot be connected to itself"),
    ("units=0", lambda g, n: g.set_param(n[D], "units", 0), "units|at least 1"),
    ("add rate=1.0", lambda g, n: g.add_node("Dropout", {"rate": 1.0}), "rate|below 1"),
    ("set rate=1.0", lambda g, n: g.set_param(n["dropout"], "rate", 1.0), "rate|below 1"),
    ("activation", lambda g, n: g.set_param(n[D], "activation", "relux"), "relu, sigmoid|relux"),
    ("kernel 3 long", lambda g, n: g.add_node("Conv2D", {"kernel_size": [3] * 3}), "2 whole"),
    ("set unknown param", lambda g, n: g.set_param(n[D], "unit", 3), "Dense has no parameter"),
    (
        "add unknown param",
        lambda g, n: g.add_node("Dense", {"unit": 3}),
        "no parameter called 'unit'",
    ),
    ("groups", lambda g, n: g.add_node("Conv2D", {"groups": 3}), "multiple of groups"),
    ("rename to a taken name", lambda g, n: g.rename(n["dense_1"], D), "already called|unique"),
    ("add with a taken name", lambda g, n: g.add_node("Dense", name=D), "already called"),
    ("empty name", lambda g, n: g.rename(n[D], ""), "empty"),
    ("blank name", lambda g, n: g.rename(n[D], "   "), "empty"),
    ("name with /", lambda g, n: g.rename(n[D], "a/b"), "'/'"),
    ("name with newline", lambda g, n: g.add_node("Dense", name="a\nb"), "invisible"),
    ("long name", lambda g, n: g.rename(n[D], "x" * 101), "at most 100"),
    ("name not text", lambda g, n: g.rename(n[D], 5), "must be text"),
    ("no input 2", lambda g, n: g.connect(n[D], n["output"], 0, 1), "(Output) has no input 2"),
    ("no output 2", lambda g, n: g.connect(n[D], n["add"], 1, 0), "dense (Dense) has no output 2"),
    ("Output has no output", lambda g, n: g.connect(n["output"], n["add"]), "no output 1"),
    ("negative port", lambda g, n: g.connect(n["input"], n["add"], 0, -1), "has no input"),
    ("cut a used port", lambda g, n: g.set_param(n["add"], "num_inputs", 2), "num_inputs|input 3"),
    ("unknown kind", lambda g, n: g.add_node("Dense3"), "no layer kind called 'Dense3'"),
    ("connect a missing layer", lambda g, n: g.connect("nope", n[D]), "Both ends"),
    ("missing edge", lambda g, n: g.disconnect(Edge(n["input"], 0, n["add"], 0)), "does not exist"),
    ("remove a missing layer", lambda g, n: g.remove_node("nope"), "no layer with id 'nope'"),
    ("reuse a layer id", lambda g, n: g.add_node("Dense", node_id=n[D]), "already used"),
    ("move to nan", lambda g, n: g.move(n[D], float("nan"), 0), "finite numbers"),
    ("add at a bad position", lambda g, n: g.add_node("Dense", position=("a", 1)), "two numbers"),
]


@pytest.mark.parametrize(("case", "edit", "words"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refused_edits_say_why_and_change_nothing(doc: Graph, case: str, edit, words: str) -> None:
    before, events = doc.to_dict(), []
    doc.subscribe(events.append)
    with pytest.raises(GraphError) as caught:
        edit(doc, ids(doc))
    reason = str(caught.value)
    assert reason.endswith(".") and "Traceback" not in reason and "KeyError" not in reason
    for word in words.split("|"):
        assert word in reason, f"{word!r} not in {reason!r}"
    assert doc.to_dict() == before
    assert events == []


def test_connection_problem_matches_connect(doc: Graph) -> None:
    n = ids(doc)
    assert doc.connection_problem(n["input"], n["dense_1"]) is not None
    new = doc.add_node("Dense").id
    assert doc.connection_problem(n["dense_2"], new) is None
    assert doc.connection_problem(new, n["dense"]) is not None  # port already taken


def test_events_report_each_edit_and_unsubscribe_stops_them() -> None:
    g = Graph()
    events: list[GraphEvent] = []
    unsubscribe = g.subscribe(events.append)
    a = g.add_node("Input", {"shape": [3]}).id
    b = g.add_node("Dense").id
    edge = g.connect(a, b)
    g.set_param(b, "units", 8)
    g.set_param(b, "units", 8)  # no change, no event
    g.rename(b, "hidden")
    g.move(b, 10, 20.5)
    g.set_note(b, "first layer")
    g.disconnect(edge)
    g.connect(a, b)
    node, removed = g.remove_node(b)
    assert events == [
        GraphEvent("node_added", node=a),
        GraphEvent("node_added", node=b),
        GraphEvent("edge_added", edge=edge),
        GraphEvent("param_changed", node=b, param="units", old=32, new=8),
        GraphEvent("renamed", node=b, old="dense", new="hidden"),
        GraphEvent("moved", node=b, old=(0.0, 0.0), new=(10.0, 20.5)),
        GraphEvent("note_changed", node=b, old="", new="first layer"),
        GraphEvent("edge_removed", edge=edge),
        GraphEvent("edge_added", edge=edge),
        GraphEvent("edge_removed", edge=edge),
        GraphEvent("node_removed", node=b, old=node),
    ]
    assert removed == [edge] and node.name == "hidden" and node.note == "first layer"
    unsubscribe()
    unsubscribe()  # a second call is harmless
    g.add_node("Dense")
    assert len(events) == 11


def put_back(g: Graph, node: Node, edges: list[Edge]) -> None:
    """What the editor's undo of a removal does: re-add the layer as it was, then its wires."""
    kw = {"name": node.name, "position": node.position, "note": node.note, "node_id": node.id}
    g.add_node(node.kind, node.params, **kw)
    for e in edges:
        g.connect(e.src, e.dst, e.src_port, e.dst_port)


def test_removing_then_re_adding_any_layer_restores_the_document(doc: Graph) -> None:
    n = ids(doc)
    doc.rename(n["dense_1"], "middle")
    doc.set_param(n["dense_1"], "units", 7)
    doc.move(n["dense_1"], -5, 12.25)
    doc.set_note(n["dense_1"], "keep me")
    for node_id in list(doc.nodes):
        g = doc.copy()
        before = g.to_dict()
        order = g.topological_order()
        node, edges = g.remove_node(node_id)
        assert node_id not in g.nodes and all(node_id in (e.src, e.dst) for e in edges)
        assert all(e not in g.edges for e in edges)
        put_back(g, node, edges)
        assert g.to_dict() == before, node.name
        assert g.topological_order() == order
    # A fresh layer still goes last, with an id never used before.
    g = doc.copy()
    node, _ = g.remove_node(n["dense"])
    fresh = g.add_node("Dense")
    assert fresh.id != node.id and list(g.nodes)[-1] == fresh.id


def test_topological_order_puts_sources_first_and_keeps_added_order_for_ties() -> None:
    g = Graph()
    out_b = g.add_node("Output", name="out_b").id
    inp = g.add_node("Input", {"shape": [4]}).id
    out_a = g.add_node("Output", name="out_a").id
    left, right = g.add_node("Dense").id, g.add_node("Dense").id
    add = g.add_node("Add").id
    # Wire in an order unlike the order the layers were added.
    g.connect(add, out_a)
    g.connect(right, add, 0, 1)
    g.connect(inp, right)
    g.connect(inp, left)
    g.connect(left, add, 0, 0)
    g.connect(left, out_b)
    order = g.topological_order()
    assert sorted(order) == sorted(g.nodes)
    for e in g.edges:
        assert order.index(e.src) < order.index(e.dst)
    assert order == [inp, left, out_b, right, add, out_a]
    lone = g.add_node("Dense").id
    assert g.topological_order()[-1] == lone


def test_json_round_trip_keeps_everything(doc: Graph) -> None:
    n = ids(doc)
    doc.move(n["dense"], 120.5, -40)
    doc.set_note(n["dense"], 'Hidden layer: "wide" — ünïcode\nsecond line')
    doc.set_param(n["dense"], "activation", "relu")
    pool = doc.add_node("MaxPooling2D", {"strides": None, "padding": "same"}, name="pool 1")
    text = doc.to_json()
    data = json.loads(text)
    assert data["format"] == FORMAT and data["version"] == SCHEMA_VERSION
    loaded = Graph.from_json(text)
    assert loaded.to_dict() == doc.to_dict()
    assert (loaded.name, loaded.description) == ("demo", "A small model.")
    assert list(loaded.nodes) == list(doc.nodes)
    assert loaded.edges == doc.edges
    for node_id, node in doc.nodes.items():
        assert loaded.nodes[node_id] == node
    assert loaded.nodes[pool.id].params["strides"] is None
    assert Graph.from_dict(json.loads(doc.to_json(indent=None))).to_dict() == doc.to_dict()


def test_copy_is_independent(doc: Graph) -> None:
    events: list[GraphEvent] = []
    doc.subscribe(events.append)
    twin = doc.copy()
    twin.set_param(ids(twin)["dense"], "units", 3)
    twin.add_node("Dense")
    assert doc.node_by_name("dense").params["units"] == 32 and len(doc.nodes) == 10
    assert events == []


def broken_document() -> tuple[dict, list[str]]:
    """A document with one problem of each kind, and the layer names the problems must name."""
    good = Graph(name="ok")
    for kind in ["Input", "Dense", "Output"]:
        good.add_node(kind)
    data = good.to_dict()
    nodes = data["nodes"]
    nodes += [
        {"id": "n10", "kind": "Dense3", "name": "mystery", "params": {}},  # unknown kind
        {"id": "n11", "kind": "Dense", "name": "wide", "params": {"units": 0}},  # bad param
        {"id": "n12", "kind": "Dropout", "name": "drop", "params": {"rate": "lots"}},
        {"id": "n1", "kind": "Dense", "name": "twin_id", "params": {}},  # duplicate id
        {"id": "n13", "kind": "Dense", "name": "dense", "params": {}},  # duplicate name
        {"id": "n14", "kind": "Dense", "name": "cyc_a", "params": {}},
        {"id": "n15", "kind": "Dense", "name": "cyc_b", "params": {}},
        {"id": "n16", "kind": "Dense", "name": "where", "position": "here"},  # wrong types
        {"id": "n17", "kind": "Dense", "name": "noted", "note": 5},
        {"id": "n18", "kind": "Dense", "name": "listy", "params": [1, 2]},
        {"id": 7, "kind": "Dense", "name": "numbered"},
        "not a layer",
        {"id": "n19", "kind": ["Dense"], "name": "kindless"},
        {"id": "n11", "kind": "Dense", "name": "wide_twin"},  # same id as a layer that failed
        {"id": "n20", "kind": "Dense", "name": "wide"},  # same name as a layer that failed
    ]
    data["edges"] += [
        {"from": ["n1", 0], "to": ["n2", 0]},  # fine
        {"from": ["n2", 0], "to": ["ghost", 0]},  # missing layer
        {"from": ["n14", 0], "to": ["n15", 0]},
        {"from": ["n15", 0], "to": ["n14", 0]},  # cycle
        {"from": ["n2", True], "to": ["n3", 0]},  # wrong type
        "not an edge",
    ]
    data["name"], data["description"] = 5, ["text"]
    named = ["mystery", "wide", "drop", "twin_id", "dense", "where", "noted", "listy"]
    return data, [*named, "numbered", "kindless", "wide_twin"]


def test_loading_reports_every_problem_at_once() -> None:
    data, named = broken_document()
    with pytest.raises(GraphLoadError) as caught:
        Graph.from_dict(data)
    problems = caught.value.problems
    assert len(problems) == 19, "\n".join(problems)
    for name in named:
        assert any(repr(name) in p for p in problems), name
    text = "\n".join(problems)
    words = "Dense3 units rate 'n1' 'n11' 'dense' 'wide' ghost loop description position note"
    for word in [*words.split(), "Connection 5", "Connection 6", "Layer 15 is not", "Model name"]:
        assert word in text, word
    assert "parameters are not" in text
    assert all(p.endswith(".") for p in problems)
    assert str(caught.value).count("\n- ") == len(problems)
    assert isinstance(caught.value, GraphError)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("this is not json {", ["not valid JSON"]),
        ("[1, 2]", ["JSON object"]),
        ('{"format": "something-else", "version": 1, "nodes": []}', ["not a layer-studio"]),
        ('{"format": "layer-studio-graph", "version": "1", "nodes": {}}', ["version", "'nodes'"]),
        ('{"format": "layer-studio-graph", "version": 1, "nodes": [], "edges": 3}', ["edges"]),
    ],
)
def test_loading_not_a_document(text: str, words: list[str]) -> None:
    with pytest.raises(GraphLoadError) as caught:
        Graph.from_json(text)
    message = "\n".join(caught.value.problems)
    assert len(caught.value.problems) == len(words)
    for word in words:
        assert word in message


def test_loading_a_newer_schema_asks_for_an_update(doc: Graph) -> None:
    data = doc.to_dict()
    data["version"] = SCHEMA_VERSION + 1
    data["nodes"][0]["kind"] = "FancyLayerFromTheFuture"
    with pytest.raises(GraphLoadError) as caught:
        Graph.from_dict(data)
    (problem,) = caught.value.problems
    assert "newer version" in problem and "Update" in problem


# -- random edits ----------------------------------------------------------------------------

KINDS = "Input Output Dense Activation Dropout Flatten Conv2D MaxPooling2D Add Concatenate Nope"
PARAMS = "units activation rate filters kernel_size strides padding groups pool_size num_inputs"
PARAMS += " axis shape use_bias bogus"
OPS = "add connect connect connect disconnect set_param rename remove undo_remove move note"
VALUES = st.one_of(
    st.integers(-5, 40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.sampled_from(["relu", "softmax", "same", "valid", "", "x"]),
    st.lists(st.integers(-1, 6), max_size=5),
)
NAMES = st.one_of(
    st.sampled_from(["dense", "a/b", "a\nb", "", " ", "x" * 101]), st.text(max_size=6)
)


def random_edit(data: st.DataObject, g: Graph) -> None:
    """Draw one edit (valid or not) and apply it."""
    node_ids = [*g.nodes, "ghost"]
    some_id = st.sampled_from(node_ids)
    port = st.integers(-1, 3)
    op = data.draw(st.sampled_from(OPS.split()))
    if op == "add":
        params = data.draw(st.dictionaries(st.sampled_from(PARAMS.split()), VALUES, max_size=2))
        name = data.draw(st.one_of(st.none(), NAMES))
        g.add_node(data.draw(st.sampled_from(KINDS.split())), params, name=name)
    elif op == "connect":
        g.connect(data.draw(some_id), data.draw(some_id), data.draw(port), data.draw(port))
    elif op == "disconnect":
        edges = [*g.edges, Edge("ghost", 0, "ghost", 0)]
        g.disconnect(data.draw(st.sampled_from(edges)))
    elif op == "set_param":
        g.set_param(
            data.draw(some_id), data.draw(st.sampled_from(PARAMS.split())), data.draw(VALUES)
        )
    elif op == "rename":
        g.rename(data.draw(some_id), data.draw(NAMES))
    elif op == "remove":
        g.remove_node(data.draw(some_id))
    elif op == "undo_remove":
        before = g.to_dict()
        node, edges = g.remove_node(data.draw(some_id))
        put_back(g, node, edges)
        assert g.to_dict() == before
    elif op == "move":
        g.move(data.draw(some_id), data.draw(st.floats()), data.draw(st.floats()))
    else:
        g.set_note(data.draw(some_id), data.draw(st.text(max_size=8)))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_edits_keep_a_loadable_document(data: st.DataObject) -> None:
    g = Graph()
    events: list[GraphEvent] = []
    g.subscribe(events.append)
    for _ in range(data.draw(st.integers(1, 30))):
        before, seen = copy.deepcopy(g.to_dict()), len(events)
        try:
            random_edit(data, g)
        except GraphError as err:
            assert str(err)
            assert g.to_dict() == before
            assert len(events) == seen
        loaded = Graph.from_json(g.to_json())
        assert loaded.to_dict() == g.to_dict()
        order = g.topological_order()
        assert sorted(order) == sorted(g.nodes)
        assert all(order.index(e.src) < order.index(e.dst) for e in g.edges)


def test_loading_absurd_numbers_gives_a_load_error_not_a_crash(doc: Graph) -> None:
    """JSON allows integers of any size; a file with one must still end in GraphLoadError."""
    text = doc.to_json().replace('"rate": 0.5', '"rate": 1' + "0" * 400)
    assert '"rate": 1000' in text
    with pytest.raises(GraphLoadError) as info:
        Graph.from_json(text)
    assert any("rate" in p and "too large" in p for p in info.value.problems)


def test_problem_checks_say_what_the_edit_would_say_and_change_nothing() -> None:
    graph = Graph()
    first = graph.add_node("Dense", {"units": 8}).id
    add = graph.add_node("Add", {"num_inputs": 3}).id
    other = graph.add_node("Dense", name="other").id
    graph.connect(first, add, 0, 2)
    before = graph.to_dict()
    for node_id, param, value in [
        (first, "units", 0),
        (first, "units", "many"),
        (first, "nope", 1),
        (add, "num_inputs", 2),  # input 3 is connected
    ]:
        problem = graph.param_problem(node_id, param, value)
        with pytest.raises(GraphError) as err:
            graph.set_param(node_id, param, value)
        assert problem == str(err.value)
    assert graph.param_problem(first, "units", 16) is None
    for name in ("other", "", "a/b"):
        problem = graph.rename_problem(first, name)
        with pytest.raises(GraphError) as err:
            graph.rename(first, name)
        assert problem == str(err.value)
    assert graph.rename_problem(first, "dense") is None and graph.rename_problem(first, "x") is None
    assert graph.to_dict() == before
    assert graph.nodes[other].name == "other"
