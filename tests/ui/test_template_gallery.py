"""The "New model" gallery: cards with pictures, search, keyboard and mouse, details, choice."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QIcon, QImage, QPalette
from PySide6.QtWidgets import QApplication, QDialog, QListWidgetItem

from core.compile import compile_graph
from core.graph import Graph
from core.templates import list_templates, load_template, template_names
from ui.editor.scene import GraphScene
from ui.template_gallery import (
    EMPTY,
    PREVIEW_SIZE,
    TemplateGalleryDialog,
    readable_title,
    render_preview,
)
from ui.theme import apply_theme, dark_palette


def make(qtbot, palette: QPalette | None = None) -> TemplateGalleryDialog:
    dialog = TemplateGalleryDialog()
    if palette is not None:
        dialog.setPalette(palette)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def card(dialog: TemplateGalleryDialog, name: str) -> QListWidgetItem:
    return next(i for i in dialog.items() if i.data(Qt.ItemDataRole.UserRole) == name)


def lightness(image: QImage) -> float:
    """The mean lightness of an image, sampled on a grid."""
    points = [(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)]
    return sum(image.pixelColor(x, y).lightnessF() for x, y in points) / len(points)


def bright_share(image: QImage) -> float:
    """The share of near-white pixels (a layer's face drawn light, or text on a dark face)."""
    points = [(x, y) for x in range(image.width()) for y in range(image.height())]
    return sum(image.pixelColor(x, y).lightnessF() > 0.85 for x, y in points) / len(points)


def keras_parameter_count(graph: Graph) -> int:
    """Parameters counted on the compiled module, as Keras counts them: every parameter except
    the ones torch alone has (an LSTM's second bias, marked ``keras_redundant``), plus float
    buffers such as running statistics (Keras's non-trainable weights)."""
    module = compile_graph(graph, seed=0)
    params = sum(p.numel() for p in module.parameters() if not getattr(p, "keras_redundant", False))
    return params + sum(b.numel() for b in module.buffers() if b.is_floating_point())


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("mnist_cnn", "MNIST CNN"),
        ("mlp", "MLP"),
        ("sequence_cnn", "Sequence CNN"),
        ("text_classifier", "Text Classifier"),
        ("autoencoder", "Autoencoder"),
        ("lstm-2d_model", "LSTM 2D Model"),
    ],
)
def test_names_become_readable_titles(name: str, title: str) -> None:
    assert readable_title(name) == title


def test_every_template_has_a_card_with_a_picture_and_empty_comes_first(qtbot) -> None:
    dialog = make(qtbot)
    assert dialog.windowTitle() == "New model"
    assert [b.text() for b in dialog.buttons.buttons()] == ["Create", "Cancel"]
    assert dialog.visible_names() == [EMPTY, *template_names()]
    assert dialog.items()[0].text() == "Empty model"
    for info in list_templates():
        item = card(dialog, info.name)
        assert item.text() == readable_title(info.name)
        assert item.toolTip() == info.description
        assert not item.icon().isNull()
        picture = item.icon().pixmap(PREVIEW_SIZE)
        assert not picture.isNull()
        # The graph was drawn: many colours (layers' category stripes, text), not a blank card.
        image = picture.toImage()
        colours = {
            image.pixel(x, y) for x in range(image.width()) for y in range(0, image.height(), 3)
        }
        assert len(colours) > 20, info.name
    assert not dialog.items()[0].icon().isNull()
    assert dialog.preview("mlp").cacheKey() == dialog.preview("mlp").cacheKey()  # made once


def test_pictures_are_sharp_on_dense_screens_and_centred(qtbot) -> None:
    palette = QApplication.palette()
    picture = render_preview(load_template("mlp"), PREVIEW_SIZE, palette, 2.0)
    assert picture.devicePixelRatio() == 2.0
    assert picture.size() == PREVIEW_SIZE * 2
    image = picture.toImage()
    background = image.pixelColor(image.width() // 2, 12)  # the card, above the graph
    columns = [
        x
        for x in range(image.width())
        if any(image.pixelColor(x, y) != background for y in range(40, image.height() - 40, 2))
    ]
    left, right = columns[0], image.width() - 1 - columns[-1]
    assert abs(left - right) <= 0.05 * image.width()


def test_first_card_is_selected_and_described(qtbot) -> None:
    dialog = make(qtbot)
    assert dialog.current_name() == EMPTY
    assert dialog.title.text() == "Empty model"
    assert dialog.facts.text() == "No layers yet"
    assert dialog.create_button.isEnabled() and dialog.create_button.isDefault()
    assert dialog.focusWidget() is dialog.search


def test_typing_filters_and_enter_chooses_the_selected_card(qtbot) -> None:
    dialog = make(qtbot)
    qtbot.keyClicks(dialog.search, "grayscale images")
    expected = [
        i.name
        for i in list_templates()
        if "grayscale" in i.description.lower() and "images" in i.description.lower()
    ]
    assert dialog.visible_names() == expected and "mlp" not in expected
    assert card(dialog, "mlp").isHidden() and card(dialog, EMPTY).isHidden()
    assert dialog.current_name() == expected[0]  # the selection moved to the first match
    dialog.search.clear()
    qtbot.keyClicks(dialog.search, "sentiment")
    assert dialog.visible_names() == ["text_classifier"]
    with qtbot.waitSignal(dialog.accepted):
        qtbot.keyClick(dialog.search, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.chosen_name() == "text_classifier"
    assert dialog.chosen_graph().to_dict() == load_template("text_classifier").to_dict()
    assert dialog.chosen_graph() is not dialog.chosen_graph()  # a fresh graph each time


def test_no_match_disables_create_and_enter_does_nothing(qtbot) -> None:
    dialog = make(qtbot)
    qtbot.keyClicks(dialog.search, "zzz no such model")
    assert dialog.visible_names() == []
    assert not dialog.create_button.isEnabled()
    assert dialog.title.text() == "No template matches"
    qtbot.keyClick(dialog.search, Qt.Key.Key_Return)
    assert dialog.isVisible() and dialog.chosen_name() is None
    dialog.search.clear()
    assert dialog.create_button.isEnabled() and dialog.current_name() == EMPTY


def test_arrow_keys_move_between_cards_and_typing_in_the_cards_searches(qtbot) -> None:
    dialog = make(qtbot)
    qtbot.keyClick(dialog.search, Qt.Key.Key_Down)  # from the search field: the card below
    below = dialog.current_name()
    assert below not in (None, EMPTY)
    assert dialog.title.text() == readable_title(below or "")
    qtbot.keyClick(dialog.search, Qt.Key.Key_Up)
    assert dialog.current_name() == EMPTY
    dialog.cards.setFocus()
    qtbot.keyClick(dialog.cards, Qt.Key.Key_Right)
    assert dialog.current_name() == template_names()[0]
    qtbot.keyClicks(dialog.cards, "iris")  # words of the description find templates too
    assert dialog.search.text() == "iris" and dialog.focusWidget() is dialog.search
    assert dialog.visible_names() == ["mlp"]
    with qtbot.waitSignal(dialog.accepted):
        qtbot.keyClick(dialog.search, Qt.Key.Key_Enter)
    assert dialog.chosen_name() == "mlp"


def test_enter_in_the_cards_chooses(qtbot) -> None:
    dialog = make(qtbot)
    dialog.cards.setFocus()
    qtbot.keyClick(dialog.cards, Qt.Key.Key_End)
    with qtbot.waitSignal(dialog.accepted):
        qtbot.keyClick(dialog.cards, Qt.Key.Key_Return)
    assert dialog.chosen_name() == template_names()[-1]


def test_double_click_chooses(qtbot) -> None:
    dialog = make(qtbot)
    item = card(dialog, "residual")
    where = dialog.cards.visualItemRect(item).center()
    with qtbot.waitSignal(dialog.accepted):
        qtbot.mouseClick(dialog.cards.viewport(), Qt.MouseButton.LeftButton, pos=where)
        qtbot.mouseDClick(dialog.cards.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert dialog.chosen_name() == "residual"
    assert dialog.chosen_graph().to_dict() == load_template("residual").to_dict()


def test_empty_model_gives_an_empty_graph(qtbot) -> None:
    dialog = make(qtbot)
    with qtbot.waitSignal(dialog.accepted):
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert dialog.chosen_name() == EMPTY
    graph = dialog.chosen_graph()
    assert not graph.nodes and not graph.edges


def test_escape_cancels(qtbot) -> None:
    dialog = make(qtbot)
    qtbot.keyClicks(dialog.search, "mlp")
    with qtbot.waitSignal(dialog.rejected):
        qtbot.keyClick(dialog.search, Qt.Key.Key_Escape)
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert dialog.chosen_name() is None
    with pytest.raises(LookupError):
        dialog.chosen_graph()


def test_details_show_description_layers_and_the_keras_parameter_count(qtbot) -> None:
    dialog = make(qtbot)
    for info in list_templates():
        dialog.cards.setCurrentItem(card(dialog, info.name))
        graph = load_template(info.name)
        layers = sum(1 for n in graph.nodes.values() if n.kind not in ("Input", "Output"))
        count = keras_parameter_count(graph)
        assert dialog.title.text() == readable_title(info.name)
        assert dialog.description.text() == info.description
        assert dialog.facts.text() == f"{layers} layers · {count:,} parameters", info.name
        assert dialog.model_view.isVisible()
        assert dialog.model_view.graph_scene is not None
        assert len(dialog.model_view.graph_scene.nodes) == len(graph.nodes)
    # The count Keras's own summary prints for its MNIST tutorial network.
    dialog.cards.setCurrentItem(card(dialog, "mnist_cnn"))
    assert "1,199,882 parameters" in dialog.facts.text()


def test_pick_returns_the_chosen_graph_or_none(qtbot) -> None:
    def answer(keys: str, key: Qt.Key) -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, TemplateGalleryDialog):
            QTimer.singleShot(10, lambda: answer(keys, key))
            return
        qtbot.keyClicks(dialog.search, keys)
        qtbot.keyClick(dialog.search, key)

    QTimer.singleShot(0, lambda: answer("multilayer", Qt.Key.Key_Return))
    graph = TemplateGalleryDialog.pick()
    assert graph is not None and graph.to_dict() == load_template("mlp").to_dict()
    QTimer.singleShot(0, lambda: answer("mlp", Qt.Key.Key_Escape))
    assert TemplateGalleryDialog.pick() is None


def test_pictures_follow_a_dark_palette(qtbot, tmp_path) -> None:
    light = make(qtbot)
    dark = make(qtbot, dark_palette())
    for name in template_names():
        bright = lightness(light.preview(name).pixmap(PREVIEW_SIZE).toImage())
        dim = lightness(dark.preview(name).pixmap(PREVIEW_SIZE).toImage())
        assert dim < 0.3 < 0.6 < bright, name
        # The layers' faces are dark too, not only the card: few near-white pixels are left
        # (drawn without the palette, light faces cover 5-17% of a picture).
        assert bright_share(dark.preview(name).pixmap(PREVIEW_SIZE).toImage()) < 0.03, name
    for dialog, path in ((light, tmp_path / "light.png"), (dark, tmp_path / "dark.png")):
        dialog.cards.setCurrentItem(card(dialog, "residual"))
        assert dialog.grab().save(str(path)) and path.stat().st_size > 10_000


def test_a_switch_of_the_application_theme_redraws_the_pictures(qtbot, restore_palette) -> None:
    app = QApplication.instance()
    apply_theme(app, "light")
    dialog = make(qtbot)
    dialog.cards.setCurrentItem(card(dialog, "mlp"))
    assert lightness(card(dialog, "mlp").icon().pixmap(PREVIEW_SIZE).toImage()) > 0.6
    apply_theme(app, "dark")
    qtbot.waitUntil(
        lambda: lightness(card(dialog, "mlp").icon().pixmap(PREVIEW_SIZE).toImage()) < 0.3
    )
    scene, reference = dialog.model_view.graph_scene, GraphScene(Graph())
    reference.apply_palette(dark_palette())
    assert scene is not None and scene.wire_colour == reference.wire_colour  # wires follow too


def test_the_selected_card_is_framed(qtbot) -> None:
    dialog = make(qtbot)
    icon = card(dialog, "mlp").icon()
    normal = icon.pixmap(PREVIEW_SIZE, QIcon.Mode.Normal).toImage()
    selected = icon.pixmap(PREVIEW_SIZE, QIcon.Mode.Selected).toImage()
    assert normal != selected
    highlight = dialog.palette().highlight().color()
    edge = selected.pixelColor(QPoint(selected.width() // 2, 1))
    assert abs(edge.hueF() - highlight.hueF()) < 0.05
