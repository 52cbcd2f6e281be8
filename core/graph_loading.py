"""Checking a graph document read from a file, reporting every problem at once."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from core.graph import FORMAT, SCHEMA_VERSION, GraphError, GraphLoadError, name_problem
from core.layers import UnknownKindError, get_spec

if TYPE_CHECKING:
    from core.graph import Graph


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def _port_ref(value: Any) -> tuple[str, int] | None:
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
    ):
        return value[0], value[1]
    return None


def load_document(cls: type[Graph], data: Any) -> Graph:
    """Build a :class:`~core.graph.Graph` from JSON data, or raise :class:`GraphLoadError`."""
    if not isinstance(data, dict):
        raise GraphLoadError(["The document is not a model graph (expected a JSON object)."])
    problems: list[str] = []
    if data.get("format") != FORMAT:
        problems.append(f"The document is not a {FORMAT} document.")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append("The document has no valid schema version.")
    elif version > SCHEMA_VERSION:
        raise GraphLoadError(
            [
                f"This model was saved by a newer version of the studio (schema {version}; "
                f"this one reads up to {SCHEMA_VERSION}). Update the studio to open it."
            ]
        )
    name = data.get("name", "model")
    if name_problem(name):
        problems.append(f"Model name: {name_problem(name)}")
    description = data.get("description", "")
    if not isinstance(description, str):
        problems.append("The model description must be text.")
    nodes = data.get("nodes")
    edges = data.get("edges", [])
    if not isinstance(nodes, list):
        problems.append("The document has no list of layers ('nodes').")
        nodes = []
    if not isinstance(edges, list):
        problems.append("The document's connections ('edges') are not a list.")
        edges = []

    graph = cls(name=name if isinstance(name, str) and not name_problem(name) else "model")
    graph.description = description if isinstance(description, str) else ""
    seen: tuple[set[str], set[str]] = (set(), set())  # ids and names, loaded or not
    for index, entry in enumerate(nodes):
        problems.extend(_load_node(graph, index, entry, seen))
    for index, entry in enumerate(edges):
        problem = _load_edge(graph, index, entry)
        if problem:
            problems.append(problem)
    if problems:
        raise GraphLoadError(problems)
    return graph


def _load_node(graph: Graph, index: int, entry: Any, seen: tuple[set[str], set[str]]) -> list[str]:
    where = f"Layer {index + 1}"
    if not isinstance(entry, dict):
        return [f"{where} is not a JSON object."]
    name = entry.get("name")
    if isinstance(name, str) and not name_problem(name):
        where = f"Layer {name!r}"
    problems = []
    seen_ids, seen_names = seen
    node_id = entry.get("id")
    if not isinstance(node_id, str) or not node_id:
        problems.append(f"{where} has no valid id (an id is non-empty text).")
    elif node_id in seen_ids:
        problems.append(f"{where} has the id {node_id!r}, which another layer already has.")
    else:
        seen_ids.add(node_id)
    if isinstance(name, str) and name in seen_names:
        problems.append(f"{where}: Another layer is already called {name!r}; names must be unique.")
    elif isinstance(name, str):
        seen_names.add(name)
    kind = entry.get("kind")
    try:
        spec = get_spec(kind if isinstance(kind, str) else repr(kind))
    except UnknownKindError:
        problems.append(f"{where} is of an unknown kind {kind!r}.")
        spec = None
    params = entry.get("params", {})
    if not isinstance(params, dict):
        problems.append(f"{where}: its parameters are not a JSON object.")
        params = {}
    if spec is not None:
        _, param_problems = spec.validate_params(params)
        problems.extend(f"{where}: {p}" for p in param_problems)
    position = entry.get("position", [0, 0])
    if not (isinstance(position, list) and len(position) == 2 and all(map(_is_number, position))):
        problems.append(f"{where} has an invalid position (expected two numbers).")
    note = entry.get("note", "")
    if not isinstance(note, str):
        problems.append(f"{where}: its note must be text.")
    if problems or spec is None:
        return problems
    try:
        graph.add_node(
            spec.kind, params, name=name, position=tuple(position), note=note, node_id=node_id
        )
    except GraphError as err:
        return [f"{where}: {err}"]
    return []


def _load_edge(graph: Graph, index: int, entry: Any) -> str | None:
    where = f"Connection {index + 1}"
    src = _port_ref(entry.get("from")) if isinstance(entry, dict) else None
    dst = _port_ref(entry.get("to")) if isinstance(entry, dict) else None
    if src is None or dst is None:
        return f"{where} is not of the form {{'from': [id, port], 'to': [id, port]}}."
    if src[0] not in graph.nodes or dst[0] not in graph.nodes:
        missing = src[0] if src[0] not in graph.nodes else dst[0]
        return f"{where} refers to a layer {missing!r} that is missing or could not be loaded."
    problem = graph.connection_problem(src[0], dst[0], src[1], dst[1])
    if problem:
        return f"{where}: {problem}"
    graph.connect(src[0], dst[0], src[1], dst[1])
    return None
