"""The canvas's scene: mirrors a :class:`core.graph.Graph` through its events.

The scene never edits the graph itself: it pushes commands on its undo stack; the graph's
events then add, remove and update items, and shapes and problems are inferred again (with
the editor's cache) so edge labels and badges follow every edit, undo and redo.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPen, QTransform, QUndoStack
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene, QGraphicsSceneMouseEvent

from core.graph import Edge, Graph, GraphEvent
from core.layers import format_shape
from core.shapes import ShapeReport, infer_shapes
from ui.editor.commands import (
    AddNodeCommand,
    ConnectCommand,
    DisconnectCommand,
    MoveCommand,
    RemoveNodesCommand,
)
from ui.editor.edge_item import EdgeItem, wire_path
from ui.editor.node_item import NodeItem
from ui.editor.port_item import PortItem


class GraphScene(QGraphicsScene):
    """Items for every node and edge of ``graph``, kept in step with it.

    Wiring with the mouse: drag from an output port to an input port (compatible input ports
    light up; an incompatible one refuses with the reason, sent as :attr:`message`); drag the
    end of a wire away from its input port to disconnect it, or onto another input port to
    move it there.
    """

    #: A sentence for the status bar (why a connection was refused, ...).
    message = Signal(str)
    #: The document changed; shapes and problems (:attr:`report`) are current again.
    document_changed = Signal()

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
        self._wire: QGraphicsPathItem | None = None
        self._wire_from: tuple[str, int] | None = None  # the output port a new wire leaves
        self._lifted: Edge | None = None  # the wire whose end is being dragged
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

    def delete_selected(self) -> None:
        """Delete the selected layers (with their wires) as one undoable step."""
        chosen = [i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)]
        if chosen:
            self.undo_stack.push(RemoveNodesCommand(self.graph, chosen))

    def commit_moves(self) -> None:
        """Record layers the mouse has moved in the document, as one undoable step."""
        moves = {}
        for node_id, item in self.nodes.items():
            old = self.graph.nodes[node_id].position
            new = (item.pos().x(), item.pos().y())
            if new != old:
                moves[node_id] = (old, new)
        if moves:
            self.undo_stack.push(MoveCommand(self.graph, moves))

    def reroute(self, node_id: str) -> None:
        """Redraw the wires of one layer (while it is being dragged)."""
        for edge, item in self.edges.items():
            if node_id in (edge.src, edge.dst):
                start = self.nodes[edge.src].port_position(edge.src_port, True)
                item.set_ends(start, self.nodes[edge.dst].port_position(edge.dst_port, False))

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
        for node_id, node_item in self.nodes.items():
            problems = [d for d in self.report.for_node(node_id) if d.severity == "error"]
            node_item.set_problem(" ".join(d.text(self.graph) for d in problems))
        self.document_changed.emit()

    # -- wiring with the mouse -------------------------------------------------------------

    def _port_at(self, pos: QPointF) -> PortItem | None:
        for item in self.items(pos, deviceTransform=QTransform()):
            if isinstance(item, PortItem):
                return item
        return None

    def _node_of(self, port: PortItem) -> str:
        parent = port.parentItem()
        assert isinstance(parent, NodeItem)
        return parent.node_id

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        port = self._port_at(event.scenePos())
        if event.button() != Qt.MouseButton.LeftButton or port is None:
            super().mousePressEvent(event)
            return
        node_id = self._node_of(port)
        if port.output:
            self._wire_from = (node_id, port.index)
        else:
            edge = self.graph.in_edges(node_id).get(port.index)
            if edge is None:
                super().mousePressEvent(event)
                return
            self._lifted = edge  # pick up the wire's end
            self._wire_from = (edge.src, edge.src_port)
            self.edges[edge].setVisible(False)
        self._wire = QGraphicsPathItem()
        self._wire.setPen(QPen(QColor("#1f77b4"), 2, Qt.PenStyle.DashLine))
        self.addItem(self._wire)
        self._show_targets(True)
        self._draw_wire(event.scenePos())
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wire is None:
            super().mouseMoveEvent(event)
            return
        self._draw_wire(event.scenePos())
        event.accept()

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wire is None or self._wire_from is None:
            super().mouseReleaseEvent(event)
            self.commit_moves()
            return
        src, src_port = self._wire_from
        lifted = self._lifted
        self.removeItem(self._wire)
        self._wire, self._wire_from, self._lifted = None, None, None
        self._show_targets(False)
        if lifted is not None:
            self.edges[lifted].setVisible(True)
        port = self._port_at(event.scenePos())
        target = None
        if port is not None and not port.output:
            target = Edge(src, src_port, self._node_of(port), port.index)
        if target == lifted:
            return
        if target is None:
            if lifted is not None:
                self.undo_stack.push(DisconnectCommand(self.graph, lifted))
            return
        problem = self._problem(target, lifted)
        if problem:
            self.message.emit(problem)
            return
        if lifted is None:
            self.undo_stack.push(ConnectCommand(self.graph, target))
            return
        self.undo_stack.beginMacro("Move connection")
        self.undo_stack.push(DisconnectCommand(self.graph, lifted))
        self.undo_stack.push(ConnectCommand(self.graph, target))
        self.undo_stack.endMacro()

    def _problem(self, target: Edge, lifted: Edge | None) -> str | None:
        """Why ``target`` cannot be connected (with ``lifted`` counted as already gone)."""
        if lifted is not None:
            self.graph.disconnect(lifted)
        try:
            return self.graph.connection_problem(
                target.src, target.dst, target.src_port, target.dst_port
            )
        finally:
            if lifted is not None:
                self.graph.connect(lifted.src, lifted.dst, lifted.src_port, lifted.dst_port)

    def _draw_wire(self, end: QPointF) -> None:
        assert self._wire is not None and self._wire_from is not None
        node_id, port = self._wire_from
        start = self.nodes[node_id].port_position(port, True)
        self._wire.setPath(wire_path(start, end))

    def _show_targets(self, on: bool) -> None:
        """Light up the input ports the wire being drawn could go to."""
        for node_id, item in self.nodes.items():
            for port in item.inputs:
                ok = None
                if on and self._wire_from is not None:
                    src, src_port = self._wire_from
                    taken = self.graph.in_edges(node_id).get(port.index)
                    free = taken is None or taken == self._lifted
                    ok = free and (
                        taken == self._lifted
                        or self.graph.connection_problem(src, node_id, src_port, port.index) is None
                    )
                port.highlight(ok)
