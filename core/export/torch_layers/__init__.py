"""Each layer kind as plain PyTorch code, for the exported script (:mod:`core.export.pytorch`).

A kind's generator is a function registered with :func:`register`: it gets a :class:`Layer`
(the params and the shapes, in the studio's channels-first layout) and returns a
:class:`LayerCode`: the submodule to create in ``__init__``, the expression ``forward`` computes,
the helper definitions the code needs, and the helper that copies Keras's weight arrays (as the
studio's ``.h5`` holds them) into the submodule. The exported code must compute what the
studio's own module computes (``spec.build``) to within 1e-6, and its weights must load from
the arrays the studio writes (``spec.keras_weights``).

The family files of this package (``basic.py``, ``conv.py``, ...) register themselves; this
module imports every one, so adding a family is one file.

Code is text, so the rules are strict: a generator writes numbers, shapes and names it checked
(ints, floats, tuples of ints, the activation names of the catalog). Nothing from the document
that is free text (a layer's name) ever goes into a generator's code.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.layers.spec import Shape


@dataclass(frozen=True)
class Layer:
    """One layer, as its generator sees it.

    Attributes:
        kind: The layer kind (``"Conv2D"``).
        params: Its validated params (``spec.validate_params``).
        inputs: The input shapes (no batch axis, channels first), one per input port.
        outputs: The output shapes, one per output port.
    """

    kind: str
    params: Mapping[str, Any]
    inputs: tuple[Shape, ...]
    outputs: tuple[Shape, ...]


@dataclass(frozen=True)
class LayerCode:
    """One layer as code.

    Attributes:
        call: The expression ``forward`` computes, as a ``str.format`` template: ``{layer}``
            is the submodule (``self.conv2d``), ``{0}``, ``{1}``... the input values and
            ``{inputs}`` all of them joined by commas. Literal braces are doubled.
        module: The expression that creates the submodule in ``__init__`` (``nn.Conv2d(1,
            32, (3, 3))``), or None when the layer has no submodule (``torch.flatten``).
        load: The name of a helper ``load_x(module, arrays)`` that copies the layer's Keras
            weight arrays (as the studio's ``.h5`` holds them, in ``weight_names`` order) into
            the submodule; None when the layer has no weights.
        helpers: Names of the helper definitions (:func:`helper`) the code uses.
        outputs: How many values ``call`` gives: more than one gives a tuple.
    """

    call: str
    module: str | None = None
    load: str | None = None
    helpers: tuple[str, ...] = ()
    outputs: int = 1


@dataclass(frozen=True)
class Helper:
    """A module-level definition the exported file carries when a layer needs it.

    Attributes:
        name: The function or class it defines.
        source: Its source, formatted as ``ruff format`` leaves it.
        needs: Other helpers it uses, written before it.
    """

    name: str
    source: str
    needs: tuple[str, ...] = field(default=())


Generator = Callable[[Layer], LayerCode]
_GENERATORS: dict[str, Generator] = {}
HELPERS: dict[str, Helper] = {}


def register(*kinds: str) -> Callable[[Generator], Generator]:
    """Decorator: ``@register("Conv2D")`` makes a function the generator of a kind."""

    def wrap(function: Generator) -> Generator:
        for kind in kinds:
            if kind in _GENERATORS:
                raise ValueError(f"{kind} has two code generators.")
            _GENERATORS[kind] = function
        return function

    return wrap


def helper(name: str, source: str, needs: tuple[str, ...] = ()) -> str:
    """Declare a helper definition (``source`` may be indented) and give back its name."""
    text = textwrap.dedent(source).strip("\n") + "\n"
    if name in HELPERS and HELPERS[name].source != text:
        raise ValueError(f"Two helpers are called {name}.")
    HELPERS[name] = Helper(name, text, needs)
    return name


class NoCodeError(ValueError):
    """A layer kind that the PyTorch export cannot write yet."""


def layer_code(layer: Layer) -> LayerCode:
    """The code of one layer.

    Raises:
        NoCodeError: When the kind has no generator.
    """
    _load_families()
    generator = _GENERATORS.get(layer.kind)
    if generator is None:
        raise NoCodeError(f"The PyTorch export cannot write {layer.kind} layers yet.")
    return generator(layer)


def helpers_in_order(names: list[str]) -> list[Helper]:
    """The helpers ``names`` need, each once, every one after those it uses."""
    _load_families()
    ordered: list[Helper] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        item = HELPERS[name]
        for other in item.needs:
            visit(other)
        ordered.append(item)

    for name in names:
        visit(name)
    return ordered


def kinds_with_code() -> list[str]:
    """Every kind the PyTorch export can write."""
    _load_families()
    return sorted(_GENERATORS)


def _load_families() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


# -- small pieces every family uses ------------------------------------------------------------


def number(value: float | int) -> str:
    """A number as Python source: ``0.5``, ``3``, ``float("inf")``."""
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(int(value))
    value = float(value)
    if not math.isfinite(value):
        return f'float("{value}")'
    return repr(value)


def ints(values: Any) -> str:
    """A tuple of ints as source: ``(3, 3)``; one int stays an int."""
    if isinstance(values, int):
        return str(int(values))
    items = [str(int(v)) for v in values]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def call(function: str, *args: str, **kwargs: str) -> str:
    """``function(a, b, key=value)`` from already-written arguments."""
    parts = [*args, *(f"{k}={v}" for k, v in kwargs.items())]
    return f"{function}({', '.join(parts)})"


#: Keras activations as expressions: ``{}`` is the value; softmax's axis depends on the rank.
_ACTIVATIONS = {
    "linear": "{}",
    "relu": "F.relu({})",
    "sigmoid": "torch.sigmoid({})",
    "tanh": "torch.tanh({})",
    "gelu": "F.gelu({})",
    "elu": "F.elu({})",
    "selu": "F.selu({})",
    "softplus": "F.softplus({})",
    "swish": "F.silu({})",
    "leaky_relu": "F.leaky_relu({}, 0.2)",
}


def activation(name: str, rank: int, value: str) -> str:
    """Keras's activation ``name`` applied to the expression ``value`` (tensors of ``rank``
    axes, batch excluded: softmax runs over the channels of an image, the last axis otherwise).

    Braces in ``value`` are kept as they are, so a ``call`` template may be passed.
    """
    if name == "softmax":
        return f"F.softmax({value}, dim={1 if rank >= 3 else -1})"
    if name not in _ACTIVATIONS:
        raise NoCodeError(f"The PyTorch export does not know the activation {name!r}.")
    return _ACTIVATIONS[name].replace("{}", value)
