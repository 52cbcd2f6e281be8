"""Copied layers: what goes on the clipboard, what is refused, and the names a paste takes."""

from __future__ import annotations

import json

import pytest

from core.fragment import MAX_FRAGMENT_CHARS, copy_fragment, paste_names, read_fragment, top_left
from core.graph import Graph, GraphError, GraphLoadError
from core.templates import load_template


def ids(graph: Graph, *names: str) -> list[str]:
    return [graph.node_by_name(n).id for n in names]  # type: ignore[union-attr]


def test_a_fragment_keeps_the_layers_and_only_the_wires_between_them() -> None:
    graph = load_template("mnist_cnn")
    chosen = ids(graph, "conv2d", "conv2d_1", "dense")
    piece = read_fragment(copy_fragment(graph, chosen))
    assert [n.name for n in piece.nodes.values()] == ["conv2d", "conv2d_1", "dense"]
    assert [(e.src, e.dst) for e in piece.edges] == [(chosen[0], chosen[1])]
    for node_id in chosen:
        assert piece.nodes[node_id].params == graph.nodes[node_id].params
        assert piece.nodes[node_id].position == graph.nodes[node_id].position
    assert top_left(piece) == (
        min(graph.nodes[n].position[0] for n in chosen),
        min(graph.nodes[n].position[1] for n in chosen),
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[1, 2]",
        json.dumps({"format": "layer-studio-graph", "version": 1, "nodes": [], "edges": []}),
        "[" * 100_000,
        " " * (MAX_FRAGMENT_CHARS + 1),
    ],
)
def test_what_is_not_a_fragment_is_refused_in_words(text: str) -> None:
    with pytest.raises(GraphLoadError) as err:
        read_fragment(text)
    assert "clipboard" in str(err.value) or "cannot be opened" in str(err.value)


def test_a_fragment_with_a_bad_layer_is_refused_by_the_document_checks() -> None:
    data = json.loads(copy_fragment(load_template("mlp"), ["n2"]))
    data["nodes"][0]["params"]["units"] = -3
    with pytest.raises(GraphLoadError, match="units"):
        read_fragment(json.dumps(data))


def test_pasted_names_are_free_and_follow_keras() -> None:
    graph = load_template("mnist_cnn")  # has conv2d, conv2d_1, dense, dense_1
    piece = read_fragment(copy_fragment(graph, ids(graph, "conv2d_1", "dense", "flatten")))
    names = paste_names(graph, piece)
    assert sorted(names.values()) == ["conv2d_2", "dense_2", "flatten_1"]
    assert paste_names(Graph(), piece) == {n.id: n.name for n in piece.nodes.values()}


def test_an_empty_fragment_has_no_corner() -> None:
    with pytest.raises(GraphError):
        top_left(Graph())
