"""The document: a model as a graph of layer nodes joined by edges.

Every edit goes through a :class:`Graph` method, which refuses what would make the document
invalid (with a sentence saying why) and then tells its subscribers what changed. The editor's
undo commands, file loading and pasting all use these same methods.
"""

from __future__ import annotations

import heapq
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from core.layers import ParamError, UnknownKindError, get_spec

FORMAT = "layer-studio-graph"
SCHEMA_VERSION = 1
MAX_NAME_LENGTH = 100

EventType = Literal[
    "node_added",
    "node_removed",
    "edge_added",
    "edge_removed",
    "param_changed",
    "renamed",
    "moved",
    "note_changed",
]


class GraphError(ValueError):
    """An edit that the document refuses. ``str(err)`` says why, in plain words."""


class GraphLoadError(GraphError):
    """A document that cannot be loaded; ``problems`` lists every problem found, not just one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("This model cannot be opened:\n" + "\n".join(f"- {p}" for p in problems))
        self.problems = problems


@dataclass
class Node:
    """One layer of the model. Change it only through :class:`Graph` methods."""

    id: str
    kind: str
    name: str
    params: dict[str, Any]
    position: tuple[float, float] = (0.0, 0.0)
    note: str = ""


@dataclass(frozen=True)
class Edge:
    """A wire from output ``src_port`` of node ``src`` to input ``dst_port`` of node ``dst``."""

    src: str
    src_port: int
    dst: str
    dst_port: int


@dataclass(frozen=True)
class GraphEvent:
    """What changed. ``old`` and ``new`` hold the values before and after, where that applies."""

    type: EventType
    node: str | None = None
    edge: Edge | None = None
    param: str | None = None
    old: Any = None
    new: Any = None


def snake_case(kind: str) -> str:
    """Keras's automatic layer name for a kind: ``MaxPooling2D`` becomes ``max_pooling2d``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", kind)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a layer or model, or None when it can."""
    if not isinstance(name, str):
        return f"A name must be text, not {name!r}."
    if not name.strip():
        return "A name cannot be empty."
    if len(name) > MAX_NAME_LENGTH:
        return f"A name can have at most {MAX_NAME_LENGTH} characters."
    if "/" in name or any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) < 0xE000 for c in name):
        return f"The name {name!r} has a '/' or an invisible character; use letters and digits."
    return None


@dataclass
class Graph:
    """A model document: nodes, edges, a model name and a description."""

    name: str = "model"
    description: str = ""
    _nodes: dict[str, Node] = field(default_factory=dict, repr=False)
    _in: dict[str, dict[int, Edge]] = field(default_factory=dict, repr=False)
    _out: dict[str, dict[Edge, None]] = field(default_factory=dict, repr=False)
    _listeners: list[Callable[[GraphEvent], None]] = field(default_factory=list, repr=False)
    _next_id: int = field(default=1, repr=False)
    #: Every id ever used here -> its place in the document order. Kept after a removal, so
    #: that re-adding a removed layer with its id (undo) puts it back where it was.
    _rank: dict[str, int] = field(default_factory=dict, repr=False)

    # -- reading ---------------------------------------------------------------------------

    @property
    def nodes(self) -> Mapping[str, Node]:
        """Nodes by id, in the order they were added."""
        return self._nodes

    @property
    def edges(self) -> list[Edge]:
        """Every edge, grouped by source node in document order, then by port and destination."""
        return [e for nid in self._nodes for e in self.out_edges(nid)]

    def node(self, node_id: str) -> Node:
        """The node with this id, or :class:`GraphError`."""
        try:
            return self._nodes[node_id]
        except KeyError:
            raise GraphError(f"There is no layer with id {node_id!r}.") from None

    def node_by_name(self, name: str) -> Node | None:
        """The node called ``name``, if any."""
        return next((n for n in self._nodes.values() if n.name == name), None)

    def in_edges(self, node_id: str) -> dict[int, Edge]:
        """The edges into a node, by input port."""
        return dict(self._in[node_id])

    def out_edges(self, node_id: str) -> list[Edge]:
        """The edges out of a node, by output port, then destination in document order."""
        return sorted(self._out[node_id], key=self._edge_key)

    def num_inputs(self, node_id: str) -> int:
        """How many input ports the node has."""
        node = self._nodes[node_id]
        return get_spec(node.kind).num_inputs(node.params)

    def num_outputs(self, node_id: str) -> int:
        """How many output ports the node has."""
        node = self._nodes[node_id]
        return get_spec(node.kind).num_outputs(node.params)

    def topological_order(self) -> list[str]:
        """Node ids such that every edge goes forward; ties keep the order nodes were added."""
        indegree = {nid: len(self._in[nid]) for nid in self._nodes}
        ready = [(self._rank[nid], nid) for nid, d in indegree.items() if d == 0]
        order: list[str] = []
        while ready:
            _, nid = heapq.heappop(ready)  # ranks only grow, so ``ready`` starts as a heap
            order.append(nid)
            for e in self._out[nid]:
                indegree[e.dst] -= 1
                if indegree[e.dst] == 0:
                    heapq.heappush(ready, (self._rank[e.dst], e.dst))
        return order

    # -- events ----------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[GraphEvent], None]) -> Callable[[], None]:
        """Call ``callback`` after every change; returns a function that unsubscribes it."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _emit(self, event: GraphEvent) -> None:
        for callback in list(self._listeners):
            callback(event)

    # -- editing ---------------------------------------------------------------------------

    def unique_name(self, base: str) -> str:
        """``base`` if it is free, else ``base_1``, ``base_2``, ... as Keras names layers."""
        taken = {n.name for n in self._nodes.values()}
        if base not in taken:
            return base
        i = 1
        while f"{base}_{i}" in taken:
            i += 1
        return f"{base}_{i}"

    def add_node(
        self,
        kind: str,
        params: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        position: tuple[float, float] = (0.0, 0.0),
        note: str = "",
        node_id: str | None = None,
    ) -> Node:
        """Add a layer of ``kind``; missing params get their defaults, a missing name Keras's."""
        try:
            spec = get_spec(kind)
        except UnknownKindError as err:
            raise GraphError(str(err)) from None
        values, problems = spec.validate_params(params or {})
        if problems:
            raise GraphError(" ".join(problems))
        if name is None:
            name = self.unique_name(snake_case(kind))
        self._check_new_name(name)
        place = _position(position)
        if node_id is None:
            node_id = self._fresh_id()
        elif not isinstance(node_id, str) or not node_id or node_id in self._nodes:
            raise GraphError(f"The layer id {node_id!r} is empty or already used.")
        node = Node(node_id, kind, name, values, place, str(note))
        rank = self._rank.setdefault(node_id, len(self._rank))
        back = bool(self._nodes) and self._rank[next(reversed(self._nodes))] > rank
        self._nodes[node_id] = node
        if back:  # a removed layer comes back to its place
            ordered = sorted(self._nodes.items(), key=lambda item: self._rank[item[0]])
            self._nodes.clear()
            self._nodes.update(ordered)
        self._in[node_id] = {}
        self._out[node_id] = {}
        self._emit(GraphEvent("node_added", node=node_id))
        return node

    def add_copy(self, node: Node) -> Node:
        """Add ``node`` as it is (its id, kind, name, params, place and note): undo and copies."""
        return self.add_node(
            node.kind,
            node.params,
            name=node.name,
            position=node.position,
            note=node.note,
            node_id=node.id,
        )

    def remove_node(self, node_id: str) -> tuple[Node, list[Edge]]:
        """Remove a node and its edges; returns both, so that an undo can put them back."""
        node = self.node(node_id)
        edges = list(self._in[node_id].values()) + list(self._out[node_id])
        for edge in edges:
            self.disconnect(edge)
        del self._nodes[node_id], self._in[node_id], self._out[node_id]
        self._emit(GraphEvent("node_removed", node=node_id, old=node))
        return node, edges

    def connection_problem(
        self, src: str, dst: str, src_port: int = 0, dst_port: int = 0
    ) -> str | None:
        """Why ``src:src_port -> dst:dst_port`` cannot be connected, or None if it can."""
        if src not in self._nodes or dst not in self._nodes:
            return "Both ends of a connection must be layers of this model."
        a, b = self._nodes[src], self._nodes[dst]
        if src == dst:
            return f"{a.name} cannot be connected to itself."
        if not 0 <= src_port < self.num_outputs(src):
            return f"{a.name} ({a.kind}) has no output {src_port + 1}."
        if not 0 <= dst_port < self.num_inputs(dst):
            return f"{b.name} ({b.kind}) has no input {dst_port + 1}."
        if dst_port in self._in[dst]:
            held = self._nodes[self._in[dst][dst_port].src].name
            return (
                f"Input {dst_port + 1} of {b.name} is already connected to {held}; "
                "disconnect it first (a layer input takes one connection)."
            )
        if self._reaches(dst, src):
            return f"Connecting {a.name} to {b.name} would make a loop; models must flow one way."
        return None

    def connect(self, src: str, dst: str, src_port: int = 0, dst_port: int = 0) -> Edge:
        """Wire an output port to an input port, or :class:`GraphError` saying why not."""
        problem = self.connection_problem(src, dst, src_port, dst_port)
        if problem:
            raise GraphError(problem)
        edge = Edge(src, src_port, dst, dst_port)
        self._in[dst][dst_port] = edge
        self._out[src][edge] = None
        self._emit(GraphEvent("edge_added", edge=edge))
        return edge

    def disconnect(self, edge: Edge) -> None:
        """Remove an edge."""
        if self._in.get(edge.dst, {}).get(edge.dst_port) != edge:
            raise GraphError("That connection does not exist.")
        del self._in[edge.dst][edge.dst_port]
        del self._out[edge.src][edge]
        self._emit(GraphEvent("edge_removed", edge=edge))

    def set_param(self, node_id: str, param: str, value: Any) -> None:
        """Set one param, or :class:`GraphError` when its spec refuses the value."""
        node = self.node(node_id)
        value, new_params = self._checked_param(node_id, param, value)
        old = node.params[param]
        if old == value:
            return
        node.params = new_params
        self._emit(GraphEvent("param_changed", node=node_id, param=param, old=old, new=value))

    def param_problem(self, node_id: str, param: str, value: Any) -> str | None:
        """Why :meth:`set_param` would refuse ``value``, or None: the check alone, no change."""
        try:
            self._checked_param(node_id, param, value)
        except GraphError as err:
            return str(err)
        return None

    def _checked_param(self, node_id: str, param: str, value: Any) -> tuple[Any, dict[str, Any]]:
        node = self.node(node_id)
        spec = get_spec(node.kind)
        try:
            value = spec.param(param).validate(value)
        except KeyError:
            raise GraphError(f"{node.kind} has no parameter called {param!r}.") from None
        except ParamError as err:
            raise GraphError(str(err)) from None
        new_params = {**node.params, param: value}
        problems = spec.params_problems(new_params)
        if problems:
            raise GraphError(" ".join(problems))
        ports = spec.num_inputs(new_params)
        cut = sorted(p for p in self._in[node_id] if p >= ports)
        if cut:
            raise GraphError(
                f"{node.name} cannot have only {ports} inputs ({param}={value}) while its "
                f"input {cut[-1] + 1} is connected; disconnect it first."
            )
        return value, new_params

    def rename(self, node_id: str, name: str) -> None:
        """Give a node a new unique name."""
        node = self.node(node_id)
        if name == node.name:
            return
        self._check_new_name(name)
        old, node.name = node.name, name
        self._emit(GraphEvent("renamed", node=node_id, old=old, new=name))

    def rename_problem(self, node_id: str, name: str) -> str | None:
        """Why :meth:`rename` would refuse ``name``, or None."""
        if name == self.node(node_id).name:
            return None
        try:
            self._check_new_name(name)
        except GraphError as err:
            return str(err)
        return None

    def move(self, node_id: str, x: float, y: float) -> None:
        """Place a node at ``(x, y)`` on the canvas."""
        node = self.node(node_id)
        old, node.position = node.position, _position((x, y))
        self._emit(GraphEvent("moved", node=node_id, old=old, new=node.position))

    def set_note(self, node_id: str, note: str) -> None:
        """Attach a free-text note to a node."""
        node = self.node(node_id)
        old, node.note = node.note, str(note)
        self._emit(GraphEvent("note_changed", node=node_id, old=old, new=node.note))

    # -- files -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The document as plain JSON-ready data, with its format name and schema version."""
        return {
            "format": FORMAT,
            "version": SCHEMA_VERSION,
            "name": self.name,
            "description": self.description,
            "nodes": [
                {
                    "id": n.id,
                    "kind": n.kind,
                    "name": n.name,
                    "params": get_spec(n.kind).params_to_json(n.params),
                    "position": list(n.position),
                    "note": n.note,
                }
                for n in self._nodes.values()
            ],
            "edges": [{"from": [e.src, e.src_port], "to": [e.dst, e.dst_port]} for e in self.edges],
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The document as JSON text."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> Graph:
        """Load a document from JSON text; see :meth:`from_dict`."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as err:
            raise GraphLoadError([f"The file is not valid JSON ({err})."]) from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> Graph:
        """Load a document, or :class:`GraphLoadError` naming every problem at once."""
        from core.graph_loading import load_document

        return load_document(cls, data)

    def copy(self) -> Graph:
        """An independent copy with the same ids (and no subscribers)."""
        return Graph.from_dict(self.to_dict())

    # -- internals -------------------------------------------------------------------------

    def _check_new_name(self, name: str) -> None:
        problem = name_problem(name)
        if problem:
            raise GraphError(problem)
        if self.node_by_name(name) is not None:
            raise GraphError(f"Another layer is already called {name!r}; names must be unique.")

    def _fresh_id(self) -> str:
        while f"n{self._next_id}" in self._rank:  # never the id of a removed layer either
            self._next_id += 1
        self._next_id += 1
        return f"n{self._next_id - 1}"

    def _edge_key(self, edge: Edge) -> tuple[int, int, int]:
        return (edge.src_port, self._rank[edge.dst], edge.dst_port)

    def _reaches(self, start: str, goal: str) -> bool:
        stack, seen = [start], {start}
        while stack:
            nid = stack.pop()
            if nid == goal:
                return True
            for e in self._out[nid]:
                if e.dst not in seen:
                    seen.add(e.dst)
                    stack.append(e.dst)
        return False


def _position(value: Iterable[Any]) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in value)
    except (TypeError, ValueError, OverflowError):
        raise GraphError("A position needs two numbers, x and y.") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise GraphError(f"A position needs two finite numbers, not ({x}, {y}).")
    return (x, y)
