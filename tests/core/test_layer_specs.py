"""Generic tests of every layer kind in the catalog, in the spirit of Keras's ``run_layer_test``.

Each check iterates :func:`core.layers.all_specs` and draws what it needs from the kind's
:class:`~core.layers.Param` declarations, so a kind added later is tested with no edit here:

* its params (and a graph that uses it) survive the JSON round trip;
* random valid params and input shapes give a module whose real output has exactly the inferred
  shape, and inputs of a rank it does not take are refused in plain words;
* where Keras has the layer, our numbers equal Keras's in inference mode, both with our weights
  converted to Keras and with Keras's weights converted to ours.

Shapes exclude the batch axis and are channels-first; Keras tensors are channels-last, so a
tensor with three or more axes (batch excluded) moves its channel axis to the end on the way.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import assume, given, reject, settings
from hypothesis import strategies as st
from torch import nn

from core.graph import Graph
from core.layers import KerasContext, ShapeError, all_specs, get_spec
from core.layers.params import Param, ParamError
from core.layers.spec import LayerSpec, Shape
from core.summary import count_parameters

os.environ["KERAS_BACKEND"] = "torch"  # before any test imports keras

# Not ours to fix: Keras's np.array(tensor) (NumPy 2 warns), oneDNN switched off (see run_keras)
# and Keras's advice about a softmax over one value (random params draw such layers).
pytestmark = [
    pytest.mark.filterwarnings(f"ignore:{text}")
    for text in ("__array__ implementation", "TF32 acceleration", "You are using a softmax")
]

INT_CAP = 8  # largest value drawn for an int param (units, filters, groups, ...)
TUPLE_CAP = 4  # largest item drawn for an ``ints`` param (kernel_size, strides, ...)
DIM_CAP = 12  # largest size drawn for an input axis
BATCH = 2
TOLERANCE = 1e-5
SEEDS = st.integers(0, 2**31 - 1)

KINDS = [s.kind for s in all_specs()]
KERAS_KINDS = [s.kind for s in all_specs() if s.keras_class not in (None, "InputLayer")]
KERAS_CHOICES = [
    (kind, p.name, c) for kind in KERAS_KINDS for p in get_spec(kind).params for c in p.choices
]
BAD_RANKS = [
    (s.kind, r) for s in all_specs() for r in range(1, 5) if r not in (s.input_ranks or (r,))
]


def _int_range(p: Param, cap: int) -> tuple[int, int]:
    """The drawn range of an int-like param: from its minimum to a small cap, within its maximum."""
    lo = min(-cap, int(p.maximum or 0) - cap) if p.minimum is None else int(p.minimum)
    hi = cap if lo < cap else lo + cap
    if p.maximum is not None and p.maximum <= hi:
        hi = int(p.maximum) - (1 if p.exclusive_maximum else 0)
    return lo, hi


def param_values(p: Param) -> st.SearchStrategy[Any]:
    """Valid canonical values of one param, drawn from its declaration alone."""
    base: st.SearchStrategy[Any]
    if p.type == "bool":
        base = st.booleans()
    elif p.type == "choice":
        base = st.sampled_from(p.choices)
    elif p.type == "float":
        lo = min(-4.0, (p.maximum or 0) - 8.0) if p.minimum is None else float(p.minimum)
        hi = lo + 8.0 if p.maximum is None else min(float(p.maximum), lo + 8.0)
        top_excluded = p.exclusive_maximum and hi == p.maximum
        base = st.floats(lo, hi, exclude_max=top_excluded, allow_nan=False)
    elif p.type == "shape":
        size = st.integers(*_int_range(p, DIM_CAP))
        base = st.lists(size, min_size=1, max_size=4).map(tuple)
        base = st.one_of(st.just(p.default), base)  # Reshape's target fits few inputs
    else:
        lo, hi = _int_range(p, INT_CAP if p.type == "int" else TUPLE_CAP)
        base = st.integers(lo, hi)
        if p.type == "ints":
            base = st.tuples(*[base] * p.length)
        else:  # powers of two often, so that sizes divide each other (filters and groups)
            twos = [2**i for i in range(8) if lo <= 2**i <= hi]
            base = st.one_of(st.sampled_from(twos), base) if twos else base
        # The default often too, so that params that exclude each other (Conv2D's strides and
        # dilation_rate) are mostly valid together.
        items = p.default if isinstance(p.default, tuple) else (p.default,)
        if p.default is not None and all(lo <= v <= hi for v in items):
            base = st.one_of(st.just(p.default), base)
    return st.one_of(st.none(), base) if p.optional else base


@st.composite
def input_shapes(draw: st.DrawFn, spec: LayerSpec, params: dict[str, Any]) -> list[Shape]:
    """Input shapes of an allowed rank; several inputs mostly share one shape (for merges)."""
    count = spec.num_inputs(params)
    if count == 0:
        return []
    rank = draw(st.sampled_from(spec.input_ranks or (1, 2, 3)))
    size = st.integers(1, DIM_CAP)
    first = draw(st.tuples(*[size] * rank))
    if draw(st.integers(0, 3)) < 3:
        return [first] * count
    # Now and then the inputs differ along one axis, as Concatenate's inputs may.
    axis = draw(st.integers(0, rank - 1))
    return [(*first[:axis], draw(size), *first[axis + 1 :]) for _ in range(count)]


@st.composite
def cases(
    draw: st.DrawFn, spec: LayerSpec, pinned: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[Shape], list[Shape]]:
    """Valid params (``pinned`` ones as given), input shapes it takes, and the output shapes.

    Draws again (a few times) instead of filtering, so almost every example is valid.
    """
    values = {p.name: param_values(p) for p in spec.params}
    strategy = st.fixed_dictionaries(values | {k: st.just(v) for k, v in (pinned or {}).items()})
    for _ in range(10):
        params = draw(strategy)
        for p in spec.params:
            assert p.validate(params[p.name]) == params[p.name], f"strategy drew a bad {p.name}"
        if not spec.params_problems(params):
            break
    else:
        reject()
    for _ in range(10):  # keep the params: some (Conv2D's groups) need particular shapes
        shapes = draw(input_shapes(spec, params))
        try:
            return params, shapes, [tuple(s) for s in spec.output_shapes(shapes, params)]
        except ShapeError:
            continue
    reject()


def non_default(p: Param) -> Any:
    """A valid value of ``p`` other than its default (the default when there is no other)."""
    start = p.default if p.default is not None else (1,) * p.length if p.length else 1
    if p.type == "bool":
        candidates: list[Any] = [not start]
    elif p.type == "choice":
        candidates = list(p.choices)
    elif isinstance(start, tuple):
        candidates = [start[::-1], tuple(v + 1 + i for i, v in enumerate(start)), start]
    else:
        top = p.maximum if p.maximum is not None else start + 1
        candidates = [start * 2, start + 1, start - 1, (start + top) / 2, start]
    for value in candidates:
        with contextlib.suppress(ParamError):
            if p.validate(value) != p.default:
                return p.validate(value)
    return p.default


def non_default_params(spec: LayerSpec) -> dict[str, Any]:
    """Every param changed from its default, except where params together would be refused."""
    params = {p.name: non_default(p) for p in spec.params}
    for p in reversed(spec.params):
        if not spec.params_problems(params):
            break
        trial = {**params, p.name: spec.defaults()[p.name]}
        if len(spec.params_problems(trial)) < len(spec.params_problems(params)):
            params = trial
    assert not spec.params_problems(params), spec.params_problems(params)
    return params


def to_keras(x: np.ndarray) -> np.ndarray:
    """A batch in Keras's channels-last layout."""
    return np.ascontiguousarray(np.moveaxis(x, 1, -1)) if x.ndim >= 4 else x


def assert_same_as_keras(
    kind: str,
    module: nn.Module,
    layer: Any,
    xs: Sequence[np.ndarray],
    what: str,
    training: bool = False,
) -> None:
    """Our module and the Keras layer give the same outputs, within :data:`TOLERANCE`."""
    ours = [to_keras(r) for r in run_ours(module, xs, training)]
    theirs = run_keras(layer, [to_keras(x) for x in xs], training)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a.shape == b.shape, f"{what}, output {i}: shape {a.shape}, Keras {b.shape}"
        diff = float(np.max(np.abs(a - b))) if a.size else 0.0
        assert diff <= TOLERANCE, f"{what}, output {i}: max abs difference {diff:.3g} from Keras"


def randomise_(module: nn.Module, seed: int) -> None:
    """Random weights (so that biases are not all zero) and positive float buffers."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.rand(p.shape, generator=gen) - 0.5)
        for b in module.buffers():
            if b.is_floating_point():
                b.copy_(torch.rand(b.shape, generator=gen) + 0.5)


def nudged(arrays: Sequence[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Keras's weights with small noise added to the float ones, so that zero biases count."""
    return [
        a + rng.uniform(-0.1, 0.1, a.shape).astype(a.dtype) if a.dtype.kind == "f" else a
        for a in arrays
    ]


def run_ours(
    module: nn.Module, xs: Sequence[np.ndarray], training: bool = False
) -> list[np.ndarray]:
    """Run a module in eval (or training) mode without gradients; one array per output."""
    module.train(training)
    with torch.no_grad():
        result = module(*(torch.from_numpy(x) for x in xs))
    results = result if isinstance(result, (tuple, list)) else [result]
    return [r.detach().numpy() for r in results]


def keras_module() -> Any:
    """Keras, on the torch backend."""
    import keras  # type: ignore[import-untyped]

    assert keras.backend.backend() == "torch"
    return keras


def run_keras(layer: Any, xs: Sequence[np.ndarray], training: bool = False) -> list[np.ndarray]:
    """Call a Keras layer in inference mode on channels-last inputs; one array per output.

    oneDNN is off for Keras's reference: Keras permutes a one-channel NHWC batch into strides
    ``(H*W, 1, W, 1)``, on which torch 2.13's CPU conv2d with strides (1, 2) and an output width
    of 1 reads uninitialised memory (our modules get plain NCHW tensors and are not affected).
    """
    keras = keras_module()
    with torch.backends.mkldnn.flags(enabled=False):
        result = layer(list(xs) if len(xs) > 1 else xs[0], training=training)
    results = result if isinstance(result, (tuple, list)) else [result]
    return [keras.ops.convert_to_numpy(r) for r in results]


# -- 1. JSON round trip ----------------------------------------------------------------------


def test_catalog_has_the_basic_kinds() -> None:
    """Guard against a family file failing to register (which would make every test vacuous)."""
    assert {"Input", "Output", "Dense", "Conv2D", "MaxPooling2D", "Flatten", "Add"} <= set(KINDS)
    assert len(KINDS) == len(set(KINDS))


@pytest.mark.parametrize("kind", KINDS)
def test_params_and_graph_survive_json_round_trip(kind: str) -> None:
    """Non-default params come back identical, alone and inside a saved graph."""
    spec = get_spec(kind)
    params = non_default_params(spec)
    assert params != spec.defaults() or not spec.params
    as_json = json.loads(json.dumps(spec.params_to_json(params)))
    assert spec.validate_params(as_json) == (params, [])

    graph = Graph(name="round_trip", description="every param changed")
    node = graph.add_node(kind, params, name="layer under test", position=(12.5, -3.0), note="n")
    for port in range(spec.num_inputs(params)):
        source = graph.add_node("Input", {"shape": (3, 8, 8)}, position=(0.0, 40.0 * port))
        graph.connect(source.id, node.id, 0, port)
    for port in range(spec.num_outputs(params)):
        graph.connect(node.id, graph.add_node("Output").id, port, 0)
    data = graph.to_dict()
    loaded = Graph.from_dict(json.loads(json.dumps(data)))
    assert loaded.to_dict() == data
    assert loaded.node(node.id).params == params


# -- 2. shapes: inferred equals real ---------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=100)
@given(data=st.data())
def test_module_output_has_the_inferred_shape(kind: str, data: st.DataObject) -> None:
    """``output_shapes`` is exactly the shape of what ``build(...)`` computes."""
    spec = get_spec(kind)
    params, shapes, outs = data.draw(cases(spec), label="params, input shapes, output shapes")
    assert spec.validate_params(spec.params_to_json(params)) == (params, [])
    assert len(outs) == spec.num_outputs(params)
    assert all(isinstance(d, int) and d >= 1 for shape in outs for d in shape), outs
    assert isinstance(spec.check(shapes, outs, params), list)
    if not shapes or not outs:
        return  # Input and Output are the model's ends: compile never builds them
    seed = data.draw(SEEDS, label="seed")
    rng = np.random.default_rng(seed)
    xs = spec.example_inputs(shapes, params, rng)
    assert [x.shape for x in xs] == [(BATCH, *s) for s in shapes]
    results = run_ours(spec.build(shapes, params), xs)
    assert [r.shape for r in results] == [(BATCH, *s) for s in outs]
    assert all(r.dtype == np.float32 for r in results)


@pytest.mark.parametrize(("kind", "rank"), BAD_RANKS)
def test_input_of_an_unsupported_rank_is_refused_in_plain_words(kind: str, rank: int) -> None:
    """A rank missing from ``input_ranks`` raises ShapeError with a message and a hint."""
    spec = get_spec(kind)
    params = spec.defaults()
    shape = tuple(range(5, 5 + 2 * rank, 2))
    with pytest.raises(ShapeError) as info:
        spec.output_shapes([shape] * spec.num_inputs(params), params)
    assert info.value.message.strip()
    assert info.value.hint.strip()


# -- 3. Keras equality -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KERAS_KINDS)
@settings(max_examples=25)
@given(data=st.data())
def test_numbers_equal_keras_both_ways(kind: str, data: st.DataObject) -> None:
    """Our module and the Keras layer agree, with either one's weights converted to the other."""
    check_against_keras(kind, data, {})


@pytest.mark.parametrize(("kind", "name", "choice"), KERAS_CHOICES)
@settings(max_examples=4)
@given(data=st.data())
def test_every_choice_equals_keras(kind: str, name: str, choice: str, data: st.DataObject) -> None:
    """Every value of every choice param (each activation, padding) meets Keras a few times."""
    check_against_keras(kind, data, {name: choice})


def check_against_keras(kind: str, data: st.DataObject, pinned: dict[str, Any]) -> None:
    """Compare our module and the Keras layer on random params (``pinned`` as given)."""
    keras = keras_module()
    spec = get_spec(kind)
    params, shapes, _ = data.draw(cases(spec, pinned), label="params, input shapes, outputs")
    assume(shapes)
    seed = data.draw(SEEDS, label="seed")
    rng = np.random.default_rng(seed)
    ctx = KerasContext(input_shapes=tuple(shapes))
    config = {**spec.keras_config(params, ctx), "name": "t"}
    with torch.random.fork_rng(devices=[]):
        keras.utils.set_random_seed(seed)  # Keras's initial weights, reproducibly
        layer = keras.layers.deserialize(
            {"module": "keras.layers", "class_name": spec.keras_class, "config": config}
        )
        xs = spec.example_inputs(shapes, params, rng)
        run_keras(layer, [to_keras(x) for x in xs])  # builds it on the channels-last shapes
        module = spec.build(shapes, params)
    assert spec.keras_problems(layer.get_config()) == []
    back, problems = spec.validate_params(spec.params_from_keras(layer.get_config()))
    assert not problems, problems
    assert spec.keras_config(back, ctx) == spec.keras_config(params, ctx), "config round trip"

    assert sum(count_parameters(module)) == layer.count_params(), "parameter count"

    # (a) our weights, converted to Keras's layout, in the Keras layer
    randomise_(module, seed)
    named = spec.keras_weights(module, ctx)
    assert [name for name, _ in named] == [w.name for w in layer.weights]
    layer.set_weights([array for _, array in named])
    assert_same_as_keras(kind, module, layer, xs, f"{kind}, our weights")

    # (b) Keras's own weights (nudged so that zero biases count) loaded into our module
    arrays = nudged(layer.get_weights(), rng)
    layer.set_weights(arrays)
    spec.set_keras_weights(module, arrays, ctx)
    assert_same_as_keras(kind, module, layer, xs, f"{kind}, Keras's weights")
    if spec.compare_in_training:  # deterministic in training too (BatchNormalization)
        xs = [
            np.concatenate([x, spec.example_inputs(shapes, params, rng)[i]])
            for i, x in enumerate(xs)
        ]
        assert_same_as_keras(kind, module, layer, xs, f"{kind}, training", training=True)


@settings(max_examples=20)
@given(data=st.data())
def test_dense_after_flatten_equals_keras_both_ways(data: st.DataObject) -> None:
    """The Flatten -> Dense trap (keras-h5.md §8) cannot happen: our Flatten orders an image's
    values as Keras's does (H, W, C), so plain weight conversion gives Keras's numbers for
    Flatten+Dense on (C, H, W) and Keras's ``Sequential([Flatten(), Dense()])`` on (H, W, C)."""
    keras = keras_module()
    c, h, w, units = (data.draw(st.integers(lo, 4)) for lo in (2, 1, 2, 1))  # C, H*W above 1
    seed = data.draw(SEEDS, label="seed")
    rng = np.random.default_rng(seed)
    dense_spec = get_spec("Dense")
    params = dense_spec.validate_params({"units": units, "activation": "tanh"})[0]
    flat = (c * h * w,)
    dense = dense_spec.build([flat], params)
    model = nn.Sequential(get_spec("Flatten").build([(c, h, w)], {}), dense)
    ctx = KerasContext(input_shapes=(flat,))
    with torch.random.fork_rng(devices=[]):
        keras.utils.set_random_seed(seed)
        layers = [keras.layers.Flatten(), keras.layers.Dense(units, activation="tanh")]
        keras_model = keras.Sequential([keras.Input(shape=(h, w, c)), *layers])
    keras_dense = keras_model.layers[-1]
    xs = [rng.uniform(-1, 1, (BATCH, c, h, w)).astype(np.float32)]

    # (a) ours -> Keras
    randomise_(dense, seed)
    keras_dense.set_weights([a for _, a in dense_spec.keras_weights(dense, ctx)])
    assert_same_as_keras("Dense", model, keras_model, xs, "Flatten+Dense, our weights")

    # (b) Keras -> ours
    arrays = nudged(keras_dense.get_weights(), rng)
    keras_dense.set_weights(arrays)
    dense_spec.set_keras_weights(dense, arrays, ctx)
    assert_same_as_keras("Dense", model, keras_model, xs, "Flatten+Dense, Keras's weights")

    # and a torch-style flatten (C, H, W order) would silently differ: the test can tell
    torch_order = nn.Sequential(nn.Flatten(), dense)
    with pytest.raises(AssertionError, match="max abs difference"):
        assert_same_as_keras("Dense", torch_order, keras_model, xs, "C, H, W order")
