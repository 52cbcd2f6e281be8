"""The inspector: a form for the selected layer's settings, generated from its layer spec.

Every row comes from a :class:`~core.layers.Param` (its type, range, choices and help line), so
a new layer kind needs no code here. Edits follow the one path of the editor: a value is first
checked with the document's own rules (``Graph.param_problem``); an accepted one is pushed as
one ``QUndoCommand``, a refused one is explained in a red line (and
:attr:`InspectorPanel.message`) and the field shows the document's value again. The form
follows the scene's ``document_changed``, so undo and redo show up here too, updating fields
in place rather than rebuilding them.
"""

from __future__ import annotations

import functools
import html
import itertools
from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.layers import ParamError, format_shape, get_spec
from core.summary import layer_parameters
from ui.editor.commands import RenameCommand, SetParamCommand
from ui.editor.node_item import NodeItem
from ui.editor.scene import GraphScene
from ui.icons import kind_icon
from ui.param_fields import Field, field_class, param_tooltip

NOTHING_SELECTED = "Select a layer to see and change its settings."


class InspectorPanel(QWidget):
    """The settings of the one selected layer, or a placeholder when there is not just one.

    Widgets are named for tests and style sheets: ``name_edit``, ``param_<name>`` (or
    ``param_<name>_<i>`` for each number of a tuple, ``param_<name>_default`` for the "default"
    box of an optional one), ``label_<name>``, and the labels ``placeholder_label``,
    ``kind_label``, ``help_label``, ``error_label``, ``output_label``, ``params_label`` and
    ``problems_label``.
    """

    #: A sentence for the status bar (why a value was refused).
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector")
        self.scene: GraphScene | None = None
        self.node_id: str | None = None
        self.name_edit: QLineEdit | None = None
        self._kind: str | None = None
        self._fields: dict[str, Field] = {}
        self._syncing = False  # showing the document's values: not an edit
        self._colours: dict[str, str] = {}
        self.placeholder_label = self._label("placeholder_label", NOTHING_SELECTED)
        self.placeholder_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder_label.setMargin(16)
        self.kind_icon_label = self._label("kind_icon_label")
        self.kind_icon_label.setFixedSize(40, 40)
        self.kind_label = self._label("kind_label")
        font = self.kind_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.kind_label.setFont(font)
        self.category_label = self._label("category_label")
        self.help_label = self._label("help_label")
        self.error_label = self._label("error_label")
        self.output_label = self._label("output_label")
        self.params_label = self._label("params_label")
        self.problems_label = self._label("problems_label")
        self.problems_label.setTextFormat(Qt.TextFormat.RichText)
        for muted in (self.placeholder_label, self.category_label, self.help_label):
            muted.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        header = QHBoxLayout()
        header.addWidget(self.kind_icon_label)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(self.kind_label)
        titles.addWidget(self.category_label)
        header.addLayout(titles, 1)
        self._form_box = QWidget()
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        content = QWidget()
        self._body = QVBoxLayout(content)
        self._body.setContentsMargins(10, 10, 10, 10)
        self._body.setSpacing(8)
        self._body.addLayout(header)
        for widget in (self.help_label, self._form_box, self.error_label, line, self.output_label):
            self._body.addWidget(widget)
        self._body.addWidget(self.params_label)
        self._body.addWidget(self.problems_label)
        self._body.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        self._stack = QStackedWidget(self)
        self._stack.addWidget(self.placeholder_label)
        self._stack.addWidget(scroll)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self._stack)
        self._apply_colours()
        self._show_error("")

    @staticmethod
    def _label(name: str, text: str = "") -> QLabel:
        label = QLabel(text)
        label.setObjectName(name)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    # -- following a scene -----------------------------------------------------------------

    def set_scene(self, scene: GraphScene | None) -> None:
        """Follow ``scene``'s selection and document (a new one when a file is opened)."""
        self.show_node(None)  # commits what is being typed, to the old document
        if self.scene is not None:
            try:
                self.scene.selectionChanged.disconnect(self._on_selection)
                self.scene.document_changed.disconnect(self._on_document_changed)
            except RuntimeError:  # the old scene is already gone
                pass
        self.scene = scene
        if scene is not None:
            scene.selectionChanged.connect(self._on_selection)
            scene.document_changed.connect(self._on_document_changed)
        self._on_selection()

    def _on_selection(self) -> None:
        try:
            items = self.scene.selectedItems() if self.scene is not None else []
        except RuntimeError:  # the scene is being destroyed
            return
        chosen = [i.node_id for i in items if isinstance(i, NodeItem)]
        self.show_node(chosen[0] if len(chosen) == 1 else None)
        if len(chosen) > 1:
            self._show_placeholder(
                f"{len(chosen)} layers selected.\nSelect just one to see and change its settings."
            )

    def focus_first(self) -> None:
        """Put the keyboard in the form (the name field), when a layer is shown."""
        if self.node_id is not None and self.name_edit is not None:
            self.name_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
            self.name_edit.selectAll()
        else:
            self.message.emit("Select a layer first: its settings show here.")

    def show_node(self, node_id: str | None) -> None:
        """Show the form of layer ``node_id``, or the placeholder for None (or an unknown id)."""
        if node_id != self.node_id:
            focus = QApplication.focusWidget()
            if focus is not None and self._form_box.isAncestorOf(focus):
                focus.clearFocus()  # commits what is being typed, to the layer it was typed for
            self._show_error("")
        known = self.scene is not None and node_id in self.scene.graph.nodes
        self.node_id = node_id if known else None
        self._on_document_changed()

    def _show_placeholder(self, text: str) -> None:
        self.placeholder_label.setText(text)
        self._stack.setCurrentIndex(0)

    def _on_document_changed(self) -> None:
        """Show the document's values in place (rebuilding only for another layer or kind)."""
        graph = self.scene.graph if self.scene is not None else None
        node = graph.nodes.get(self.node_id) if graph and self.node_id is not None else None
        if node is None:
            self.node_id = self._kind = None
            self._show_placeholder(NOTHING_SELECTED)
            return
        self._show_error("")
        if node.kind != self._kind or self._form_box.property("node") != node.id:
            self._rebuild(node.id, node.kind)
        assert self.name_edit is not None
        self._syncing = True
        try:
            if self.name_edit.text() != node.name:
                self.name_edit.setText(node.name)
            for name, field in self._fields.items():
                field.show(node.params[name])
        finally:
            self._syncing = False
        self._show_summary(node.id)
        self._stack.setCurrentIndex(1)

    # -- the form --------------------------------------------------------------------------

    def _rebuild(self, node_id: str, kind: str) -> None:
        spec = get_spec(kind)
        box = QWidget()
        box.setProperty("node", node_id)
        form = QFormLayout(box)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        edit = QLineEdit(box)
        edit.setObjectName("name_edit")
        edit.setToolTip("The layer's name, unique in the model (Keras calls it name too).")
        edit.editingFinished.connect(lambda: self._commit_name(node_id, edit))
        form.addRow("name", edit)
        fields: dict[str, Field] = {}
        order: list[QWidget] = [edit]
        for p in spec.params:
            field = field_class(p)(p, box)
            field.commit = functools.partial(self._commit_param, node_id, field)
            label = QLabel(p.name, box)
            label.setObjectName(f"label_{p.name}")
            label.setBuddy(field.focusables[0])
            font = label.font()
            font.setItalic(p.studio_only)  # a studio setting, not a Keras argument
            label.setFont(font)
            for widget in (label, field.widget, *field.focusables):
                widget.setToolTip(param_tooltip(p))
            form.addRow(label, field.widget)
            fields[p.name] = field
            order += field.focusables
        for first, second in itertools.pairwise(order):
            QWidget.setTabOrder(first, second)
        old, self._form_box = self._form_box, box
        self._body.replaceWidget(old, box)
        old.setParent(None)  # out of findChild's reach at once
        old.deleteLater()
        self._kind, self._fields, self.name_edit = kind, fields, edit
        self.kind_icon_label.setPixmap(kind_icon(kind).pixmap(40, 40))
        self.kind_label.setText(kind)
        self.category_label.setText(spec.category)
        self.help_label.setText(spec.help)

    # -- edits -----------------------------------------------------------------------------

    def _commit_param(self, node_id: str, field: Field) -> None:
        if self._syncing or self.scene is None or node_id not in self.scene.graph.nodes:
            return
        graph, p = self.scene.graph, field.param
        node = graph.nodes[node_id]
        if p not in get_spec(node.kind).params:
            return
        current = node.params[p.name]
        try:
            value = p.validate(field.value())
        except ParamError as err:
            self._refuse(str(err), lambda: field.show(current))
            return
        if value == current:
            self._quietly(lambda: field.show(current))  # "0.50" reads 0.5 again
            return
        problem = graph.param_problem(node_id, p.name, value)
        if problem:
            self._refuse(problem, lambda: field.show(current))
            return
        self.scene.undo_stack.push(SetParamCommand(graph, node_id, p.name, value))

    def _commit_name(self, node_id: str, edit: QLineEdit) -> None:
        if self._syncing or self.scene is None or node_id not in self.scene.graph.nodes:
            return
        graph, name = self.scene.graph, edit.text()
        current = graph.nodes[node_id].name
        if name == current:
            return
        problem = graph.rename_problem(node_id, name)
        if problem:
            self._refuse(problem, lambda: edit.setText(current))
            return
        self.scene.undo_stack.push(RenameCommand(graph, node_id, name))

    def _refuse(self, problem: str, revert: Callable[[], None]) -> None:
        """Explain a refused value and show the document's value again."""
        self._quietly(revert)
        self._show_error(problem)
        self.message.emit(problem)

    def _quietly(self, action: Callable[[], None]) -> None:
        """Change widgets without their signals counting as edits."""
        self._syncing = True
        try:
            action()
        finally:
            self._syncing = False

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    # -- shapes, parameter count, problems ---------------------------------------------------

    def _show_summary(self, node_id: str) -> None:
        assert self.scene is not None
        report, node = self.scene.report, self.scene.graph.nodes[node_id]
        outs, ins = report.outputs.get(node_id), report.inputs.get(node_id)
        if outs is None or ins is None:
            self.output_label.setText("Output: unknown until its inputs are known")
            self.params_label.setText("Parameters: unknown")
        else:
            word = ("Output" if outs else "Model output") + ("s" if len(outs or ins) > 1 else "")
            self.output_label.setText(f"{word}: {', '.join(map(format_shape, outs or ins))}")
            trainable, frozen = layer_parameters(node.kind, node.params, ins)
            extra = f" ({frozen:,} not trained)" if frozen else ""
            self.params_label.setText(f"Parameters: {trainable + frozen:,}{extra}")
        lines = []
        for d in report.for_node(node_id):
            colour = self._colours.get(d.severity)
            style = f' style="color:{colour}"' if colour else ""
            text = html.escape(d.message + (f" {d.hint}" if d.hint else ""), quote=False)
            lines.append(f"<p{style}><b>{d.severity}:</b> {text}</p>")
        self.problems_label.setText("".join(lines))
        self.problems_label.setVisible(bool(lines))

    # -- colours -----------------------------------------------------------------------------

    def _apply_colours(self) -> None:
        """Problem colours that read well on the palette's window colour, light or dark."""
        dark = self.palette().window().color().lightnessF() < 0.5
        self._colours = {
            "error": "#ff7b72" if dark else "#c62828",
            "warning": "#f0b429" if dark else "#9a5b00",
        }
        palette = self.error_label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, QColor(self._colours["error"]))
        self.error_label.setPalette(palette)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self._colours:
            self._apply_colours()
            self._on_document_changed()
