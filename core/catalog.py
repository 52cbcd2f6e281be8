"""The layer catalog as text for people: ``layer-studio layers`` and the palette's tooltips.

Both read the same specs through these functions, so the command line, the palette and the
inspector never disagree about what a layer does or what its params mean.
"""

from __future__ import annotations

import textwrap

from core.layers import LayerSpec, all_specs, get_spec
from core.layers.params import Param

#: The order of the palette's categories; a category not listed comes after these.
CATEGORY_ORDER: tuple[str, ...] = (
    "Core",
    "Convolution",
    "Pooling",
    "Reshaping",
    "Normalisation",
    "Regularisation",
    "Recurrent",
    "Merge",
)


def category_rank(category: str) -> tuple[int, str]:
    """Sort key that puts categories in :data:`CATEGORY_ORDER`, others after, alphabetically."""
    if category in CATEGORY_ORDER:
        return (CATEGORY_ORDER.index(category), "")
    return (len(CATEGORY_ORDER), category)


#: Kinds that open their category (a model starts with an Input and ends with an Output).
FIRST_KINDS: tuple[str, ...] = ("Input", "Output")


def by_category() -> dict[str, list[LayerSpec]]:
    """Every spec grouped by category, categories in palette order, kinds in catalog order."""
    groups: dict[str, list[LayerSpec]] = {}

    def key(spec: LayerSpec) -> tuple[tuple[int, str], int]:
        first = FIRST_KINDS.index(spec.kind) if spec.kind in FIRST_KINDS else len(FIRST_KINDS)
        return category_rank(spec.category), first

    for spec in sorted(all_specs(), key=key):
        groups.setdefault(spec.category, []).append(spec)
    return groups


def param_line(param: Param) -> str:
    """``name: help (allowed values; default)`` for one param."""
    return f"{param.name}: {param.help} ({param.describe()})"


def keras_line(spec: LayerSpec) -> str:
    """Which Keras layer the kind corresponds to, in words."""
    if spec.keras_class is None:
        return "Keras: no counterpart (a studio marker)." if spec.kind == "Output" else "Keras: -"
    return f"Keras: keras.layers.{spec.keras_class}"


def tooltip(kind: str) -> str:
    """The palette tooltip of a kind: its help line, then its params, one per line."""
    spec = get_spec(kind)
    lines = [f"{spec.kind}: {spec.help}"]
    lines += [f"• {param_line(p)}" for p in spec.params]
    return "\n".join(lines)


def describe(kind: str, width: int = 88) -> str:
    """A full plain-text description of a kind, wrapped to ``width`` columns."""
    spec = get_spec(kind)
    out = [f"{spec.kind}  [{spec.category}]"]
    out += textwrap.wrap(spec.help, width, initial_indent="  ", subsequent_indent="  ")
    for p in spec.params:
        out += textwrap.wrap(
            param_line(p), width, initial_indent="    - ", subsequent_indent="      "
        )
    out.append(f"  {keras_line(spec)}")
    return "\n".join(out)


def catalog_text(width: int = 88) -> str:
    """Every kind, grouped by category, as ``layer-studio layers`` prints it."""
    sections = []
    for category, specs in by_category().items():
        title = f"== {category} =="
        sections.append(title + "\n\n" + "\n\n".join(describe(s.kind, width) for s in specs))
    return "\n\n".join(sections)
