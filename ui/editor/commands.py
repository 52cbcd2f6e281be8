"""One ``QUndoCommand`` per edit, each calling the core graph API (and its inverse on undo).

Every edit of the canvas goes widget -> command -> ``core.graph`` -> graph event -> scene, so
undo and redo take the same path as the edit itself and the canvas cannot disagree with the
document.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QUndoCommand, QUndoStack

from core.fragment import paste_names
from core.graph import Edge, Graph, Node


class AddNodeCommand(QUndoCommand):
    """Add a layer of ``kind`` at ``position``; undo removes it, redo brings back the same id."""

    def __init__(self, graph: Graph, kind: str, position: tuple[float, float]) -> None:
        super().__init__(f"Add {kind}")
        self.graph, self.kind, self.position = graph, kind, position
        self.node: Node | None = None

    def redo(self) -> None:
        if self.node is None:
            self.node = self.graph.add_node(self.kind, position=self.position)
        else:
            self.graph.add_copy(self.node)

    def undo(self) -> None:
        assert self.node is not None
        self.node, _ = self.graph.remove_node(self.node.id)


class RemoveNodesCommand(QUndoCommand):
    """Remove layers with their wires; undo puts both back where they were."""

    def __init__(self, graph: Graph, node_ids: list[str]) -> None:
        super().__init__("Delete" if len(node_ids) != 1 else f"Delete {node_ids[0]}")
        self.graph, self.node_ids = graph, node_ids
        self.removed: list[tuple[Node, list[Edge]]] = []

    def redo(self) -> None:
        self.removed = [self.graph.remove_node(n) for n in self.node_ids if n in self.graph.nodes]

    def undo(self) -> None:
        for node, _ in reversed(self.removed):
            self.graph.add_copy(node)
        for _, edges in self.removed:
            for edge in edges:
                if edge not in self.graph.edges:
                    self.graph.connect(edge.src, edge.dst, edge.src_port, edge.dst_port)


class ConnectCommand(QUndoCommand):
    """Wire an output port to an input port."""

    def __init__(self, graph: Graph, edge: Edge) -> None:
        super().__init__("Connect")
        self.graph, self.edge = graph, edge

    def redo(self) -> None:
        e = self.edge
        self.graph.connect(e.src, e.dst, e.src_port, e.dst_port)

    def undo(self) -> None:
        self.graph.disconnect(self.edge)


class DisconnectCommand(QUndoCommand):
    """Remove a wire."""

    def __init__(self, graph: Graph, edge: Edge) -> None:
        super().__init__("Disconnect")
        self.graph, self.edge = graph, edge

    def redo(self) -> None:
        self.graph.disconnect(self.edge)

    def undo(self) -> None:
        e = self.edge
        self.graph.connect(e.src, e.dst, e.src_port, e.dst_port)


class MoveCommand(QUndoCommand):
    """Move layers (one step for all the layers a drag moved)."""

    def __init__(
        self, graph: Graph, moves: dict[str, tuple[tuple[float, float], tuple[float, float]]]
    ) -> None:
        super().__init__("Move")
        self.graph, self.moves = graph, moves

    def redo(self) -> None:
        for node_id, (_, new) in self.moves.items():
            self.graph.move(node_id, *new)

    def undo(self) -> None:
        for node_id, (old, _) in self.moves.items():
            self.graph.move(node_id, *old)


class SetParamCommand(QUndoCommand):
    """Change one param of one layer."""

    def __init__(self, graph: Graph, node_id: str, param: str, value: Any) -> None:
        super().__init__(f"Set {param}")
        self.graph, self.node_id, self.param = graph, node_id, param
        self.old = graph.nodes[node_id].params[param]
        self.new = value

    def redo(self) -> None:
        self.graph.set_param(self.node_id, self.param, self.new)

    def undo(self) -> None:
        self.graph.set_param(self.node_id, self.param, self.old)


class RenameCommand(QUndoCommand):
    """Give one layer a new name (the graph refuses a taken or invalid one before the push)."""

    def __init__(self, graph: Graph, node_id: str, name: str) -> None:
        super().__init__(f"Rename to {name}")
        self.graph, self.node_id = graph, node_id
        self.old, self.new = graph.nodes[node_id].name, name

    def redo(self) -> None:
        self.graph.rename(self.node_id, self.new)

    def undo(self) -> None:
        self.graph.rename(self.node_id, self.old)


class PasteCommand(QUndoCommand):
    """Add a copied fragment (layers and the wires between them), moved by ``offset``.

    The pasted layers get fresh ids and, where their names are taken, Keras's next free name;
    :attr:`node_ids` lists them (the scene selects them).
    """

    def __init__(
        self, graph: Graph, fragment: Graph, offset: tuple[float, float], text: str = "Paste"
    ) -> None:
        super().__init__(text)
        self.graph, self.fragment, self.offset = graph, fragment, offset
        self.names = paste_names(graph, fragment)
        self.ids: dict[str, str] = {}  # fragment id -> id in the graph, fixed by the first redo

    @property
    def node_ids(self) -> list[str]:
        return list(self.ids.values())

    def redo(self) -> None:
        dx, dy = self.offset
        for node in self.fragment.nodes.values():
            added = self.graph.add_node(
                node.kind,
                node.params,
                name=self.names[node.id],
                position=(node.position[0] + dx, node.position[1] + dy),
                note=node.note,
                node_id=self.ids.get(node.id),
            )
            self.ids[node.id] = added.id
        for edge in self.fragment.edges:
            self.graph.connect(self.ids[edge.src], self.ids[edge.dst], edge.src_port, edge.dst_port)

    def undo(self) -> None:
        for node_id in reversed(self.node_ids):
            self.graph.remove_node(node_id)


def apply_graph(stack: QUndoStack, graph: Graph, new: Graph, text: str) -> bool:
    """Turn ``graph`` into ``new`` (a changed copy of it) as one undoable step called ``text``:
    layers added and removed, wires changed, parameters set, each through its command.

    Returns False when the stack refused the edit (the document is locked while training).
    """
    stack.beginMacro(text)
    ids: dict[str, str] = {}  # node id in new -> node id in graph
    for node_id, node in new.nodes.items():
        if node_id in graph.nodes:
            ids[node_id] = node_id
            continue
        add = AddNodeCommand(graph, node.kind, node.position)
        stack.push(add)
        if add.node is None:
            stack.endMacro()
            return False
        ids[node_id] = add.node.id
    gone = [n for n in graph.nodes if n not in new.nodes]
    wanted = {Edge(ids[e.src], e.src_port, ids[e.dst], e.dst_port) for e in new.edges}
    for edge in [e for e in graph.edges if e not in wanted and e.dst not in gone]:
        stack.push(DisconnectCommand(graph, edge))
    if gone:
        stack.push(RemoveNodesCommand(graph, gone))
    for edge in sorted(wanted - set(graph.edges), key=lambda e: (e.dst, e.dst_port)):
        stack.push(ConnectCommand(graph, edge))
    for node_id, node in new.nodes.items():
        for name, value in node.params.items():
            if graph.nodes[ids[node_id]].params.get(name) != value:
                stack.push(SetParamCommand(graph, ids[node_id], name, value))
    stack.endMacro()
    return True
