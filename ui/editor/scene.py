"""The canvas's scene: mirrors a :class:`core.graph.Graph` through its events.

The scene never edits the graph itself: it pushes commands on its undo stack; the graph's
events then add, remove and update items, and shapes and problems are inferred again (with
the editor's cache) so edge labels and badges follow every edit, undo and redo.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QGraphicsScene

from core.graph import Edge, Graph, GraphEvent
from core.layers import format_shape
from core.shapes import ShapeReport, infer_shapes
from ui.editor.commands import AddNodeCommand
from ui.editor.edge_item import EdgeItem
from ui.editor.node_item import NodeItem


class GraphScene(QGraphicsScene):
    """Items for every node and edge of ``graph``, kept in step with it."""

    def __init__(self, graph: Graph, undo_stack: QUndoStack | None = None) -> None:
        super().__init__()
        self.graph = graph
        self.undo_stack = undo_stack or QUndoStack(self)
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[Edge, EdgeItem] = {}
        self._cache: dict[str, Any] = {}
        self.report: ShapeReport = infer_shapes(graph)
        for node_id in graph.nodes:
            self._add_node(node_id)
        for edge in graph.edges:
            self._add_edge(edge)
        self._unsubscribe = graph.subscribe(self._on_event)
        self.refresh()

    def close(self) -> None:
        """Stop following the graph."""
        self._unsubscribe()

    # -- edits (through the undo stack) ----------------------------------------------------

    def add_layer(self, kind: str, position: QPointF) -> str:
        """Add a layer of ``kind`` at ``position`` as one undoable step; returns its id."""
        command = AddNodeCommand(self.graph, kind, (position.x(), position.y()))
        self.undo_stack.push(command)
        assert command.node is not None
        return command.node.id

    # -- following the graph ---------------------------------------------------------------

    def _add_node(self, node_id: str) -> None:
        node = self.graph.nodes[node_id]
        item = NodeItem(node, self.graph.num_inputs(node_id), self.graph.num_outputs(node_id))
        self.addItem(item)
        self.nodes[node_id] = item

    def _add_edge(self, edge: Edge) -> None:
        item = EdgeItem(edge)
        self.addItem(item)
        self.edges[edge] = item

    def _on_event(self, event: GraphEvent) -> None:
        if event.type == "node_added" and event.node is not None:
            self._add_node(event.node)
        elif event.type == "node_removed" and event.node is not None:
            self.removeItem(self.nodes.pop(event.node))
        elif event.type == "edge_added" and event.edge is not None:
            self._add_edge(event.edge)
        elif event.type == "edge_removed" and event.edge is not None:
            self.removeItem(self.edges.pop(event.edge))
        elif event.node is not None and event.node in self.nodes:
            self.nodes[event.node].update_from(self.graph.nodes[event.node])
        self.refresh()

    def refresh(self) -> None:
        """Infer shapes again and update every edge's route and label and every badge."""
        self.report = infer_shapes(self.graph, cache=self._cache)
        for edge, item in self.edges.items():
            start = self.nodes[edge.src].port_position(edge.src_port, True)
            end = self.nodes[edge.dst].port_position(edge.dst_port, False)
            item.set_ends(start, end)
            shape = self.report.edge_shape(edge)
            item.set_label(format_shape(shape) if shape is not None else "")
        for node_id, item in self.nodes.items():
            problems = [d for d in self.report.for_node(node_id) if d.severity == "error"]
            item.set_problem(" ".join(d.text(self.graph) for d in problems))
