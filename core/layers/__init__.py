"""The layer catalog: one small declarative spec per kind, one file per family.

Every module of this package that does not start with an underscore and is not part of the
framework is imported here, so a new family file registers its kinds with no other edit.
"""

from __future__ import annotations

import importlib
import pkgutil

from core.layers.params import ACTIVATIONS, Param, ParamError
from core.layers.spec import (
    Finding,
    KerasContext,
    LayerSpec,
    Shape,
    ShapeError,
    UnknownKindError,
    all_specs,
    format_shape,
    get_spec,
    register,
)

_FRAMEWORK = {"params", "spec", "activations", "modules"}

for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_") and _info.name not in _FRAMEWORK:
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = [
    "ACTIVATIONS",
    "Finding",
    "KerasContext",
    "LayerSpec",
    "Param",
    "ParamError",
    "Shape",
    "ShapeError",
    "UnknownKindError",
    "all_specs",
    "format_shape",
    "get_spec",
    "register",
]
