"""Pieces of a model for copy and paste: the chosen layers and the wires between them.

A fragment is an ordinary graph document (so it is read with every check of
:meth:`Graph.from_dict`: a clipboard from another program cannot smuggle in anything a file
could not) with its own format name, so that a whole model is never pasted by mistake.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from core.graph import Graph, GraphError, GraphLoadError

FRAGMENT_FORMAT = "layer-studio-fragment"
#: Clipboards larger than this are refused unread (a 10,000-layer model is about 4 MB).
MAX_FRAGMENT_CHARS = 20_000_000


def copy_fragment(graph: Graph, node_ids: Iterable[str]) -> str:
    """The layers ``node_ids`` of ``graph`` and the wires between them, as JSON text."""
    chosen = set(node_ids)
    piece = Graph(name=graph.name)
    for node in graph.nodes.values():
        if node.id in chosen:
            piece.add_copy(node)
    for edge in graph.edges:
        if edge.src in chosen and edge.dst in chosen:
            piece.connect(edge.src, edge.dst, edge.src_port, edge.dst_port)
    data = piece.to_dict()
    data["format"] = FRAGMENT_FORMAT
    return json.dumps(data)


def read_fragment(text: str) -> Graph:
    """The fragment in ``text``, or :class:`GraphLoadError` saying why it is not one."""
    if len(text) > MAX_FRAGMENT_CHARS:
        raise GraphLoadError(["The clipboard holds too much to be layers from the studio."])
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise GraphLoadError(["The clipboard does not hold layers from the studio."]) from None
    if not isinstance(data, dict) or data.get("format") != FRAGMENT_FORMAT:
        raise GraphLoadError(["The clipboard does not hold layers from the studio."])
    return Graph.from_dict({**data, "format": Graph().to_dict()["format"]})


def paste_names(graph: Graph, fragment: Graph) -> dict[str, str]:
    """A name per fragment layer: its own when free, else Keras's next (``conv2d_3``)."""
    taken = {node.name for node in graph.nodes.values()}
    names: dict[str, str] = {}
    for node in fragment.nodes.values():
        name = node.name
        if name in taken:
            base = re.sub(r"_\d+$", "", name) or name
            i = 1
            while f"{base}_{i}" in taken:
                i += 1
            name = f"{base}_{i}"
        taken.add(name)
        names[node.id] = name
    return names


def top_left(fragment: Graph) -> tuple[float, float]:
    """The smallest x and y of the fragment's layers (where a paste at a point puts them)."""
    if not fragment.nodes:
        raise GraphError("There is nothing to paste.")
    xs = [node.position[0] for node in fragment.nodes.values()]
    ys = [node.position[1] for node in fragment.nodes.values()]
    return min(xs), min(ys)
