"""Any sequence of edits undoes back to exactly the document it started from, and redoes."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QPointF
from PySide6.QtGui import QUndoStack

from core.catalog import by_category
from core.fragment import copy_fragment, read_fragment
from core.graph import Edge
from core.templates import load_template, template_names
from ui.editor.commands import RenameCommand, SetParamCommand
from ui.editor.scene import GraphScene

KINDS = [spec.kind for specs in by_category().values() for spec in specs]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))


def edit(scene: GraphScene, data: st.DataObject) -> None:
    """One edit of the kinds a user makes, on whatever the document is now."""
    graph = scene.graph
    ids = list(graph.nodes)
    action = data.draw(
        st.sampled_from(
            [
                *("add", "insert", "delete", "connect", "disconnect", "param", "rename"),
                *("paste", "arrange", "nudge", "after"),
            ]
        )
    )
    pick = (lambda: data.draw(st.sampled_from(ids))) if ids else None
    if action == "add":
        scene.add_layer(data.draw(st.sampled_from(KINDS)), QPointF(10, 20))
    elif action == "insert" and graph.edges:
        wire = data.draw(st.sampled_from(graph.edges))
        scene.insert_layer(data.draw(st.sampled_from(KINDS)), wire, QPointF(0, 0))
    elif action == "delete" and pick:
        scene.select(data.draw(st.lists(st.sampled_from(ids), max_size=3, unique=True)))
        scene.delete_selected()
    elif action == "connect" and pick:
        src, dst = pick(), pick()
        for port in range(graph.num_inputs(dst)):
            if graph.num_outputs(src) and not graph.connection_problem(src, dst, 0, port):
                scene.select([src, dst])
                scene.connect_selected()
                break
    elif action == "disconnect" and graph.edges:
        scene.select([])
        scene.edges[data.draw(st.sampled_from(graph.edges))].setSelected(True)
        scene.delete_selected()
    elif action == "param" and pick:
        node = graph.nodes[pick()]
        params = [p for p in node.params if isinstance(node.params[p], int | float)]
        if params:
            name = data.draw(st.sampled_from(params))
            value = node.params[name] + data.draw(st.sampled_from([1, 2]))
            if graph.param_problem(node.id, name, value) is None:
                scene.undo_stack.push(SetParamCommand(graph, node.id, name, value))
    elif action == "rename" and pick:
        node_id, name = pick(), data.draw(st.sampled_from(["x", "y", "layer one"]))
        if graph.rename_problem(node_id, name) is None:
            scene.undo_stack.push(RenameCommand(graph, node_id, name))
    elif action == "paste" and pick:
        chosen = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=4, unique=True))
        scene.paste(read_fragment(copy_fragment(graph, chosen)))
    elif action == "arrange":
        scene.arrange()
    elif action == "nudge" and pick:
        scene.select([pick()])
        scene.nudge_selected(10, -20)
    elif action == "after" and pick:
        scene.add_after(data.draw(st.sampled_from(KINDS)), pick())


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(template=st.sampled_from(template_names()), data=st.data())
def test_any_edits_undo_to_the_same_document_and_redo(qtbot, template: str, data) -> None:
    scene = GraphScene(load_template(template), QUndoStack())
    start = scene.graph.to_dict()
    steps = data.draw(st.integers(1, 10))
    for _ in range(steps):
        edit(scene, data)  # an edit the scene lets through must not fail half-way
        assert set(scene.nodes) == set(scene.graph.nodes)
        assert set(scene.edges) == set(scene.graph.edges)
    end = scene.graph.to_dict()
    while scene.undo_stack.canUndo():
        scene.undo_stack.undo()
    assert scene.graph.to_dict() == start
    while scene.undo_stack.canRedo():
        scene.undo_stack.redo()
    assert scene.graph.to_dict() == end
    assert set(scene.edges) == set(scene.graph.edges)
    for edge in scene.graph.edges:
        assert isinstance(edge, Edge) and scene.edges[edge].edge == edge
    scene.close()
