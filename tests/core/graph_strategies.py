"""Hypothesis strategies of random *valid* model graphs, for tests of whole models.

:func:`valid_graphs` draws a small graph that the studio accepts and can run: one or two Inputs
(flat data, sequences, images or sequences of whole-number ids), then layers of every kind of
the catalog with params drawn from their :class:`~core.layers.Param` declarations, each fed from
tensors made before it (any output port of any layer, so branches, merges and multi-output
layers all happen), then one or two Outputs. Every graph it gives:

* has no errors in :func:`core.shapes.infer_shapes`, and every layer (each Input included)
  leads to an Output, so :func:`core.compile.compile_graph` builds all of it;
* runs on :func:`example_batch` (whole-number ids within each Embedding's ``input_dim``).

A layer whose shapes do not work is drawn again a bounded number of times, never filtered with
``assume``, so drawing stays fast. Sizes are kept small (features at most 6, steps at most 5,
images at most 3×10×10, units and filters at most 6) so that models build and run in
milliseconds. A kind added to the catalog later is drawn with no edit here, from its params.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from hypothesis import strategies as st

from core.graph import Graph, name_problem
from core.layers import LayerSpec, Param, ParamError, Shape, ShapeError, all_specs, get_spec
from core.shapes import infer_shapes

__all__ = [
    "MAX_CHANNELS",
    "MAX_FEATURES",
    "MAX_SIDE",
    "MAX_STEPS",
    "MODULE_ATTRIBUTE_NAMES",
    "ODD_NAMES",
    "example_batch",
    "keras_compatible_graphs",
    "layer_kinds",
    "small_values",
    "two_heads",
    "valid_graphs",
]

MAX_FEATURES = 6  # features of a flat or sequence Input
MAX_STEPS = 5  # steps of a sequence Input (ids included)
MAX_CHANNELS = 3  # channels of an image Input
MAX_SIDE = 10  # height and width of an image Input
MAX_VALUES = 2048  # most values per sample of any tensor a layer makes
MAX_RANK = 4  # most axes (batch excluded) of any tensor a layer makes
RANKS = tuple(range(1, MAX_RANK + 1))
ATTEMPTS = 6  # kinds drawn for one layer before it is left out
TRIES_PER_KIND = 3  # candidates (params and inputs) drawn for one kind

#: The largest value drawn for a numeric param, by its name (Keras's names).
CAPS: dict[str, int] = {
    "units": 6,
    "filters": 6,
    "output_dim": 6,
    "input_dim": 20,
    "n": 4,
    "num_inputs": 3,
    "depth_multiplier": 2,
    "groups": 3,
    "kernel_size": 3,
    "pool_size": 3,
    "strides": 2,
    "dilation_rate": 2,
    "padding": 2,
    "cropping": 2,
    "size": 2,
    "output_padding": 1,
}
INT_CAP = 6  # for an ``int`` param not in CAPS
INTS_CAP = 3  # for an item of an ``ints`` param not in CAPS

#: Names a user may well type, which code generators and file writers must cope with.
ODD_NAMES = (
    "my layer",
    "it's",
    'say "hi"',
    "back\\slash",
    "ünïcödé",
    "層",
    "λ → μ",
    "😀",
    "input",
    "class",
    "forward",
    "1st",
    "_private",
    "__init__",
    "a.b",
    "x-y",
    "  padded  ",
    "%s{0}",
    "<b>",
    "dense",
    "x" * 100,
)

#: Names of things every compiled module has (``self`` is the generated ``forward``'s first
#: argument; the others are attributes of ``torch.fx.GraphModule`` or of an ``nn.Module``
#: instance): layers may be called so, and are, now and then.
MODULE_ATTRIBUTE_NAMES = (
    "self",
    "training",
    "graph",
    "meta",
    "code",
    "shape_env",
    "recompile",
    "to_folder",
    "print_readable",
    "add_submodule",
    "delete_submodule",
    "delete_all_unused_submodules",
)

#: A layer kind and its params -> whether the caller wants such a layer (a veto hook).
Allow = Callable[[str, Mapping[str, Any]], bool]


@dataclass(frozen=True)
class _Tensor:
    """An output port of a planned node and the shape it carries."""

    node: int  # index into the plan
    port: int
    shape: Shape
    integer: bool  # whole-number ids (only an int32 Input makes them)


@dataclass(frozen=True)
class _Planned:
    """A node to be added to the graph: kind, params, what feeds each input, what comes out."""

    kind: str
    params: dict[str, Any]
    inputs: tuple[_Tensor, ...]
    outputs: tuple[_Tensor, ...]


def layer_kinds(kinds: Sequence[str] | None = None) -> tuple[str, ...]:
    """The kinds a graph may contain as layers: ``kinds`` (default all) less Input and Output."""
    names = [s.kind for s in all_specs()] if kinds is None else list(kinds)
    for kind in names:
        get_spec(kind)  # an unknown kind is a mistake in the test, not a kind to skip
    return tuple(k for k in names if k not in ("Input", "Output"))


# -- params ----------------------------------------------------------------------------------


def _range(p: Param, cap: int) -> tuple[int, int]:
    lo = int(p.minimum) if p.minimum is not None else -cap
    hi = cap if lo < cap else lo + cap
    if p.maximum is not None:
        hi = min(hi, int(p.maximum) - (1 if p.exclusive_maximum else 0))
    return lo, hi


def small_values(p: Param) -> st.SearchStrategy[Any]:
    """Valid, small, canonical values of one param, from its declaration (and name) alone.

    Params whose useful values depend on the input shapes (``axis``, ``axes``, ``dims``,
    ``target_shape``) are drawn again by :func:`_fit_params` once the inputs are chosen.
    """
    base: st.SearchStrategy[Any]
    if p.type == "bool":
        base = st.booleans()
    elif p.type == "choice":
        base = st.sampled_from(p.choices)
    elif p.type == "float":
        lo = float(p.minimum) if p.minimum is not None else -1.0
        hi = float(p.maximum) if p.maximum is not None else lo + 1.0
        top_out = p.exclusive_maximum and p.maximum is not None
        drawn = st.floats(lo, hi, exclude_max=top_out, allow_nan=False, allow_subnormal=False)
        base = st.one_of(st.just(p.default), drawn) if p.default is not None else drawn
    elif p.type == "shape":
        base = st.just(p.default)
    else:
        lo, hi = _range(p, CAPS.get(p.name, INT_CAP if p.type == "int" else INTS_CAP))
        number = st.integers(lo, hi)
        if p.type == "ints":
            square = number.map(lambda v: (v,) * p.length)  # (3, 3) kernels are the usual
            base = st.one_of(square, st.tuples(*[number] * p.length))
        else:
            base = number
        items = p.default if isinstance(p.default, tuple) else (p.default,)
        if p.default is not None and all(lo <= v <= hi for v in items):
            base = st.one_of(st.just(p.default), base)
    return st.one_of(st.none(), base) if p.optional else base


@cache
def _param_dicts(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    spec = get_spec(kind)
    return st.fixed_dictionaries({p.name: small_values(p) for p in spec.params})


def _works(spec: LayerSpec, shapes: list[Shape], params: Mapping[str, Any]) -> bool:
    if spec.params_problems(params):
        return False
    try:
        spec.output_shapes(shapes, params)
    except ShapeError:
        return False
    return True


def _valid(p: Param, value: Any) -> bool:
    try:
        return bool(p.validate(value) == value)
    except ParamError:
        return False


def _factorised(draw: st.DrawFn, total: int) -> tuple[int, ...]:
    """Sizes that multiply to ``total``, one of them now and then -1 (worked out by Reshape)."""
    rank = draw(st.sampled_from((1, 2, 2, 3, 3, 4)))
    sizes, rest = [], total
    for _ in range(rank - 1):
        size = draw(st.sampled_from([d for d in range(1, rest + 1) if rest % d == 0]))
        sizes.append(size)
        rest //= size
    sizes.append(rest)
    if draw(st.integers(0, 2)) == 0:
        sizes[draw(st.integers(0, rank - 1))] = -1
    return tuple(sizes)


def _shape_choices(
    spec: LayerSpec, params: Mapping[str, Any], shapes: list[Shape]
) -> dict[str, list[Any]] | None:
    """The values of ``axis`` or ``axes`` with which ``shapes`` work; None when there are none."""
    choices = {}
    for p in spec.params:
        if p.name == "axis" and p.type == "int":
            values: list[Any] = list(range(-MAX_RANK, MAX_RANK + 1))
        elif p.name == "axes" and p.type == "ints":
            values = list(itertools.product(range(-MAX_RANK, MAX_RANK + 1), repeat=p.length))
        else:
            continue
        good = [v for v in values if _valid(p, v) and _works(spec, shapes, {**params, p.name: v})]
        if not good:
            return None
        choices[p.name] = good
    return choices


def _could_work(spec: LayerSpec, params: Mapping[str, Any], shapes: list[Shape]) -> bool:
    """Whether ``shapes`` work for ``params`` with some ``axis`` or ``axes`` (merge inputs)."""
    choices = _shape_choices(spec, params, shapes)
    if choices is None:
        return False
    return _works(spec, shapes, {**params, **{name: good[0] for name, good in choices.items()}})


def _fit_params(
    draw: st.DrawFn, spec: LayerSpec, params: dict[str, Any], shapes: list[Shape]
) -> dict[str, Any] | None:
    """``params`` with the shape-dependent ones drawn for ``shapes``; None when none work."""
    params = dict(params)
    rank = len(shapes[0])
    for p in spec.params:
        if p.name == "dims" and p.type == "shape":
            dims = tuple(draw(st.permutations(range(1, rank + 1))))
            if _valid(p, dims):
                params[p.name] = dims
        elif p.name == "target_shape" and p.type == "shape":
            target = _factorised(draw, math.prod(shapes[0]))
            if _valid(p, target):
                params[p.name] = target
    choices = _shape_choices(spec, params, shapes)
    if choices is None:
        return None
    for name, good in choices.items():
        last = -1 if isinstance(good[0], int) else (-1,) * len(good[0])
        if last in good and draw(st.booleans()):
            params[name] = last  # Keras's default, the usual choice
        else:
            params[name] = draw(st.sampled_from(good))
    return params


# -- tensors ---------------------------------------------------------------------------------


def _accepts(spec: LayerSpec, tensor: _Tensor) -> bool:
    """Whether ``spec`` may read ``tensor``: ids only into id readers, of an allowed rank."""
    if tensor.integer != spec.integer_input:
        return False
    return not spec.input_ranks or len(tensor.shape) in spec.input_ranks


def _small(shape: Shape) -> bool:
    """Whether a layer's output is small enough to keep: at most 4 axes and 2048 values."""
    return (
        1 <= len(shape) <= MAX_RANK
        and all(d >= 1 for d in shape)
        and math.prod(shape) <= MAX_VALUES
    )


@st.composite
def _input_params(draw: st.DrawFn, ids: bool) -> dict[str, Any]:
    """An Input's params: an image, a sequence, flat data or (when ``ids``) a sequence of ids.

    Images come twice as often as the others: most kinds are for images, and they need room
    (sides of 3 or more, mostly) where flat data comes out of many layers anyway.
    """
    forms = ("image", "image", "sequence", "flat", *(("ids",) if ids else ()))
    form = draw(st.sampled_from(forms))
    steps = st.integers(1, MAX_STEPS)
    features = st.integers(1, MAX_FEATURES)
    if form == "image":
        side = st.one_of(st.integers(3, MAX_SIDE), st.integers(1, MAX_SIDE))
        shape: tuple[int, ...] = draw(st.tuples(st.integers(1, MAX_CHANNELS), side, side))
    elif form == "sequence":
        shape = draw(st.tuples(steps, features))
    elif form == "flat":
        shape = draw(st.tuples(features))
    else:
        return {"shape": draw(st.tuples(steps)), "dtype": "int32"}
    return {"shape": shape, "dtype": "float32"}


def _mostly(draw: st.DrawFn, preferred: list[Any], others: list[Any], odds: int) -> list[Any]:
    """``preferred`` (when not empty) ``odds`` times in ``odds + 1``, else ``others``."""
    return preferred if preferred and draw(st.integers(0, odds)) > 0 else others


def _partner(
    draw: st.DrawFn,
    spec: LayerSpec,
    params: Mapping[str, Any],
    pool: list[_Tensor],
    ends: list[_Tensor],
    chosen: list[_Tensor],
) -> _Tensor:
    """Another input for a merge: mostly another tensor that fits, at times one chosen already.

    A tensor fits when the inputs would work with it, the ports still open getting the first
    input's shape (equal shapes, or shapes that broadcast or concatenate).
    """
    count = spec.num_inputs(params)
    fits = [t for t in pool if _accepts(spec, t) and t not in chosen]
    rest = [chosen[0].shape] * (count - len(chosen) - 1)
    good = [
        t for t in fits if _could_work(spec, params, [*(c.shape for c in chosen), t.shape, *rest])
    ]
    roll = draw(st.integers(0, 9))
    if roll < 4 and any(t in ends for t in good):
        return draw(st.sampled_from([t for t in good if t in ends]))
    if roll < 7 and good:
        return draw(st.sampled_from(good))
    if roll < 9 or not fits:
        return draw(st.sampled_from(chosen))  # a tensor twice
    return draw(st.sampled_from(fits))


def _draw_layer(
    draw: st.DrawFn,
    plan: list[_Planned],
    read: set[_Tensor],
    kinds: tuple[str, ...],
    allow: Allow | None,
    forced: _Tensor | None,
) -> _Planned | None:
    """A layer fed from tensors of ``plan`` (its first input ``forced`` if given), or None.

    Its first input is mostly an end (a tensor that nothing reads yet: the last output of a
    branch, or a recurrent layer's state), so that few layers are left out for leading to no
    Output; a kind that fails is given a few more tries.
    """
    pool = [t for node in plan for t in node.outputs]
    ends = [t for t in pool if t not in read]
    for _ in range(ATTEMPTS):
        if forced is None and draw(st.booleans()):
            # kind first, from them all (each kind as often as the others) ...
            spec = get_spec(draw(st.sampled_from(kinds)))
            fits = [t for t in pool if _accepts(spec, t)]
            if not fits:
                continue
            fresh = [t for t in fits if t in ends]
            first = draw(st.sampled_from(_mostly(draw, fresh, fits, 7)))
        else:
            # ... or the tensor first, mostly an end, and mostly a kind made for its rank
            # (Conv2D for an image), which the kinds that take any rank would crowd out
            if forced is not None:
                first = forced
            else:
                first = draw(st.sampled_from(_mostly(draw, ends, pool, 7)))
            can = [k for k in kinds if _accepts(get_spec(k), first)]
            if not can:
                continue
            special = [k for k in can if not set(RANKS) <= set(get_spec(k).input_ranks or RANKS)]
            spec = get_spec(draw(st.sampled_from(_mostly(draw, special, can, 1))))
        for _ in range(TRIES_PER_KIND):
            layer = _try_layer(draw, spec, len(plan), pool, ends, first, allow)
            if layer is not None:
                return layer
    return None


def _try_layer(
    draw: st.DrawFn,
    spec: LayerSpec,
    index: int,
    pool: list[_Tensor],
    ends: list[_Tensor],
    first: _Tensor,
    allow: Allow | None,
) -> _Planned | None:
    """A layer of ``spec``'s kind reading ``first`` (and more for a merge), or None."""
    params = draw(_param_dicts(spec.kind))
    if allow is not None and not allow(spec.kind, params):
        return None
    inputs = [first]
    for _ in range(spec.num_inputs(params) - 1):
        inputs.append(_partner(draw, spec, params, pool, ends, inputs))
    shapes = [t.shape for t in inputs]
    fitted = _fit_params(draw, spec, params, shapes)
    if fitted is None or spec.params_problems(fitted):
        return None
    if allow is not None and not allow(spec.kind, fitted):
        return None
    try:
        outs = [tuple(s) for s in spec.output_shapes(shapes, fitted)]
    except ShapeError:
        return None
    if len(outs) != spec.num_outputs(fitted) or not all(_small(s) for s in outs):
        return None
    if any(f.severity == "error" for f in spec.check(shapes, outs, fitted)):
        return None
    made = tuple(_Tensor(index, port, s, False) for port, s in enumerate(outs))
    return _Planned(spec.kind, fitted, tuple(inputs), made)


# -- outputs ---------------------------------------------------------------------------------


def _ancestors(plan: list[_Planned], starts: Sequence[int]) -> set[int]:
    seen, stack = set(starts), list(starts)
    while stack:
        for t in plan[stack.pop()].inputs:
            if t.node not in seen:
                seen.add(t.node)
                stack.append(t.node)
    return seen


def _pick_end(draw: st.DrawFn, ends: list[int], feeds: dict[int, set[int]], have: set[int]) -> int:
    """Mostly the end that brings the most layers not yet in ``have`` (so few are left out)."""
    ranked = sorted(ends, key=lambda e: (-len(feeds[e] - have), e))
    return ranked[0] if draw(st.integers(0, 3)) > 0 else draw(st.sampled_from(ranked))


def _choose_outputs(
    draw: st.DrawFn, plan: list[_Planned], consumers: list[int], max_outputs: int
) -> list[_Tensor]:
    """Tensors for the Outputs: ends of the graph, so that every Input leads to one."""
    inputs = [i for i, node in enumerate(plan) if node.kind == "Input"]
    ends = [i for i in range(len(plan)) if not consumers[i]]
    feeds = {e: _ancestors(plan, [e]) for e in ends}  # the nodes each end depends on
    wanted = draw(st.integers(1, max_outputs))
    chosen: list[int] = []
    have: set[int] = set()
    while True:  # every Input must lead to an Output
        alone = [i for i in inputs if i not in have]
        if not alone:
            break
        chosen.append(_pick_end(draw, [e for e in ends if alone[0] in feeds[e]], feeds, have))
        have |= feeds[chosen[-1]]
    tensors = [draw(st.sampled_from(plan[e].outputs)) for e in chosen]
    while len(tensors) < wanted:  # another end, or a tensor on the way (a side result)
        others = [e for e in ends if e not in chosen]
        middle = [
            t
            for i in sorted(have)
            for t in plan[i].outputs
            if t not in tensors and not t.integer and plan[i].kind != "Input"
        ]
        if others and (draw(st.integers(0, 3)) > 0 or not middle):
            chosen.append(_pick_end(draw, others, feeds, have))
            have |= feeds[chosen[-1]]
            tensors.append(draw(st.sampled_from(plan[chosen[-1]].outputs)))
        elif middle:
            tensors.append(draw(st.sampled_from(middle)))
        else:
            break
    return tensors


# -- graphs ----------------------------------------------------------------------------------


def _odd_names() -> st.SearchStrategy[str]:
    """Valid names from :data:`ODD_NAMES`, :data:`MODULE_ATTRIBUTE_NAMES` or typed at random
    (``name_problem`` refuses what UTF-8 and HDF5 cannot hold, such as lone surrogates)."""
    fixed = st.sampled_from(ODD_NAMES + MODULE_ATTRIBUTE_NAMES)
    typed = st.text(min_size=1, max_size=12)
    return st.one_of(fixed, typed).filter(lambda name: name_problem(name) is None)


def _name(draw: st.DrawFn, graph: Graph, odd: bool) -> str | None:
    """None (Keras's automatic name) mostly; now and then an odd valid unused name."""
    if not odd or draw(st.integers(0, 7)) > 0:
        return None
    name = draw(_odd_names())
    return name if graph.node_by_name(name) is None else None


@st.composite
def valid_graphs(
    draw: st.DrawFn,
    max_layers: int = 8,
    *,
    max_inputs: int = 2,
    max_outputs: int = 2,
    kinds: Sequence[str] | None = None,
    allow: Allow | None = None,
    odd_names: bool = True,
) -> Graph:
    """Random valid graphs: 1 to ``max_inputs`` Inputs, up to ``max_layers`` layers, Outputs.

    Args:
        draw: Given by Hypothesis.
        max_layers: The most layers (Inputs and Outputs not counted). Layers that lead to no
            Output are left out, so graphs often have fewer.
        max_inputs: The most Inputs (at least 1).
        max_outputs: The most Outputs wanted (at least 1); a graph whose Inputs reach no
            common layer gets one per Input even beyond it.
        kinds: The layer kinds to draw from; default every kind of the catalog.
        allow: Vetoes a drawn layer: ``allow(kind, params)`` false draws another.
        odd_names: Whether some layers (and the model) get unusual valid names (spaces,
            quotes, unicode, Python keywords); the others get Keras's automatic names.

    Returns:
        A graph with no errors in which every layer leads to an Output.
    """
    layer_set = layer_kinds(kinds)
    ids = any(get_spec(k).integer_input for k in layer_set)
    plan: list[_Planned] = []
    for _ in range(draw(st.integers(1, max(1, max_inputs)))):
        params = draw(_input_params(ids))
        tensor = _Tensor(len(plan), 0, tuple(params["shape"]), params["dtype"] == "int32")
        plan.append(_Planned("Input", params, (), (tensor,)))
    consumers = [0] * len(plan)  # how many inputs each node feeds
    read: set[_Tensor] = set()
    for _ in range(draw(st.integers(min(1, max_layers), max_layers))):
        unread = [i for i, node in enumerate(plan) if node.kind == "Input" and not consumers[i]]
        forced = plan[unread[0]].outputs[0] if unread else None
        layer = _draw_layer(draw, plan, read, layer_set, allow, forced)
        if layer is None:
            continue
        read.update(layer.inputs)
        for t in layer.inputs:
            consumers[t.node] += 1
        plan.append(layer)
        consumers.append(0)
    for i, node in enumerate(plan):  # ids no layer reads: an Output could only pass them on
        if node.kind == "Input" and node.params["dtype"] == "int32" and not consumers[i]:
            shape = node.outputs[0].shape
            plan[i] = _Planned(
                "Input", {**node.params, "dtype": "float32"}, (), (_Tensor(i, 0, shape, False),)
            )
    results = _choose_outputs(draw, plan, consumers, max(1, max_outputs))
    live = _ancestors(plan, sorted({t.node for t in results}))

    odd_model = odd_names and draw(st.integers(0, 7)) == 0
    graph = Graph(name=draw(_odd_names()) if odd_model else "model")
    ids_of: dict[int, str] = {}
    for index, node in enumerate(plan):
        if index not in live:
            continue
        name = _name(draw, graph, odd_names)
        added = graph.add_node(node.kind, node.params, name=name, position=(0.0, 80.0 * index))
        ids_of[index] = added.id
        for port, t in enumerate(node.inputs):
            graph.connect(ids_of[t.node], added.id, t.port, port)
    for i, t in enumerate(results):
        name = _name(draw, graph, odd_names)
        out = graph.add_node("Output", name=name, position=(200.0, 80.0 * (len(plan) + i)))
        graph.connect(ids_of[t.node], out.id, t.port, 0)
    return graph


def keras_compatible_graphs(max_layers: int = 8, **options: Any) -> st.SearchStrategy[Graph]:
    """:func:`valid_graphs` of only what a Keras file can hold (a ``keras_class`` per layer).

    Every kind but Output has a Keras class today, so this is ``valid_graphs`` itself; it is
    the one place to leave out kinds or settings that Keras cannot express, should some come.
    """
    keras_kinds = [s.kind for s in all_specs() if s.keras_class is not None]
    options.setdefault("kinds", keras_kinds)
    return valid_graphs(max_layers, **options)


def example_batch(graph: Graph, rng: np.random.Generator, batch: int = 2) -> list[np.ndarray]:
    """One array per Input that the compiled model takes, in its order (live ones, in order).

    Float inputs are uniform in [-1, 1); int32 inputs hold ids below the smallest
    ``input_dim`` of the layers that read them, as an Embedding needs.
    """
    report = infer_shapes(graph)
    arrays = []
    for node_id, node in graph.nodes.items():
        if node.kind != "Input" or node_id not in report.live:
            continue
        shape = (batch, *node.params["shape"])
        if node.params["dtype"] == "int32":
            readers = [graph.nodes[e.dst].params for e in graph.out_edges(node_id)]
            sizes = [p["input_dim"] for p in readers if isinstance(p.get("input_dim"), int)]
            arrays.append(rng.integers(0, min(sizes, default=1), shape).astype(np.int32))
        else:
            arrays.append(rng.uniform(-1, 1, shape).astype(np.float32))
    return arrays


def two_heads(classes: str = "cls", values: str = "reg", name: str = "two_heads") -> Graph:
    """A hand-made two-output model: one Input (4 features) feeding a softmax Dense
    ``classes`` (3 units) and a linear Dense ``values`` (1 unit), each with an Output named
    after it plus ``_out``."""
    graph = Graph(name=name)
    source = graph.add_node("Input", {"shape": [4]})
    cls = graph.add_node("Dense", {"units": 3, "activation": "softmax"}, name=classes)
    reg = graph.add_node("Dense", {"units": 1}, name=values)
    for layer in (cls, reg):
        graph.connect(source.id, layer.id)
        graph.connect(layer.id, graph.add_node("Output", name=f"{layer.name}_out").id)
    return graph
