"""Shape inference over whole graphs, and the diagnostics a beginner sees."""

from __future__ import annotations

from typing import Any

import pytest

from core.graph import Graph
from core.layers import get_spec
from core.shapes import Diagnostic, ShapeReport, infer_shapes

Layer = tuple[str, dict[str, Any]]


def chain(shape: tuple[int, ...], *layers: Layer, output: bool = True) -> tuple[Graph, list[str]]:
    """Input(shape) -> layers... -> Output; returns the graph and the ids in that order."""
    g = Graph()
    node_ids = [g.add_node("Input", {"shape": shape}).id]
    for kind, params in [*layers, *([("Output", {})] if output else [])]:
        node_ids.append(g.add_node(kind, params).id)
        g.connect(node_ids[-2], node_ids[-1])
    return g, node_ids


def only(report: ShapeReport) -> Diagnostic:
    """The one diagnostic of a report."""
    assert len(report.diagnostics) == 1, report.diagnostics
    return report.diagnostics[0]


def check(
    d: Diagnostic, severity: str, node: str | None, message: list[str], hint: list[str]
) -> None:
    """Severity, node, and a message and hint that are plain sentences with these words."""
    assert (d.severity, d.node) == (severity, node), d
    for text, words in [(d.message, message), (d.hint, hint)]:
        assert len(text) > 15 and text.endswith(".") and text[0].isalpha(), text
        for bad in ["Traceback", "Error", "None", "tuple", "{", "[", "__"]:
            assert bad not in text, text
        for word in words:
            assert word in text, f"{word!r} not in {text!r}"


# -- the model as a whole --------------------------------------------------------------------


def test_no_input() -> None:
    g = Graph()
    dense, out = g.add_node("Dense").id, g.add_node("Output").id
    g.connect(dense, out)
    report = infer_shapes(g)
    model = [d for d in report.diagnostics if d.node is None]
    assert len(model) == 1 and report.diagnostics[0] is model[0]
    check(model[0], "error", None, ["no Input"], ["Input", "shape"])
    assert not report.ok


def test_no_output() -> None:
    g, _ = chain((4,), ("Dense", {}), output=False)
    check(only(infer_shapes(g)), "error", None, ["no Output", "predicts"], ["Add an Output"])


def test_empty_model_gets_both_and_nothing_else() -> None:
    report = infer_shapes(Graph())
    assert [d.message.split(",")[0] for d in report.diagnostics] == [
        "The model has no Input layer",
        "The model has no Output layer",
    ]


def test_unconnected_input_port() -> None:
    g, (inp, dense, out) = chain((4,), ("Dense", {}))
    g.disconnect(g.in_edges(dense)[0])
    report = infer_shapes(g)
    mine = report.for_node(dense)
    assert len(mine) == 1
    check(mine[0], "error", dense, ["Nothing is connected", "Dense"], ["Drag a wire", "delete"])
    assert report.for_node(out) == []  # no cascade into the Output
    assert out not in report.outputs and dense not in report.outputs
    assert [d.severity for d in report.for_node(inp)] == ["warning"]  # the Input is now unused


def test_unconnected_second_port_of_a_merge() -> None:
    g, (_, dense, add, out) = chain((4,), ("Dense", {}), ("Add", {}))
    report = infer_shapes(g)
    check(only(report), "error", add, ["Add", "2 inputs", "input 2"], ["Drag a wire"])
    assert add not in report.outputs and out not in report.outputs
    assert report.outputs[dense] == [(32,)]


def test_dangling_branch_warns_once_on_its_tip() -> None:
    g, (inp, *_rest) = chain((4,), ("Dense", {}))
    a, b, c = (g.add_node("Dense").id for _ in range(3))
    g.connect(inp, a)
    g.connect(a, b)
    g.connect(b, c)
    report = infer_shapes(g)
    check(only(report), "warning", c, ["never used", "Output"], ["Output", "delete"])
    assert report.outputs[c] == [(32,)]  # still gets its shape
    assert not {a, b, c} & report.live and inp in report.live
    assert report.ok


def test_unused_input() -> None:
    g, _ = chain((4,), ("Dense", {}))
    spare = g.add_node("Input", {"shape": [3]}).id
    report = infer_shapes(g)
    check(only(report), "warning", spare, ["not connected", "never used"], ["Connect", "delete"])
    assert report.ok and spare not in report.live


# -- one layer that cannot take its input ----------------------------------------------------


def test_dense_on_an_image_asks_for_flatten() -> None:
    g, (_, dense, _) = chain((1, 28, 28), ("Dense", {}))
    check(only(infer_shapes(g)), "error", dense, ["Dense", "flat", "1×28×28"], ["Flatten"])


def test_conv2d_on_a_flat_input() -> None:
    g, (_, conv, _) = chain((784,), ("Conv2D", {}))
    d = only(infer_shapes(g))
    check(d, "error", conv, ["Conv2D", "image", "784"], ["Input", "channels", "Dense"])


def test_kernel_larger_than_its_input() -> None:
    g, (_, conv, _) = chain((3, 4, 4), ("Conv2D", {"kernel_size": 5}))
    d = only(infer_shapes(g))
    check(d, "error", conv, ["5×5", "larger", "4×4"], ["smaller kernel_size", "'same'"])


def test_pool_larger_than_its_input() -> None:
    g, (_, pool, _) = chain((3, 3, 3), ("MaxPooling2D", {"pool_size": 4}))
    d = only(infer_shapes(g))
    check(d, "error", pool, ["MaxPooling2D", "4×4", "larger"], ["smaller pool_size"])
    assert "kernel" not in d.message + d.hint


def two_branches(shape: tuple[int, ...], left: Layer, right: Layer, merge: Layer) -> Any:
    """Input -> left and right -> merge -> Output; returns the graph and the merge's id."""
    g = Graph()
    inp = g.add_node("Input", {"shape": shape}).id
    a, b = g.add_node(*left).id, g.add_node(*right).id
    m, out = g.add_node(*merge).id, g.add_node("Output").id
    for src, dst, port in [(inp, a, 0), (inp, b, 0), (a, m, 0), (b, m, 1), (m, out, 0)]:
        g.connect(src, dst, 0, port)
    return g, m


def test_add_of_different_shapes() -> None:
    g, add = two_branches((4,), ("Dense", {"units": 8}), ("Dense", {"units": 4}), ("Add", {}))
    d = only(infer_shapes(g))
    check(d, "error", add, ["same shape", "8 and 4"], ["same number", "Concatenate"])


def test_concatenate_of_mismatched_sizes() -> None:
    g, cat = two_branches(
        (3, 8, 8),
        ("Conv2D", {"filters": 4}),
        ("MaxPooling2D", {}),
        ("Concatenate", {}),
    )
    d = only(infer_shapes(g))
    check(d, "error", cat, ["match except", "4×6×6 and 3×4×4"], ["pooling", "Flatten"])


def test_concatenate_of_different_ranks() -> None:
    g, cat = two_branches((3, 8, 8), ("Flatten", {}), ("Conv2D", {}), ("Concatenate", {}))
    check(only(infer_shapes(g)), "error", cat, ["number of axes"], ["Flatten"])


@pytest.mark.parametrize("axis", [2, -2, 4])
def test_concatenate_on_an_axis_that_does_not_exist(axis: int) -> None:
    g, cat = two_branches((4,), ("Dense", {}), ("Dense", {}), ("Concatenate", {"axis": axis}))
    d = only(infer_shapes(g))
    check(d, "error", cat, [f"axis {axis}", "does not exist", "32"], ["axis -1"])


def test_softmax_on_a_single_unit() -> None:
    g, (_, dense, _) = chain((4,), ("Dense", {"units": 1, "activation": "softmax"}))
    report = infer_shapes(g)
    d = only(report)
    assert d.message.startswith("softmax")  # the activation's own (lower-case) name
    check(d, "warning", dense, ["single value", "always"], ["sigmoid", "one unit per class"])
    assert report.ok and report.outputs[dense] == [(1,)]


def test_flatten_on_a_flat_input_is_only_a_note() -> None:
    g, (_, flat, _) = chain((10,), ("Flatten", {}))
    report = infer_shapes(g)
    check(only(report), "info", flat, ["already flat"], ["delete"])
    assert report.ok


def test_an_error_does_not_cascade_downstream() -> None:
    g, (inp, bad, *after) = chain(
        (1, 28, 28), ("Dense", {}), ("Dense", {}), ("Dropout", {}), ("Dense", {"units": 3})
    )
    report = infer_shapes(g)
    check(only(report), "error", bad, ["flat"], ["Flatten"])
    assert set(report.outputs) == {inp} and set(report.inputs) == {inp}
    assert all(report.for_node(n) == [] for n in after)
    assert report.edge_shape(g.in_edges(bad)[0]) == (1, 28, 28)
    assert report.edge_shape(g.out_edges(bad)[0]) is None
    assert "error: dense (Dense): Dense needs a flat input" in report.errors[0].text(g)


# -- shapes that work ------------------------------------------------------------------------


def test_shapes_through_a_residual_graph() -> None:
    g = Graph()
    n = {
        name: g.add_node(kind, params, name=name).id
        for name, kind, params in [
            ("image", "Input", {"shape": [3, 32, 32]}),
            ("stem", "Conv2D", {"filters": 16, "padding": "same", "activation": "relu"}),
            ("body", "Conv2D", {"filters": 16, "padding": "same"}),
            ("skip", "Add", {}),
            ("join", "Concatenate", {}),
            ("rows", "Concatenate", {"axis": 1}),
            ("pool", "MaxPooling2D", {}),
            ("flat", "Flatten", {}),
            ("head", "Dense", {"units": 10, "activation": "softmax"}),
            ("out", "Output", {}),
            ("out2", "Output", {}),
        ]
    }
    for src, dst, port in [
        ("image", "stem", 0), ("stem", "body", 0), ("stem", "skip", 0), ("body", "skip", 1),
        ("skip", "join", 0), ("stem", "join", 1), ("stem", "rows", 0), ("body", "rows", 1),
        ("rows", "out2", 0),
    ]:  # fmt: skip
        g.connect(n[src], n[dst], 0, port)
    for src, dst in [("join", "pool"), ("pool", "flat"), ("flat", "head"), ("head", "out")]:
        g.connect(n[src], n[dst])
    report = infer_shapes(g)
    assert report.diagnostics == [] and report.ok
    shape = {name: report.outputs[i][0] for name, i in n.items() if not name.startswith("out")}
    assert shape == {
        "image": (3, 32, 32),
        "stem": (16, 32, 32),
        "body": (16, 32, 32),
        "skip": (16, 32, 32),
        "join": (32, 32, 32),  # Keras's axis -1 is the channels: our axis 0
        "rows": (16, 64, 32),  # Keras's axis 1 is the height, whatever the layout
        "pool": (32, 16, 16),
        "flat": (8192,),
        "head": (10,),
    }
    assert report.outputs[n["out"]] == [] and report.inputs[n["out"]] == [(10,)]
    assert report.inputs[n["skip"]] == [(16, 32, 32), (16, 32, 32)]
    assert report.live == set(n.values())


@pytest.mark.parametrize(
    ("kind", "params", "size", "expected"),
    [
        ("Conv2D", {"filters": 4, "strides": 2, "padding": "same"}, 7, (4, 4, 4)),
        ("Conv2D", {"filters": 4, "strides": 2, "padding": "same"}, 8, (4, 4, 4)),
        ("Conv2D", {"filters": 4, "strides": 2}, 7, (4, 3, 3)),
        ("Conv2D", {"filters": 4, "kernel_size": 9, "padding": "same"}, 5, (4, 5, 5)),
        ("MaxPooling2D", {"padding": "same"}, 7, (2, 4, 4)),
        ("MaxPooling2D", {}, 7, (2, 3, 3)),
        ("MaxPooling2D", {"pool_size": 3, "strides": 1}, 7, (2, 5, 5)),
    ],
)
def test_window_sizes(kind: str, params: dict[str, Any], size: int, expected: tuple) -> None:
    g, (_, layer, _) = chain((2, size, size), (kind, params))
    report = infer_shapes(g)
    assert report.diagnostics == []
    assert report.outputs[layer] == [expected]


# -- the cache -------------------------------------------------------------------------------


def test_cache_gives_the_same_reports_and_reuses_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = get_spec("Conv2D")
    calls: list[tuple] = []
    real = spec.output_shape

    def counting(inputs: Any, params: Any) -> Any:
        calls.append(tuple(inputs))
        return real(inputs, params)

    monkeypatch.setattr(spec, "output_shape", counting)
    g, (_, c1, c2, _, dense, _) = chain(
        (1, 12, 12), ("Conv2D", {}), ("Conv2D", {}), ("Flatten", {}), ("Dense", {})
    )
    cache: dict = {}

    def both() -> ShapeReport:
        cached = infer_shapes(g, cache)
        count = len(calls)
        fresh = infer_shapes(g)
        del calls[count:]  # count only the cached run's calls
        assert cached == fresh
        return cached

    assert both().outputs[dense] == [(32,)] and len(calls) == 2
    both()
    assert len(calls) == 2  # nothing changed: nothing asked again
    g.set_param(dense, "units", 5)
    assert both().outputs[dense] == [(5,)] and len(calls) == 2
    g.set_param(c2, "filters", 8)
    assert both().outputs[c2] == [(8, 8, 8)] and len(calls) == 3  # only c2 again
    g.set_param(c1, "filters", 4)
    assert both().outputs[dense] == [(5,)] and len(calls) == 5  # c1, and c2 whose input changed
    g.set_param(c1, "kernel_size", 13)  # now an error, cached too
    assert both().errors[0].node == c1 and len(calls) == 6
    assert both().errors[0].node == c1 and len(calls) == 6
    g.set_param(c1, "kernel_size", 3)
    assert both().ok and len(calls) == 7  # c2 finds its earlier entry again
    g.remove_node(c2)
    assert not both().ok and len(calls) == 7
    assert c2 not in cache
