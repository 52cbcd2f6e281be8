"""Parameter declarations for layer specs: type, default, range or choices, and a help line.

A :class:`Param` validates and normalises a value (``kernel_size=3`` becomes ``(3, 3)``), and
explains in plain words what is wrong when it cannot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

ParamType = Literal["int", "float", "bool", "choice", "ints", "shape"]


class ParamError(ValueError):
    """A parameter value that its spec does not accept. ``str(err)`` is a plain sentence."""


@dataclass(frozen=True)
class Param:
    """One parameter of a layer kind.

    Attributes:
        name: Keras's name for it (``units``, ``kernel_size``).
        type: ``int``, ``float``, ``bool``, ``choice`` (one of ``choices``), ``ints`` (a tuple of
            ``length`` ints; a single int is repeated) or ``shape`` (a tuple of 1 to 4 sizes).
        default: The value a new layer gets.
        help: One plain-language line for tooltips and the inspector.
        minimum: Smallest allowed number (ints, floats, each item of ``ints``/``shape``).
        maximum: Largest allowed number.
        exclusive_maximum: Whether ``maximum`` itself is refused (Dropout's ``rate < 1``).
        choices: The allowed values of a ``choice``.
        length: The tuple length of an ``ints`` param.
        optional: Whether ``None`` is allowed (it means "the default behaviour", as in Keras).
        studio_only: True when Keras has no such argument (the editor needs it, Keras files do not).
    """

    name: str
    type: ParamType
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_maximum: bool = False
    choices: tuple[str, ...] = field(default_factory=tuple)
    length: int = 0
    optional: bool = False
    studio_only: bool = False

    def validate(self, value: Any) -> Any:
        """Return ``value`` in canonical form, or raise :class:`ParamError` saying why not."""
        if value is None:
            if self.optional:
                return None
            raise ParamError(f"{self.name} needs a value.")
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            raise ParamError(f"{self.name} must be on or off (true or false), not {value!r}.")
        if self.type == "choice":
            if isinstance(value, str) and value in self.choices:
                return value
            options = ", ".join(self.choices)
            raise ParamError(f"{self.name} must be one of {options}; {value!r} is not one of them.")
        if self.type == "int":
            return self._check_range(self._as_int(value, self.name))
        if self.type == "float":
            return self._check_range(self._as_float(value))
        if self.type == "ints":
            items = self._as_int_tuple(value)
            if len(items) == 1 and self.length > 1:
                items = items * self.length
            if len(items) != self.length:
                raise ParamError(
                    f"{self.name} needs {self.length} whole numbers (or one for all), "
                    f"not {len(items)}."
                )
            return tuple(self._check_range(v) for v in items)
        if self.type == "shape":
            items = self._as_int_tuple(value)
            if not 1 <= len(items) <= 4:
                raise ParamError(f"{self.name} needs 1 to 4 sizes, not {len(items)}.")
            return tuple(self._check_range(v) for v in items)
        raise ParamError(f"{self.name} has an unknown type {self.type!r}.")  # pragma: no cover

    def to_json(self, value: Any) -> Any:
        """The JSON form of a canonical value (tuples become lists)."""
        return list(value) if isinstance(value, tuple) else value

    def describe(self) -> str:
        """A short plain description of what values are allowed, for help texts."""
        if self.type == "bool":
            allowed = "on/off"
        elif self.type == "choice":
            allowed = " | ".join(self.choices)
        elif self.type in ("ints", "shape"):
            allowed = "whole numbers" + self._range_text()
        elif self.type == "int":
            allowed = "whole number" + self._range_text()
        else:
            allowed = "number" + self._range_text()
        if self.type == "bool":
            default = "on" if self.default else "off"
        elif self.default is None:
            default = "empty"
        else:
            default = repr(self.to_json(self.default))
        may_be_empty = self.optional and self.default is not None
        return f"{allowed}; default {default}" + ("; may be empty" if may_be_empty else "")

    # -- helpers ---------------------------------------------------------------------------

    def _range_text(self) -> str:
        lo, hi = self.minimum, self.maximum
        top = "<" if self.exclusive_maximum else "≤"
        if lo is not None and hi is not None:
            return f" {_num(lo)} ≤ x {top} {_num(hi)}"
        if lo is not None:
            return f" ≥ {_num(lo)}"
        if hi is not None:
            return f" {top} {_num(hi)}"
        return ""

    def _check_range(self, value: float) -> Any:
        if self.minimum is not None and value < self.minimum:
            raise ParamError(f"{self.name} must be at least {_num(self.minimum)}, not {value}.")
        if self.maximum is not None:
            too_big = value >= self.maximum if self.exclusive_maximum else value > self.maximum
            if too_big:
                word = "below" if self.exclusive_maximum else "at most"
                raise ParamError(f"{self.name} must be {word} {_num(self.maximum)}, not {value}.")
        return value

    @staticmethod
    def _as_int(value: Any, name: str) -> int:
        if isinstance(value, bool):
            raise ParamError(f"{name} must be a whole number, not {value!r}.")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ParamError(f"{name} must be a whole number, not {value!r}.")

    def _as_float(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamError(f"{self.name} must be a number, not {value!r}.")
        try:
            result = float(value)
        except OverflowError:
            raise ParamError(f"{self.name} is far too large a number.") from None
        if not math.isfinite(result):
            raise ParamError(f"{self.name} must be a finite number, not {value!r}.")
        return result

    def _as_int_tuple(self, value: Any) -> tuple[int, ...]:
        if isinstance(value, (list, tuple)):
            return tuple(self._as_int(v, self.name) for v in value)
        return (self._as_int(value, self.name),)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# -- shared declarations ---------------------------------------------------------------------

ACTIVATIONS: tuple[str, ...] = (
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "gelu",
    "elu",
    "selu",
    "leaky_relu",
    "softplus",
    "swish",
)

#: Other Keras names for our activations: Keras 3 saves "swish" under its alias "silu".
KERAS_ACTIVATION_ALIASES: dict[str, str] = {"silu": "swish"}


def activation_param(default: str = "linear") -> Param:
    """The ``activation`` argument that Dense, Conv2D and Activation share, as in Keras."""
    return Param(
        "activation",
        "choice",
        default,
        "The function applied to the result: relu for hidden layers, softmax to turn the last "
        "layer into class probabilities, sigmoid for a yes/no output, linear for none.",
        choices=ACTIVATIONS,
    )


def use_bias_param() -> Param:
    """The ``use_bias`` switch of Dense and the convolutions."""
    return Param(
        "use_bias",
        "bool",
        True,
        "Add a learnt offset to each output. Leave on unless a normalisation layer follows.",
    )


def num_inputs_param(minimum: int = 2) -> Param:
    """How many input ports a merge layer has (the editor's notion; Keras counts the wires)."""
    return Param(
        "num_inputs",
        "int",
        minimum,
        "How many layers feed into this one. Each gets its own input port.",
        minimum=minimum,
        maximum=16,
        studio_only=True,
    )
