"""Graph -> torch.fx.GraphModule, the model summary, templates and the automatic layout."""

import copy

import pytest
import torch
from torch import fx

from core.compile import CompileError, compile_graph, model_info, python_name
from core.graph import Graph
from core.layout import auto_layout
from core.shapes import infer_shapes
from core.summary import count_parameters, format_summary, summarize
from core.templates import list_templates, load_template, template_names


def chain(graph: Graph, start: str, *steps: tuple[str, dict]) -> str:
    prev = start
    for kind, params in steps:
        node = graph.add_node(kind, params)
        graph.connect(prev, node.id)
        prev = node.id
    return prev


def two_in_two_out() -> Graph:
    g = Graph(name="two_heads")
    a = g.add_node("Input", {"shape": [6]}, name="feat_a")
    b = g.add_node("Input", {"shape": [4]}, name="feat_b")
    cat = g.add_node("Concatenate", {})
    g.connect(a.id, cat.id, 0, 0)
    g.connect(b.id, cat.id, 0, 1)
    hidden = chain(g, cat.id, ("Dense", {"units": 8, "activation": "relu"}))
    chain(g, hidden, ("Dense", {"units": 3, "activation": "softmax"}), ("Output", {}))
    chain(g, hidden, ("Dense", {"units": 1}), ("Output", {}))
    return g


@pytest.mark.parametrize("name", template_names())
def test_templates_compile_and_match_inferred_shapes(name):
    graph = load_template(name)
    report = infer_shapes(graph)
    assert report.diagnostics == []
    model = compile_graph(graph, seed=0)
    assert isinstance(model, fx.GraphModule)
    (input_id,) = model_info(model).inputs
    shape = graph.nodes[input_id].params["shape"]
    model.eval()
    if graph.nodes[input_id].params["dtype"] == "int32":  # word ids
        x = torch.randint(0, 50, (3, *shape), dtype=torch.int32)
    else:
        x = torch.randn(3, *shape)
    out = model(x)
    (output_id,) = model_info(model).outputs
    src = graph.in_edges(output_id)[0]
    assert tuple(out.shape) == (3, *report.outputs[src.src][src.src_port])
    # the module's parameters and the summary agree
    assert sum(count_parameters(model)) == summarize(graph, report).total


@pytest.mark.parametrize("name", template_names())
def test_templates_have_keras_parameter_counts(name):
    """Each template, built layer by layer in Keras 3, has exactly our parameter count."""
    import keras

    from core.layers import KerasContext, get_spec
    from core.layers._keras_layout import keras_shape

    graph = load_template(name)
    report = infer_shapes(graph)
    tensors = {}
    for node_id in graph.topological_order():
        node = graph.nodes[node_id]
        spec = get_spec(node.kind)
        if node.kind == "Input":
            shape = keras_shape(node.params["shape"])
            tensors[node_id] = keras.Input(shape=shape, dtype=node.params["dtype"])
            continue
        if node.kind == "Output":
            continue
        ctx = KerasContext(tuple(report.inputs[node_id]))
        config = {**spec.keras_config(node.params, ctx), "name": node.name}
        layer = keras.layers.deserialize(
            {"module": "keras.layers", "class_name": spec.keras_class, "config": config}
        )
        args = [tensors[e.src] for _, e in sorted(graph.in_edges(node_id).items())]
        tensors[node_id] = layer(args if len(args) > 1 else args[0])
    inputs = [tensors[n] for n in graph.nodes if graph.nodes[n].kind == "Input"]
    outputs = [
        tensors[graph.in_edges(n)[0].src] for n in graph.nodes if graph.nodes[n].kind == "Output"
    ]
    keras_model = keras.Model(inputs, outputs)
    assert keras_model.count_params() == summarize(graph, report).total


def test_mnist_cnn_has_the_tutorial_parameter_count():
    graph = load_template("mnist_cnn")
    summary = summarize(graph)
    assert summary.total == summary.trainable == 1_199_882
    assert sum(p.numel() for p in compile_graph(graph).parameters()) == 1_199_882
    text = format_summary(summary)
    assert "Total params: 1,199,882" in text
    assert "conv2d (Conv2D)" in text and "(None, 32, 26, 26)" in text


def test_templates_have_descriptions_and_clean_layouts():
    infos = list_templates()
    assert {i.name for i in infos} >= {
        "mnist_cnn",
        "mlp",
        "residual",
        "text_classifier",
        "autoencoder",
        "sequence_cnn",
    }
    for info in infos:
        assert len(info.description) > 40
        graph = load_template(info.name)
        places = [tuple(n.position) for n in graph.nodes.values()]
        assert len(set(places)) == len(places), f"{info.name}: two layers on one spot"
        for edge in graph.edges:
            assert graph.nodes[edge.src].position[1] < graph.nodes[edge.dst].position[1]
    with pytest.raises(KeyError, match="mnist_cnn"):
        load_template("no_such_template")


def test_several_inputs_and_outputs_in_graph_order():
    graph = two_in_two_out()
    model = compile_graph(graph, seed=1)
    names = [graph.nodes[i].name for i in model_info(model).inputs]
    assert names == ["feat_a", "feat_b"]
    probs, value = model(torch.randn(5, 6), torch.randn(5, 4))
    assert probs.shape == (5, 3) and value.shape == (5, 1)
    assert torch.allclose(probs.sum(dim=1), torch.ones(5))
    assert "torch.cat" in model.code or "concatenate" in model.code


def test_outputs_come_in_document_order_not_graph_depth():
    graph = Graph()
    inp = graph.add_node("Input", {"shape": [3]})
    deep_out = graph.add_node("Output", {})  # added first, but two layers further down
    shallow_out = graph.add_node("Output", {})
    last = chain(graph, inp.id, ("Dense", {"units": 5}), ("Dense", {"units": 7}))
    graph.connect(last, deep_out.id)
    graph.connect(inp.id, shallow_out.id)
    model = compile_graph(graph)
    assert model_info(model).outputs == (deep_out.id, shallow_out.id)
    deep, shallow = model(torch.randn(2, 3))
    assert deep.shape == (2, 7) and shallow.shape == (2, 3)


def test_model_info_survives_deepcopy():
    graph = two_in_two_out()
    model = compile_graph(graph)
    clone = copy.deepcopy(model)
    assert model_info(clone) == model_info(model)
    with pytest.raises(ValueError, match="compile_graph"):
        model_info(fx.symbolic_trace(torch.nn.Linear(2, 2)))


def test_seed_makes_weights_reproducible_without_touching_global_rng():
    graph = load_template("residual")
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = compile_graph(graph, seed=7).state_dict()
    assert torch.equal(torch.rand(1), expected_next), "compile with a seed moved the global RNG"
    second = compile_graph(graph, seed=7).state_dict()
    other = compile_graph(graph, seed=8).state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert any(not torch.equal(first[k], other[k]) for k in first)


def test_keras_style_initialisation():
    graph = load_template("mlp")
    model = compile_graph(graph, seed=0)
    biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
    assert biases and all(torch.count_nonzero(b) == 0 for b in biases)
    weight = next(p for n, p in model.named_parameters() if n.endswith("kernel"))
    limit = (6 / sum(weight.shape)) ** 0.5  # Glorot uniform
    assert weight.abs().max() <= limit and weight.abs().max() > limit / 2


def test_errors_refuse_to_compile_with_every_error_listed():
    graph = Graph()
    inp = graph.add_node("Input", {"shape": [1, 28, 28]})
    chain(graph, inp.id, ("Dense", {"units": 4}), ("Output", {}))
    graph.add_node("Dense", {})  # nothing connected to it
    with pytest.raises(CompileError) as info:
        compile_graph(graph)
    assert len(info.value.diagnostics) == 2
    assert "Flatten" in str(info.value)


def test_dead_branches_are_left_out_of_the_module():
    graph = load_template("mlp")
    first_dense = next(n.id for n in graph.nodes.values() if n.kind == "Dense")
    chain(graph, first_dense, ("Dense", {"units": 5}))
    report = infer_shapes(graph)
    assert report.ok and any(d.severity == "warning" for d in report.diagnostics)
    model = compile_graph(graph, report=report)
    assert len([m for m in model.children()]) == 4  # 3 Dense + Dropout, not the dangling Dense


def test_odd_layer_names_become_valid_python():
    graph = Graph(name="my model!")
    inp = graph.add_node("Input", {"shape": [3]}, name="class")
    dense = graph.add_node("Dense", {"units": 2}, name='x"); import os #')
    other = graph.add_node("Dense", {"units": 2}, name="x_import_os")
    out = graph.add_node("Output", {})
    graph.connect(inp.id, dense.id)
    graph.connect(dense.id, other.id)
    graph.connect(other.id, out.id)
    model = compile_graph(graph)
    assert model(torch.randn(2, 3)).shape == (2, 2)
    assert "import os" not in model.code
    taken: set[str] = set()
    assert python_name("1st layer", taken).isidentifier()
    assert python_name("forward", taken) != "forward"  # would shadow nn.Module.forward


def test_inputs_named_like_builtins_keep_their_own_data():
    """fx renames ``input`` (a builtin) to ``input_1``, which must not capture the next Input."""
    graph = Graph()
    first = graph.add_node("Input", {"shape": [3]})
    second = graph.add_node("Input", {"shape": [5]})
    assert (first.name, second.name) == ("input", "input_1")
    for source, units in ((first, 2), (second, 4)):
        chain(graph, source.id, ("Dense", {"units": units}), ("Output", {}))
    a, b = compile_graph(graph)(torch.rand(2, 3), torch.rand(2, 5))
    assert a.shape == (2, 2) and b.shape == (2, 4)


def test_summary_of_a_broken_graph_shows_unknowns():
    graph = Graph()
    inp = graph.add_node("Input", {"shape": [8]})
    chain(graph, inp.id, ("Conv2D", {}), ("Dense", {"units": 3}), ("Output", {}))
    summary = summarize(graph)
    assert [r.kind for r in summary.rows] == ["Input", "Conv2D", "Dense"]
    assert summary.rows[1].params is None and summary.rows[1].output_shapes is None
    assert "?" in format_summary(summary)


def test_layout_moves_skipped_layers_aside():
    graph = load_template("residual")
    places = auto_layout(graph)
    add = next(n.id for n in graph.nodes.values() if n.kind == "Add")
    skip_src = graph.in_edges(add)[0].src
    body = graph.in_edges(add)[1].src
    assert places[body][0] != places[skip_src][0]
    assert places[add][1] > places[body][1] > places[skip_src][1]
