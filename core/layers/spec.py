"""The layer-spec framework: what a layer kind declares, and the catalog that collects them.

A kind is one small class, registered with :func:`register`, in a family file of this package
(``dense.py``, ``conv.py``, ...). The package imports every family file by itself, so adding a
kind is one small file and no other edit. A spec declares:

* ``kind``, ``category`` and a one-line plain-language ``help``;
* ``params``: :class:`~core.layers.params.Param` declarations with Keras's names and defaults;
* ports: :meth:`LayerSpec.num_inputs` and :meth:`LayerSpec.num_outputs` (may depend on params);
* :meth:`LayerSpec.output_shape`, raising :class:`ShapeError` with a message and a hint;
* :meth:`LayerSpec.check` for warnings about shapes that work but are probably a mistake;
* :meth:`LayerSpec.build`, a ``torch.nn.Module`` whose ``forward`` takes one tensor per input;
* its Keras counterpart: ``keras_class``, config mapping and weight conversion both ways.

Shapes never include the batch axis and use PyTorch's layout: ``(C, H, W)`` for images.
Flat data ``(features,)`` and sequences ``(steps, features)`` are laid out as in Keras.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from torch import nn

from core.layers.params import KERAS_ACTIVATION_ALIASES, Param, ParamError

Shape = tuple[int, ...]
Severity = Literal["error", "warning", "info"]


def format_shape(shape: Sequence[int | None]) -> str:
    """``(32, 26, 26)`` as ``32×26×26``, the way the interface shows tensor shapes."""
    return "×".join("?" if d is None else str(d) for d in shape) if shape else "scalar"


class ShapeError(Exception):
    """A layer cannot take the shapes it is given. Both parts are for non-programmers.

    Attributes:
        message: What is wrong, naming the shapes involved.
        hint: What to do about it.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message if not hint else f"{message} {hint}")
        self.message = message
        self.hint = hint


class UnknownKindError(KeyError):
    """A layer kind that the catalog does not have."""

    def __str__(self) -> str:
        return f"There is no layer kind called {self.args[0]!r}."


@dataclass(frozen=True)
class Finding:
    """Something a spec's :meth:`LayerSpec.check` noticed about a layer that otherwise works."""

    severity: Severity
    message: str
    hint: str = ""


@dataclass(frozen=True)
class KerasContext:
    """What a spec needs to know about a layer's surroundings to convert it to or from Keras.

    Every tensor of the studio holds its values in Keras's order, except that a tensor of three
    or more axes (batch excluded) has its channel axis first instead of last. Flatten and Reshape
    keep that promise (they order elements as Keras does), so conversions are local to a layer:
    there is no Flatten -> Dense weight permutation to carry through the graph.

    Attributes:
        input_shapes: The layer's input shapes in the studio's (channels-first) layout.
    """

    input_shapes: tuple[Shape, ...]


class LayerSpec:
    """Base class of every layer kind. Subclasses set the class attributes and override methods."""

    kind: ClassVar[str] = ""
    category: ClassVar[str] = ""
    help: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    #: Allowed rank (number of axes, batch excluded) of each input; empty means any rank.
    input_ranks: ClassVar[tuple[int, ...]] = ()
    #: The Keras layer class with the same behaviour, or None when Keras has none.
    keras_class: ClassVar[str | None] = None
    #: True when the layer reads whole-number ids (Embedding), which only an Input can give.
    integer_input: ClassVar[bool] = False
    #: True when the layer computes something other than in inference while training, but
    #: deterministically, so its training-mode numbers can be compared with Keras's too
    #: (BatchNormalization). Random layers (Dropout) are compared in inference mode only.
    compare_in_training: ClassVar[bool] = False

    # -- params ----------------------------------------------------------------------------

    def param(self, name: str) -> Param:
        """The declaration of param ``name``."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        """A fresh dict of every param's default value."""
        return {p.name: p.validate(p.default) for p in self.params}

    def validate_params(self, given: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Fill in defaults and normalise ``given``.

        Returns:
            The complete, canonical params, and a list of problems (unknown names, bad values),
            each a sentence. Params with problems keep their default.
        """
        result = self.defaults()
        problems: list[str] = []
        names = {p.name for p in self.params}
        for key, value in given.items():
            if key not in names:
                problems.append(f"{self.kind} has no parameter called {key!r}.")
                continue
            try:
                result[key] = self.param(key).validate(value)
            except ParamError as err:
                problems.append(str(err))
        problems.extend(self.params_problems(result) if not problems else [])
        return result, problems

    def params_problems(self, params: Mapping[str, Any]) -> list[str]:
        """Problems that involve several params together. Override when a kind has some."""
        return []

    def params_to_json(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON form of canonical params."""
        return {p.name: p.to_json(params[p.name]) for p in self.params}

    # -- ports and shapes ------------------------------------------------------------------

    def num_inputs(self, params: Mapping[str, Any]) -> int:
        """How many input ports the layer has."""
        return 1

    def num_outputs(self, params: Mapping[str, Any]) -> int:
        """How many output ports the layer has."""
        return 1

    def output_shapes(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> list[Shape]:
        """The shape of each output. Single-output kinds override :meth:`output_shape` instead."""
        return [self.output_shape(inputs, params)]

    def output_shape(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> Shape:
        """The output shape for these input shapes, or :class:`ShapeError` explaining why not."""
        raise NotImplementedError

    def check(
        self, inputs: Sequence[Shape], outputs: Sequence[Shape], params: Mapping[str, Any]
    ) -> list[Finding]:
        """Warnings about a layer whose shapes work but that is probably not what was meant."""
        return []

    # -- torch -----------------------------------------------------------------------------

    def build(self, inputs: Sequence[Shape], params: Mapping[str, Any]) -> nn.Module:
        """A fresh ``torch.nn.Module`` for these input shapes, initialised as Keras would."""
        raise NotImplementedError

    def example_inputs(
        self, inputs: Sequence[Shape], params: Mapping[str, Any], rng: np.random.Generator
    ) -> list[np.ndarray]:
        """A batch of 2 valid example inputs per port (for tests, benchmarks and previews)."""
        return [rng.uniform(-1, 1, (2, *shape)).astype(np.float32) for shape in inputs]

    # -- Keras -----------------------------------------------------------------------------

    def keras_problems(self, config: Mapping[str, Any]) -> list[str]:
        """Settings of a Keras layer config that the studio cannot reproduce, as sentences.

        A file with such a layer is refused with these reasons rather than loaded with
        different numbers. Override for settings Keras has and we do not (``mask_zero``...).
        """
        return []

    def keras_notes(self, config: Mapping[str, Any]) -> list[str]:
        """What a user should know about a Keras layer config the studio opens anyway.

        One rule for every kind: settings that change how a layer trains but not what it
        predicts (regularizers, constraints, a frozen layer) are opened, and named here.
        """
        notes = []
        for key in sorted(k for k in config if isinstance(k, str)):
            if key.endswith(("_regularizer", "_constraint")) and config[key] is not None:
                what = "a training penalty" if key.endswith("_regularizer") else "a weight limit"
                notes.append(
                    f"has a {key} ({what}), which the studio does not apply when training; "
                    "its predictions are the same."
                )
        if config.get("trainable") is False:
            notes.append(
                "was frozen (trainable: false) in Keras; the studio trains every layer, so "
                "training it further will change this layer too."
            )
        return notes

    def keras_config(self, params: Mapping[str, Any], ctx: KerasContext) -> dict[str, Any]:
        """The Keras layer config (without ``name``) for these params."""
        return {p.name: p.to_json(params[p.name]) for p in self.params if not p.studio_only}

    def params_from_keras(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Our params from a Keras layer config; keys we do not model are ignored."""
        params = {p.name: config[p.name] for p in self.params if p.name in config}
        activation = params.get("activation")
        if isinstance(activation, str) and activation in KERAS_ACTIVATION_ALIASES:
            params["activation"] = KERAS_ACTIVATION_ALIASES[activation]
        return params

    def keras_weights(self, module: nn.Module, ctx: KerasContext) -> list[tuple[str, np.ndarray]]:
        """The module's weights as Keras stores them: ``(name, array)`` in Keras's order."""
        return []

    def set_keras_weights(
        self, module: nn.Module, arrays: Sequence[np.ndarray], ctx: KerasContext
    ) -> None:
        """Load Keras-layout ``arrays`` (in Keras's order) into ``module``."""
        if arrays:
            raise ValueError(f"{self.kind} has no weights, but {len(arrays)} arrays were given.")


def expect_rank(kind: str, shape: Shape, ranks: Sequence[int], wants: str, hint: str) -> None:
    """Raise a friendly :class:`ShapeError` when ``shape`` does not have one of ``ranks``.

    Args:
        kind: The layer kind, for the message.
        shape: The input shape it gets.
        ranks: The allowed ranks.
        wants: What it needs, in words ("a flat input", "an image (channels×height×width)").
        hint: What the user should do.
    """
    if len(shape) not in ranks:
        raise ShapeError(f"{kind} needs {wants} but gets {format_shape(shape)}.", hint)


class FreshArray(np.ndarray):
    """An array that nothing else holds (just read from a file): :func:`load_array` may give
    its memory to the tensor instead of copying it. Make one with ``array.view(FreshArray)``."""


def load_array(tensor: torch.Tensor, array: np.ndarray, what: str) -> None:
    """Copy ``array`` into ``tensor`` in place, refusing a different shape with a clear message.

    A transposed view is copied by torch directly (in parallel, without a numpy copy first);
    a :class:`FreshArray` of the tensor's own type and layout is adopted without any copy.
    """
    fresh = isinstance(array, FreshArray)
    source = np.asarray(array)
    if tuple(source.shape) != tuple(tensor.shape):
        raise ValueError(
            f"{what} should have shape {tuple(tensor.shape)} but has {tuple(source.shape)}."
        )
    if source.dtype.kind not in "fiub":
        raise ValueError(f"{what} should hold numbers, not {source.dtype}.")
    if not source.dtype.isnative or source.dtype.kind == "u":
        source = source.astype(np.float64 if source.dtype.kind == "f" else np.int64)
    elif not source.flags.writeable or any(step < 0 for step in source.strides):
        source = np.ascontiguousarray(source)
    value = torch.from_numpy(source)
    adopt = fresh and source.flags.c_contiguous and source.flags.writeable
    if adopt and value.dtype == tensor.dtype and tensor.device.type == "cpu":
        tensor.data = value
        return
    with torch.no_grad():
        tensor.copy_(value)


def kernel_and_bias(layer: nn.Module, to_keras: tuple[int, ...]) -> list[tuple[str, np.ndarray]]:
    """A Linear or convolution's ``weight`` and ``bias`` as Keras's ``kernel`` and ``bias``.

    Args:
        layer: A module with a ``weight`` and an optional ``bias``.
        to_keras: The axis order that turns torch's weight into Keras's kernel.
    """
    weight, bias = layer.weight, layer.bias
    assert isinstance(weight, torch.Tensor)
    result = [("kernel", np.ascontiguousarray(to_numpy(weight).transpose(*to_keras)))]
    if isinstance(bias, torch.Tensor):
        result.append(("bias", to_numpy(bias)))
    return result


def load_kernel_and_bias(
    layer: nn.Module, arrays: Sequence[np.ndarray], to_torch: tuple[int, ...], kind: str
) -> None:
    """Load Keras's ``kernel`` (and ``bias``) into a layer's ``weight`` (and ``bias``).

    Args:
        layer: A module with a ``weight`` and an optional ``bias``.
        arrays: Keras's arrays, kernel first.
        to_torch: The axis order that turns Keras's kernel into torch's weight.
        kind: The layer kind, for error messages.
    """
    weight, bias = layer.weight, layer.bias
    assert isinstance(weight, torch.Tensor)
    has_bias = isinstance(bias, torch.Tensor)
    if len(arrays) != 1 + has_bias:
        raise ValueError(f"{kind} expects {1 + has_bias} weight arrays, got {len(arrays)}.")
    kernel = np.asarray(arrays[0])
    if kernel.ndim != len(to_torch):
        raise ValueError(f"{kind} kernel should have {len(to_torch)} axes but has {kernel.ndim}.")
    load_array(weight, kernel.transpose(*to_torch), f"{kind} kernel")
    if isinstance(bias, torch.Tensor):
        load_array(bias, arrays[1], f"{kind} bias")


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A float32 numpy copy of a tensor."""
    return tensor.detach().cpu().numpy().astype(np.float32, copy=True)


_REGISTRY: dict[str, LayerSpec] = {}


def register(cls: type[LayerSpec]) -> type[LayerSpec]:
    """Class decorator that adds a kind to the catalog."""
    if not cls.kind or cls.kind in _REGISTRY:
        raise ValueError(f"layer kind {cls.kind!r} is empty or registered twice")
    _REGISTRY[cls.kind] = cls()
    return cls


def get_spec(kind: str) -> LayerSpec:
    """The spec of ``kind``, or :class:`UnknownKindError`."""
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise UnknownKindError(kind) from None


def all_specs() -> list[LayerSpec]:
    """Every registered spec, in registration order."""
    return list(_REGISTRY.values())
