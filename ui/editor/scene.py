"""The canvas's scene: mirrors a :class:`core.graph.Graph` through its events.

The scene never edits the graph itself: it pushes commands on its undo stack; the graph's
events then add, remove and update items, and shapes and problems are inferred again (with
the editor's cache) so edge labels and badges follow every edit, undo and redo.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPalette, QPen, QTransform, QUndoStack
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene, QGraphicsSceneMouseEvent

from core.fragment import copy_fragment, top_left
from core.graph import Edge, Graph, GraphError, GraphEvent
from core.layers import format_shape, get_spec
from core.layout import ROW_SPACING, auto_layout
from core.shapes import ShapeReport, infer_shapes
from ui.editor.commands import (
    AddNodeCommand,
    ConnectCommand,
    DisconnectCommand,
    MoveCommand,
    PasteCommand,
    RemoveNodesCommand,
)
from ui.editor.edge_item import EdgeItem, mix, wire_path
from ui.editor.node_item import GRID, NodeItem
from ui.editor.port_item import PortItem


def _nothing() -> None:
    return None


def _weak_listener(scene: GraphScene) -> Callable[[GraphEvent], None]:
    """A graph listener that does not keep ``scene`` alive (no cycle scene -> graph -> scene)."""
    ref = weakref.ref(scene)

    def listen(event: GraphEvent) -> None:
        alive = ref()
        if alive is not None:
            alive._on_event(event)

    return listen


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
        self.zoom = 1.0  # the view's, for the wires' labels
        self.wire_colour, self.label_colour = QColor("#808080"), QColor("#606060")
        self.label_ground = QColor(255, 255, 255, 215)
        self.report: ShapeReport = infer_shapes(graph)
        for node_id in graph.nodes:
            self._add_node(node_id)
        for edge in graph.edges:
            self._add_edge(edge)
        self._unsubscribe = graph.subscribe(_weak_listener(self))
        self._wire: QGraphicsPathItem | None = None
        self._wire_from: tuple[str, int] | None = None  # the output port a new wire leaves
        self._lifted: Edge | None = None  # the wire whose end is being dragged
        self.refresh()

    def close(self) -> None:
        """Stop following the graph.

        The scene is in no reference cycle (its subscription holds it weakly), so it is freed as
        soon as it is dropped, never by the garbage collector: PySide crashes when the collector
        tears down a scene whose undo stack holds commands.
        """
        self._unsubscribe()
        self._unsubscribe = _nothing

    # -- edits (through the undo stack) ----------------------------------------------------

    def add_layer(self, kind: str, position: QPointF) -> str | None:
        """Add a layer of ``kind`` at ``position`` as one undoable step; returns its id, or
        None when the undo stack refused the edit (the document is locked while training)."""
        command = AddNodeCommand(self.graph, kind, (position.x(), position.y()))
        self.undo_stack.push(command)
        return command.node.id if command.node is not None else None

    def insert_layer(self, kind: str, edge: Edge, position: QPointF) -> str | None:
        """Add a layer of ``kind`` in the middle of wire ``edge``, as one undoable step.

        Returns its id, or None (with the reason sent as :attr:`message`) when a layer of that
        kind cannot sit on a wire (an Input has no input port, an Output no output).
        """
        spec = get_spec(kind)
        params = spec.defaults()
        if spec.num_inputs(params) < 1 or spec.num_outputs(params) < 1:
            self.message.emit(f"{kind} cannot go on a wire: it needs an input and an output.")
            return None
        self.undo_stack.beginMacro(f"Insert {kind}")
        add = AddNodeCommand(self.graph, kind, (position.x(), position.y()))
        self.undo_stack.push(add)
        if add.node is None:  # refused: the document is locked
            self.undo_stack.endMacro()
            return None
        new = add.node.id
        self.undo_stack.push(DisconnectCommand(self.graph, edge))
        self.undo_stack.push(ConnectCommand(self.graph, Edge(edge.src, edge.src_port, new, 0)))
        self.undo_stack.push(ConnectCommand(self.graph, Edge(new, 0, edge.dst, edge.dst_port)))
        self.undo_stack.endMacro()
        return new

    def add_after(self, kind: str, node_id: str) -> str | None:
        """Add a layer of ``kind`` below layer ``node_id`` and wire it in, as one step.

        The keyboard's way of building a model: a layer with one wire leaving its first
        output gets the new layer on that wire (the layers below move down to make room);
        otherwise the new layer is connected to the first output and placed below it.
        """
        spec = get_spec(kind)
        params = spec.defaults()
        if spec.num_inputs(params) < 1 or self.graph.num_outputs(node_id) < 1:
            self.message.emit(f"{kind} cannot follow {self.graph.nodes[node_id].name}.")
            return None
        x, y = self.graph.nodes[node_id].position
        below = [e for e in self.graph.out_edges(node_id) if e.src_port == 0]
        if len(below) == 1 and spec.num_outputs(params) >= 1:
            self.undo_stack.beginMacro(f"Insert {kind}")
            self._make_room(below[0].dst, ROW_SPACING)
            new = self.insert_layer(kind, below[0], QPointF(x, y + ROW_SPACING))
            self.undo_stack.endMacro()
            return new
        self.undo_stack.beginMacro(f"Add {kind}")
        add = AddNodeCommand(self.graph, kind, (x, y + ROW_SPACING))
        self.undo_stack.push(add)
        if add.node is None:  # refused: the document is locked
            self.undo_stack.endMacro()
            return None
        self.undo_stack.push(ConnectCommand(self.graph, Edge(node_id, 0, add.node.id, 0)))
        self.undo_stack.endMacro()
        return add.node.id

    def _make_room(self, first: str, height: float) -> None:
        """Move ``first`` and every layer below it (downstream) down by ``height``."""
        below, stack = {first}, [first]
        while stack:
            for edge in self.graph.out_edges(stack.pop()):
                if edge.dst not in below:
                    below.add(edge.dst)
                    stack.append(edge.dst)
        moves = {}
        for node_id in below:
            x, y = self.graph.nodes[node_id].position
            moves[node_id] = ((x, y), (x, y + height))
        self.undo_stack.push(MoveCommand(self.graph, moves))

    def edge_at(self, pos: QPointF) -> Edge | None:
        """The wire passing within a few pixels of ``pos``, if any."""
        for item in self.items(pos, deviceTransform=QTransform()):
            if isinstance(item, EdgeItem) and item.isVisible():
                return item.edge
        return None

    def selected_ids(self) -> list[str]:
        """The ids of the selected layers, in document order."""
        chosen = {i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)}
        return [node_id for node_id in self.graph.nodes if node_id in chosen]

    def select(self, node_ids: list[str]) -> None:
        """Select exactly these layers."""
        self.clearSelection()
        for node_id in node_ids:
            self.nodes[node_id].setSelected(True)

    def select_all(self) -> None:
        self.select(list(self.nodes))

    def delete_selected(self, text: str = "") -> None:
        """Delete the selected layers (with their wires) and wires, as one undoable step."""
        chosen = self.selected_ids()
        wires = [
            i.edge
            for i in self.selectedItems()
            if isinstance(i, EdgeItem) and i.edge.src not in chosen and i.edge.dst not in chosen
        ]
        if not chosen and not wires:
            return
        self.undo_stack.beginMacro(text or ("Disconnect" if not chosen else "Delete"))
        for edge in wires:
            self.undo_stack.push(DisconnectCommand(self.graph, edge))
        if chosen:
            self.undo_stack.push(RemoveNodesCommand(self.graph, chosen))
        self.undo_stack.endMacro()

    def connect_selected(self) -> bool:
        """Wire two selected layers: the upper one's output to the lower one's first free input.

        The keyboard's way of wiring (select one, Shift+arrow to the other, then C).
        """
        chosen = self.selected_ids()
        if len(chosen) != 2:
            self.message.emit("Select exactly two layers to connect them.")
            return False
        src, dst = sorted(chosen, key=lambda n: self.graph.nodes[n].position[1])
        taken = self.graph.in_edges(dst)
        problem = f"{self.graph.nodes[dst].name} has no free input."
        for port in range(self.graph.num_inputs(dst)):
            if port in taken:
                continue
            problem = self.graph.connection_problem(src, dst, 0, port) or ""
            if not problem:
                self.undo_stack.push(ConnectCommand(self.graph, Edge(src, 0, dst, port)))
                return True
        self.message.emit(problem)
        return False

    def copy_selected(self) -> str | None:
        """The selected layers and the wires between them as fragment text (None if none)."""
        chosen = self.selected_ids()
        return copy_fragment(self.graph, chosen) if chosen else None

    def paste(self, fragment: Graph, at: QPointF | None = None, text: str = "Paste") -> list[str]:
        """Add ``fragment`` as one undoable step and select it; returns the new ids.

        With ``at`` its top-left layer goes there; without, it goes 40 px below and right of
        where it was copied from, and a little further for each paste of the same layers.
        """
        if not fragment.nodes:
            return []
        left, top = top_left(fragment)
        if at is not None:
            offset = (round((at.x() - left) / GRID) * GRID, round((at.y() - top) / GRID) * GRID)
        else:
            step = 40.0
            while any(n.position == (left + step, top + step) for n in self.graph.nodes.values()):
                step += 40.0
            offset = (step, step)
        command = PasteCommand(self.graph, fragment, offset, text)
        try:
            self.undo_stack.push(command)
        except GraphError as err:  # a fragment the graph cannot take (checked on reading)
            self.message.emit(str(err))
            return []
        self.select(command.node_ids)
        return command.node_ids

    def nudge_selected(self, dx: float, dy: float) -> None:
        """Move the selected layers by ``(dx, dy)`` (the keyboard's way of moving)."""
        moves = {}
        for node_id in self.selected_ids():
            x, y = self.graph.nodes[node_id].position
            moves[node_id] = ((x, y), (x + dx, y + dy))
        if moves:
            self.undo_stack.push(MoveCommand(self.graph, moves))

    def arrange(self) -> None:
        """Lay every layer out automatically (rows from the Inputs down), as one step."""
        moves = {}
        for node_id, new in auto_layout(self.graph).items():
            old = self.graph.nodes[node_id].position
            if new != old:
                moves[node_id] = (old, new)
        if moves:
            command = MoveCommand(self.graph, moves)
            command.setText("Arrange layers")
            self.undo_stack.push(command)

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

    def set_zoom(self, zoom: float) -> None:
        """Tell the wires how far the view is zoomed out (their labels shorten, then hide)."""
        if zoom != self.zoom:
            self.zoom = zoom
            for item in self.edges.values():
                item.set_zoom(zoom)

    def apply_palette(self, palette: QPalette) -> None:
        """Take the wires' colours from ``palette`` (the system's light or dark one)."""
        text, base = palette.text().color(), palette.base().color()
        self.wire_colour, self.label_colour = mix(text, base, 0.55), mix(text, base, 0.3)
        self.label_ground = QColor(base)
        self.label_ground.setAlpha(215)
        for item in self.edges.values():
            item.set_colours(self.wire_colour, self.label_colour, self.label_ground)

    def _add_edge(self, edge: Edge) -> None:
        item = EdgeItem(edge)
        item.set_zoom(self.zoom)
        item.set_colours(self.wire_colour, self.label_colour, self.label_ground)
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
