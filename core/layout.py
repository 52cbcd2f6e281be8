"""Automatic layered layout: positions for every node, flowing from the Inputs down to the Outputs.

Layers of the model become rows (a node sits one row below its lowest input), and nodes in a row
are ordered by the average column of their inputs, which keeps wires short and mostly straight.
"""

from __future__ import annotations

from core.graph import Graph

ROW_SPACING = 110.0
COLUMN_SPACING = 270.0  # a node is 190 wide: room for a wire and its label between


def auto_layout(graph: Graph) -> dict[str, tuple[float, float]]:
    """A position for each node id: rows top to bottom, each row centred on x = 0.

    A wire that skips rows (a residual connection) gets a placeholder in every row it crosses,
    so that the layers it skips move aside instead of sitting on top of it.
    """
    order = graph.topological_order()
    row: dict[str, int] = {}
    for node_id in order:
        sources = [e.src for e in graph.in_edges(node_id).values()]
        row[node_id] = 1 + max((row[s] for s in sources), default=-1)
    rows: dict[int, list[str]] = {}
    parents: dict[str, list[str]] = {}
    for node_id in order:
        rows.setdefault(row[node_id], []).append(node_id)
        parents[node_id] = []
        for edge in graph.in_edges(node_id).values():
            above = edge.src
            for r in range(row[edge.src] + 1, row[node_id]):
                dummy = f"\0{edge.src}:{edge.src_port}:{r}"  # shared by wires from one port
                if dummy not in parents:
                    parents[dummy] = [above]
                    rows.setdefault(r, []).append(dummy)
                above = dummy
            parents[node_id].append(above)
    column: dict[str, float] = {}
    positions: dict[str, tuple[float, float]] = {}
    for r in sorted(rows):
        members = rows[r]

        def barycentre(node_id: str) -> float:
            cols = [column[p] for p in parents[node_id] if p in column]
            return sum(cols) / len(cols) if cols else 0.0

        members.sort(key=barycentre)
        for i, node_id in enumerate(members):
            column[node_id] = i - (len(members) - 1) / 2
            if node_id in graph.nodes:
                positions[node_id] = (column[node_id] * COLUMN_SPACING, r * ROW_SPACING)
    return positions


def apply_layout(graph: Graph) -> None:
    """Move every node to its automatic position (through :meth:`Graph.move`, so it is undoable)."""
    for node_id, (x, y) in auto_layout(graph).items():
        graph.move(node_id, x, y)
