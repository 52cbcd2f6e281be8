"""The node editor: a canvas that mirrors a :class:`core.graph.Graph` and edits it by commands."""
