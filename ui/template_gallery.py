"""The "New model" gallery: every template as a card with a picture of its graph.

Type to filter (by name and description), move with the arrow keys, Enter or a double click
creates, Esc cancels. The panel beside the cards shows the chosen card's description, how many
layers and parameters it has, and the model itself at a readable size.

The cards' pictures are the canvas's own drawing (:class:`ui.editor.scene.GraphScene`) rendered
into a pixmap once per dialog, at the screen's pixel ratio, on the palette's colours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QIcon,
    QKeyEvent,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
    QRegion,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from core.graph import Graph
from core.summary import summarize
from core.templates import list_templates, load_template
from ui.editor.edge_item import mix
from ui.editor.scene import GraphScene

#: The name :meth:`TemplateGalleryDialog.chosen_name` gives for the "Empty model" card.
EMPTY = ""
EMPTY_TITLE = "Empty model"
EMPTY_DESCRIPTION = "A blank canvas: start from nothing and add layers from the palette."
#: The size of a card's picture, in device-independent pixels.
PREVIEW_SIZE = QSize(180, 232)
#: The room of one card in the grid: its picture and its title below.
CARD_SIZE = PREVIEW_SIZE + QSize(20, 36)
#: Cards side by side when the dialog opens (all templates show without scrolling).
COLUMNS = 4
#: Words that are written in capitals wherever they appear in a template's name.
ACRONYMS = frozenset(
    {"cnn", "mlp", "lstm", "gru", "rnn", "mnist", "vae", "gan", "resnet", "vgg", "nlp", "ae"}
)
_NAME_ROLE = Qt.ItemDataRole.UserRole
_MARGIN = 10  # around the graph inside a picture
_MAX_SCALE = 0.6  # a small graph is not blown up past this


def readable_title(name: str) -> str:
    """A template's name as a title: ``mnist_cnn`` -> ``MNIST CNN``, ``mlp`` -> ``MLP``.

    Words split at ``_``, ``-`` and spaces; a known acronym, a word without vowels (``cnn``)
    and a dimension (``2d``) are written in capitals, other words capitalised.
    """
    words = [w for w in re.split(r"[_\-\s]+", name) if w]
    titled = []
    for word in words:
        lower = word.lower()
        upper = (
            lower in ACRONYMS
            or re.fullmatch(r"\d+d", lower) is not None
            or (lower.isalpha() and not re.search(r"[aeiouy]", lower))
        )
        titled.append(word.upper() if upper else word[:1].upper() + word[1:])
    return " ".join(titled)


def selected_card(picture: QPixmap, palette: QPalette) -> QPixmap:
    """``picture`` framed in the palette's highlight colour: the look of a selected card."""
    pixmap = picture.copy()
    pixmap.setDevicePixelRatio(picture.devicePixelRatio())
    size = pixmap.deviceIndependentSize()
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(palette.highlight().color(), 3.0))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRoundedRect(QRectF(1.5, 1.5, size.width() - 3, size.height() - 3), 8, 8)
    painter.end()
    return pixmap


def _blank_card(size: QSize, palette: QPalette, ratio: float) -> tuple[QPixmap, QPainter]:
    pixmap = QPixmap(round(size.width() * ratio), round(size.height() * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHints(
        QPainter.RenderHint.Antialiasing
        | QPainter.RenderHint.TextAntialiasing
        | QPainter.RenderHint.SmoothPixmapTransform
    )
    # A card stands out a little from the list: between its base and the window colour.
    painter.setPen(QPen(palette.mid().color(), 1.0))
    painter.setBrush(mix(palette.base().color(), palette.window().color(), 0.67))
    painter.drawRoundedRect(QRectF(0.5, 0.5, size.width() - 1, size.height() - 1), 8, 8)
    return pixmap, painter


def render_preview(graph: Graph, size: QSize, palette: QPalette, ratio: float = 1.0) -> QPixmap:
    """A picture of ``graph`` as the canvas draws it, centred in a card of ``size``.

    The aspect ratio is kept; ``ratio`` is the screen's device pixel ratio, so the picture is
    sharp on high-density screens. The graph is drawn through a hidden view that has
    ``palette``, because layers take their colours from the widget they are painted on
    (``QGraphicsScene.render`` paints them with none, so always light).
    """
    scene = GraphScene(graph)
    scene.set_zoom(0.0)  # the wires' shape labels could not be read at this size
    scene.apply_palette(palette)
    view = QGraphicsView(scene)
    view.setPalette(palette)
    view.setFrameShape(QFrame.Shape.NoFrame)
    view.viewport().setAutoFillBackground(False)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
    room = QSize(size.width() - 2 * _MARGIN, size.height() - 2 * _MARGIN)
    view.resize(room)
    source = scene.itemsBoundingRect()
    pixmap, painter = _blank_card(size, palette, ratio)
    if not source.isEmpty():
        scale = min(room.width() / source.width(), room.height() / source.height(), _MAX_SCALE)
        view.setSceneRect(source)
        view.scale(scale, scale)  # the view centres the scene in itself
        flags = QWidget.RenderFlag.DrawChildren  # no background: the card shows through
        view.viewport().render(painter, QPoint(_MARGIN, _MARGIN), QRegion(), flags)
    painter.end()
    scene.close()
    return pixmap


def empty_preview(size: QSize, palette: QPalette, ratio: float = 1.0) -> QPixmap:
    """The picture of the "Empty model" card: a dashed outline and a plus sign."""
    pixmap, painter = _blank_card(size, palette, ratio)
    colour = palette.placeholderText().color()
    painter.setPen(QPen(colour, 1.6, Qt.PenStyle.DashLine))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    frame = QRectF(0, 0, size.width(), size.height()).adjusted(28, 36, -28, -36)
    painter.drawRoundedRect(frame, 10, 10)
    painter.setPen(QPen(colour, 3.0, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    centre, arm = frame.center(), min(frame.width(), frame.height()) / 7
    painter.drawLine(centre - QPointF(arm, 0), centre + QPointF(arm, 0))
    painter.drawLine(centre - QPointF(0, arm), centre + QPointF(0, arm))
    painter.end()
    return pixmap


@dataclass(frozen=True)
class TemplateFacts:
    """What the details panel says about a template."""

    layers: int
    parameters: int
    trainable: int


def template_facts(graph: Graph) -> TemplateFacts:
    """Layers (Input and Output markers not counted) and parameters, as Keras counts them."""
    summary = summarize(graph)
    layers = sum(1 for n in graph.nodes.values() if n.kind not in ("Input", "Output"))
    return TemplateFacts(layers, summary.total, summary.trainable)


def facts_text(facts: TemplateFacts) -> str:
    """``8 layers · 1,199,882 parameters`` (with the trainable part when some are not)."""
    if facts.layers == 0:
        return "No layers yet"
    layers = f"{facts.layers} layer{'s' if facts.layers != 1 else ''}"
    params = f"{facts.parameters:,} parameter{'s' if facts.parameters != 1 else ''}"
    if facts.trainable != facts.parameters:
        params += f" ({facts.trainable:,} trainable)"
    return f"{layers} · {params}"


class _ModelView(QGraphicsView):
    """The selected model at a readable size: as wide as the panel allows, scrolled up and down."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setInteractive(False)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.graph_scene: GraphScene | None = None

    def show_graph(self, graph: Graph | None) -> None:
        """Show ``graph`` (None: nothing)."""
        if self.graph_scene is not None:
            self.graph_scene.close()
        self.graph_scene = GraphScene(graph) if graph is not None else None
        self.setScene(self.graph_scene)
        if self.graph_scene is not None:
            self.graph_scene.apply_palette(self.palette())
            rect = self.graph_scene.itemsBoundingRect().adjusted(-12, -12, 12, 12)
            self.graph_scene.setSceneRect(rect)
        self._fit_width()
        self.verticalScrollBar().setValue(0)

    def _fit_width(self) -> None:
        self.resetTransform()
        if self.graph_scene is None:
            return
        width = self.graph_scene.sceneRect().width()
        scale = min(1.0, self.viewport().width() / width) if width > 0 else 1.0
        self.scale(scale, scale)
        self.graph_scene.set_zoom(scale)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_width()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self.graph_scene is not None:
            self.graph_scene.apply_palette(self.palette())


class TemplateGalleryDialog(QDialog):
    """Choose a template (or an empty model) to start a new model from.

    After the dialog is accepted, :meth:`chosen_name` is the template's name, or
    :data:`EMPTY` (``""``) for the empty model; after it is cancelled it is None.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("template_gallery")
        self.setWindowTitle("New model")
        self._chosen: str | None = None
        self._previews: dict[str, QIcon] = {}
        self._facts: dict[str, TemplateFacts] = {}
        self._descriptions = {EMPTY: EMPTY_DESCRIPTION}
        self._descriptions.update({t.name: t.description for t in list_templates()})

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search templates (images, text, sequence…)")
        self.search.setClearButtonEnabled(True)
        self.cards = QListWidget(self)
        self.cards.setObjectName("template_cards")
        self.cards.setViewMode(QListView.ViewMode.IconMode)
        self.cards.setMovement(QListView.Movement.Static)
        self.cards.setResizeMode(QListView.ResizeMode.Adjust)
        self.cards.setIconSize(PREVIEW_SIZE)
        self.cards.setGridSize(CARD_SIZE)
        self.cards.setUniformItemSizes(True)
        self.cards.setWordWrap(True)
        self.cards.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        scrollbar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        frame = 2 * self.cards.frameWidth()
        self.cards.setMinimumWidth(COLUMNS * CARD_SIZE.width() + scrollbar + frame + 6)
        self.cards.setMinimumHeight(2 * CARD_SIZE.height() + frame + 6)  # two rows show

        self.title = QLabel(self)
        self.title.setObjectName("template_title")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.title.setFont(font)
        self.description = QLabel(self)
        self.description.setObjectName("template_description")
        self.description.setWordWrap(True)
        self.description.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.description.setMinimumHeight(4 * self.fontMetrics().lineSpacing())
        self.description.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.facts = QLabel(self)
        self.facts.setObjectName("template_facts")
        self.model_view = _ModelView(self)
        side = QVBoxLayout()
        side.setSpacing(8)
        side.addWidget(self.title)
        side.addWidget(self.description)
        side.addWidget(self.facts)
        side.addWidget(self.model_view, 1)
        side.addStretch(0)
        details = QWidget(self)
        details.setLayout(side)
        details.setFixedWidth(320)
        side.setContentsMargins(6, 0, 0, 0)

        self.buttons = QDialogButtonBox(self)
        self.create_button = self.buttons.addButton(
            "Create", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.addButton("Cancel", QDialogButtonBox.ButtonRole.RejectRole)
        self.create_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        body = QHBoxLayout()
        body.addWidget(self.cards, 1)
        body.addWidget(details)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)

        self._fill()
        self.search.textChanged.connect(self.filter)
        self.cards.currentItemChanged.connect(self._show_details)
        self.cards.itemDoubleClicked.connect(lambda _item: self.accept())
        self.search.installEventFilter(self)
        self.cards.installEventFilter(self)
        self.cards.setCurrentRow(0)
        self._show_details(self.cards.currentItem())
        self.search.setFocus()
        self.resize(self.sizeHint().boundedTo(self.screen().availableGeometry().size()))

    # -- cards -------------------------------------------------------------------------------

    def _fill(self) -> None:
        names = [EMPTY, *(n for n in self._descriptions if n != EMPTY)]
        for name in names:
            title = readable_title(name) if name != EMPTY else EMPTY_TITLE
            item = QListWidgetItem(self.preview(name), title)
            item.setData(_NAME_ROLE, name)
            item.setToolTip(self._descriptions[name])
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            self.cards.addItem(item)

    def preview(self, name: str) -> QIcon:
        """The picture of template ``name`` (:data:`EMPTY`: the empty model), made once."""
        if name not in self._previews:
            palette, ratio = self.palette(), self.devicePixelRatioF()
            pixmap = (
                empty_preview(PREVIEW_SIZE, palette, ratio)
                if name == EMPTY
                else render_preview(load_template(name), PREVIEW_SIZE, palette, ratio)
            )
            icon = QIcon(pixmap)
            icon.addPixmap(selected_card(pixmap, self.palette()), QIcon.Mode.Selected)
            self._previews[name] = icon
        return self._previews[name]

    def items(self) -> list[QListWidgetItem]:
        """Every card, in order."""
        return [self.cards.item(i) for i in range(self.cards.count())]

    def visible_names(self) -> list[str]:
        """The names of the cards the search leaves visible, in order."""
        return [str(i.data(_NAME_ROLE)) for i in self.items() if not i.isHidden()]

    def current_name(self) -> str | None:
        """The name of the selected visible card, or None."""
        item = self.cards.currentItem()
        if item is None or item.isHidden() or not item.isSelected():
            return None
        return str(item.data(_NAME_ROLE))

    def filter(self, text: str) -> None:
        """Show the cards whose name, title or description contains every word of ``text``."""
        words = text.lower().split()
        for item in self.items():
            name = str(item.data(_NAME_ROLE))
            haystack = f"{name} {item.text()} {self._descriptions[name]}".lower()
            item.setHidden(not all(w in haystack for w in words))
        current = self.cards.currentItem()
        if current is None or current.isHidden() or not current.isSelected():
            visible = [i for i in self.items() if not i.isHidden()]
            if visible:
                self.cards.setCurrentItem(visible[0])
            else:
                self.cards.clearSelection()
                self._show_details(None)
        self.create_button.setEnabled(self.current_name() is not None)

    # -- details -----------------------------------------------------------------------------

    def facts_of(self, name: str) -> TemplateFacts:
        """Layer and parameter counts of template ``name``, computed once."""
        if name not in self._facts:
            graph = load_template(name) if name != EMPTY else Graph()
            self._facts[name] = template_facts(graph)
        return self._facts[name]

    def _show_details(self, item: QListWidgetItem | None, _previous: object = None) -> None:
        if item is None or item.isHidden():
            self.title.setText("No template matches")
            self.description.setText("Try other words, or clear the search field.")
            self.facts.clear()
            self.model_view.show_graph(None)
            self.model_view.setVisible(False)
            return
        name = str(item.data(_NAME_ROLE))
        self.title.setText(item.text())
        self.description.setText(self._descriptions[name])
        self.facts.setText(facts_text(self.facts_of(name)))
        self.model_view.show_graph(load_template(name) if name != EMPTY else None)
        self.model_view.setVisible(name != EMPTY)

    # -- keyboard ----------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Up and Down in the search field move between cards; typing in the cards searches."""
        if isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            moves = (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)
            if watched is self.search and key in moves:
                QApplication.sendEvent(self.cards, event)
                return True
            text = event.text()
            shortcut = event.modifiers() & (
                Qt.KeyboardModifier.ControlModifier
                | Qt.KeyboardModifier.AltModifier
                | Qt.KeyboardModifier.MetaModifier
            )
            if watched is self.cards and text.strip() and text.isprintable() and not shortcut:
                self.search.setFocus()
                self.search.insert(text)
                return True
        return super().eventFilter(watched, event)

    # -- the choice --------------------------------------------------------------------------

    def accept(self) -> None:
        """Create from the selected card (nothing happens when no card is selected)."""
        name = self.current_name()
        if name is None:
            return
        self._chosen = name
        super().accept()

    def reject(self) -> None:
        self._chosen = None
        super().reject()

    def chosen_name(self) -> str | None:
        """The chosen template's name, :data:`EMPTY` for the empty model, None if cancelled."""
        return self._chosen

    def chosen_graph(self) -> Graph:
        """A fresh graph of the choice (an empty :class:`Graph` for the empty model).

        Raises:
            LookupError: Nothing was chosen (the dialog was cancelled or is still open).
        """
        if self._chosen is None:
            raise LookupError("No template was chosen.")
        return Graph() if self._chosen == EMPTY else load_template(self._chosen)

    @classmethod
    def pick(cls, parent: QWidget | None = None) -> Graph | None:
        """Show the gallery; the chosen model's graph, or None when cancelled."""
        dialog = cls(parent)
        try:
            if dialog.exec() == QDialog.DialogCode.Accepted:
                return dialog.chosen_graph()
            return None
        finally:
            dialog.model_view.show_graph(None)
            dialog.deleteLater()

    def event(self, event: QEvent) -> bool:
        """Draw the pictures again for a new palette or a screen of another pixel density."""
        redraw = (QEvent.Type.PaletteChange, QEvent.Type.DevicePixelRatioChange)
        if event.type() in redraw and self._previews:
            self._previews.clear()
            for item in self.items():
                item.setIcon(self.preview(str(item.data(_NAME_ROLE))))
        return super().event(event)
