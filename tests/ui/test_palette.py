"""The layer palette: categories, search as you type, icons, tooltips, drag data, keyboard."""

from __future__ import annotations

from PySide6.QtCore import Qt

from core.catalog import by_category, tooltip
from core.layers import all_specs
from ui.icons import kind_icon, kind_label
from ui.palette import KIND_MIME_TYPE, PalettePanel, kind_from_mime, kind_mime_data


def make(qtbot) -> PalettePanel:
    panel = PalettePanel()
    qtbot.addWidget(panel)
    panel.resize(260, 640)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def test_every_kind_sits_in_its_category_with_icon_and_tooltip(qtbot) -> None:
    panel = make(qtbot)
    root = panel.tree.invisibleRootItem()
    groups = [root.child(i).text(0) for i in range(root.childCount())]
    assert groups == list(by_category())
    assert groups[0] == "Core" and panel.visible_kinds()[:2] == ["Input", "Output"]
    assert sorted(panel.visible_kinds()) == sorted(s.kind for s in all_specs())
    for item in panel.kind_items():
        kind = item.text(0)
        assert item.toolTip(0) == tooltip(kind)
        assert not item.icon(0).isNull()
        assert item.parent().text(0) == next(s.category for s in all_specs() if s.kind == kind)


def test_typing_filters_as_you_type_and_clearing_shows_all(qtbot) -> None:
    panel = make(qtbot)
    everything = panel.visible_kinds()
    qtbot.keyClicks(panel.search, "conv")
    kinds = panel.visible_kinds()
    assert kinds and all("Conv" in k for k in kinds)
    assert "Dense" not in kinds
    root = panel.tree.invisibleRootItem()
    shown_groups = [root.child(i).text(0) for i in range(root.childCount())]
    assert [
        g
        for g in shown_groups
        if not panel.tree.findItems(g, Qt.MatchFlag.MatchExactly)[0].isHidden()
    ] == ["Convolution"]
    panel.search.clear()
    assert panel.visible_kinds() == everything


def test_search_reads_help_and_categories_word_by_word(qtbot) -> None:
    panel = make(qtbot)
    qtbot.keyClicks(panel.search, "pooling 2D")
    assert set(panel.visible_kinds()) == {
        "MaxPooling2D",
        "AveragePooling2D",
        "GlobalAveragePooling2D",
        "GlobalMaxPooling2D",
    }
    panel.search.clear()
    qtbot.keyClicks(panel.search, "overfitting")  # words of the help lines find kinds too
    assert "Dropout" in panel.visible_kinds()
    panel.search.clear()
    qtbot.keyClicks(panel.search, "zzz no such layer")
    assert panel.visible_kinds() == []


def test_enter_in_the_search_adds_the_first_match(qtbot) -> None:
    panel = make(qtbot)
    qtbot.keyClicks(panel.search, "dense")
    with qtbot.waitSignal(panel.kind_activated) as signal:
        qtbot.keyClick(panel.search, Qt.Key.Key_Return)
    assert signal.args == ["Dense"]


def test_the_keyboard_alone_moves_into_the_list_and_picks(qtbot) -> None:
    panel = make(qtbot)
    panel.search.setFocus()
    qtbot.keyClicks(panel.search, "lstm")
    qtbot.keyClick(panel.search, Qt.Key.Key_Down)
    assert panel.focusWidget() is panel.tree
    with qtbot.waitSignal(panel.kind_activated) as signal:
        qtbot.keyClick(panel.tree, Qt.Key.Key_Return)
    assert signal.args == ["LSTM"]


def test_a_double_click_adds_the_layer(qtbot) -> None:
    panel = make(qtbot)
    item = next(i for i in panel.kind_items() if i.text(0) == "Conv2D")
    panel.tree.scrollToItem(item)
    rect = panel.tree.visualItemRect(item)
    with qtbot.waitSignal(panel.kind_activated) as signal:
        qtbot.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert signal.args == ["Conv2D"]


def test_a_drag_carries_the_kind_in_our_own_mime_type(qtbot) -> None:
    panel = make(qtbot)
    item = next(i for i in panel.kind_items() if i.text(0) == "MaxPooling2D")
    data = panel.tree.mimeData([item])
    assert data.hasFormat(KIND_MIME_TYPE)
    assert kind_from_mime(data) == "MaxPooling2D"
    assert panel.tree.mimeTypes() == [KIND_MIME_TYPE]
    assert kind_from_mime(kind_mime_data("Dense")) == "Dense"
    group = item.parent()
    assert not group.flags() & Qt.ItemFlag.ItemIsDragEnabled  # categories are not layers


def test_icons_have_short_labels(qtbot) -> None:
    assert kind_label("Conv2D") == "C2"
    assert kind_label("Dense") == "De"
    assert kind_label("MaxPooling2D") == "MP2"
    assert kind_label("LSTM") == "LS"
    assert kind_icon("Dense").availableSizes()
