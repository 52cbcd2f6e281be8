"""How the core scales with the size of a model graph.

Builds residual MLP graphs of 500 and 1,000 layers and a 500-layer convolution chain, and
measures, as medians of repeated runs: shape inference from scratch, re-inference after one
param edit with the editor's cache (the editor needs this under 20 ms on 500 layers), the
summary, and compiling to a torch.fx module.

    python benchmarks/graph_scale.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from core.compile import compile_graph
from core.graph import Graph
from core.shapes import infer_shapes
from core.summary import summarize


def residual_mlp(layers: int, width: int = 64) -> Graph:
    """Input, then blocks of Dense, Dense, Add (skip), Activation, then Output: ``layers`` nodes."""
    graph = Graph(name=f"residual_mlp_{layers}")
    prev = graph.add_node("Input", {"shape": [width]}).id
    while len(graph.nodes) + 4 < layers:
        a = graph.add_node("Dense", {"units": width, "activation": "relu"}).id
        b = graph.add_node("Dense", {"units": width}).id
        add = graph.add_node("Add", {}).id
        act = graph.add_node("Activation", {"activation": "relu"}).id
        graph.connect(prev, a)
        graph.connect(a, b)
        graph.connect(prev, add, 0, 0)
        graph.connect(b, add, 0, 1)
        graph.connect(add, act)
        prev = act
    while len(graph.nodes) < layers - 1:
        nxt = graph.add_node("Dropout", {"rate": 0.1}).id
        graph.connect(prev, nxt)
        prev = nxt
    graph.connect(prev, graph.add_node("Output", {}).id)
    assert len(graph.nodes) == layers
    return graph


def conv_chain(layers: int) -> Graph:
    """Input (8, 32, 32), then Conv2D (padding same) and Activation in turn, then Output."""
    graph = Graph(name=f"conv_chain_{layers}")
    prev = graph.add_node("Input", {"shape": [8, 32, 32]}).id
    while len(graph.nodes) < layers - 1:
        if len(graph.nodes) % 2:
            nxt = graph.add_node("Conv2D", {"filters": 8, "padding": "same"}).id
        else:
            nxt = graph.add_node("Activation", {"activation": "relu"}).id
        graph.connect(prev, nxt)
        prev = nxt
    graph.connect(prev, graph.add_node("Output", {}).id)
    return graph


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    big = residual_mlp(1000)
    assert infer_shapes(big).ok
    print(f"{'measure':<58} {'median ms':>10}")
    print(
        f"{'infer shapes, 1,000 layers, from scratch':<58} "
        f"{median_ms(lambda: infer_shapes(big), 20):>10.2f}"
    )

    mid = residual_mlp(500)
    cache: dict = {}
    infer_shapes(mid, cache)
    dense = [n.id for n in mid.nodes.values() if n.kind == "Dense"]
    middle = dense[len(dense) // 2]
    toggle = iter(["tanh", "relu"] * 1000)

    def edit_activation() -> None:
        mid.set_param(middle, "activation", next(toggle))
        infer_shapes(mid, cache)

    chain = conv_chain(500)
    chain_cache: dict = {}
    infer_shapes(chain, chain_cache)
    inp = next(n.id for n in chain.nodes.values() if n.kind == "Input")
    heights = iter([31, 32] * 1000)

    def edit_input_shape() -> None:  # every layer's output shape changes
        chain.set_param(inp, "shape", (8, next(heights), 32))
        report = infer_shapes(chain, chain_cache)
        assert report.ok and len(report.outputs) == len(chain.nodes)

    print(
        f"{'edit + re-infer, 500 layers, no shape changes (cached)':<58} "
        f"{median_ms(edit_activation, 50):>10.2f}"
    )
    print(
        f"{'edit + re-infer, 500 layers, every shape changes (cached)':<58} "
        f"{median_ms(edit_input_shape, 20):>10.2f}"
    )
    print(
        f"{'infer shapes, 500 layers, from scratch':<58} "
        f"{median_ms(lambda: infer_shapes(mid), 20):>10.2f}"
    )
    print(
        f"{'summary (parameter counts), 1,000 layers':<58} "
        f"{median_ms(lambda: summarize(big), 5):>10.2f}"
    )
    print(
        f"{'compile to torch.fx GraphModule, 1,000 layers':<58} "
        f"{median_ms(lambda: compile_graph(big, seed=0), 5):>10.2f}"
    )


if __name__ == "__main__":
    main()
