"""Ready-made models to start from, shipped as graph documents in ``resources/templates``."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from core.graph import Graph, GraphLoadError

PACKAGE = "resources.templates"


@dataclass(frozen=True)
class TemplateInfo:
    """A template's name (what commands take) and its one-paragraph description."""

    name: str
    description: str


def _files() -> dict[str, str]:
    root = resources.files(PACKAGE)
    return {
        entry.name.removesuffix(".json"): entry.read_text(encoding="utf-8")
        for entry in sorted(root.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".json")
    }


def template_names() -> list[str]:
    """The names of all templates, sorted."""
    return list(_files())


def list_templates() -> list[TemplateInfo]:
    """Every template with its description."""
    return [
        TemplateInfo(name, Graph.from_json(text).description) for name, text in _files().items()
    ]


def load_template(name: str) -> Graph:
    """A fresh graph of template ``name``; :class:`KeyError` with the choices when unknown."""
    files = _files()
    if name not in files:
        raise KeyError(
            f"There is no template called {name!r}. Templates: {', '.join(files) or 'none'}."
        )
    try:
        return Graph.from_json(files[name])
    except GraphLoadError as err:  # a broken template is our bug; say which one
        raise GraphLoadError([f"Template {name!r}: {p}" for p in err.problems]) from None
