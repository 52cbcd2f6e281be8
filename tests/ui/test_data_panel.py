"""The Data page: samples, the CSV wizard, image folders, broken files, splits and the fit."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog
from pytestqt.qtbot import QtBot

from core.data.spec import LoadedData
from core.fit_checks import Adapted, check_fit
from core.templates import load_template
from core.training_settings import TrainingSettings
from ui.data import CsvWizard, DataPanel
from ui.data.panel import FITS
from ui.data.source_form import SETTLE_MS
from ui.data.style import tone_colour
from ui.theme import apply_theme

WAIT = 20_000  # ms; loading sklearn the first time takes a few seconds on a busy machine


@pytest.fixture
def settings() -> TrainingSettings:
    return TrainingSettings()


@pytest.fixture
def panel(qtbot: QtBot, settings: TrainingSettings) -> DataPanel:
    widget = DataPanel()
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.set_model(load_template("mlp"), settings)
    widget.show()
    return widget


def choose_sample(qtbot: QtBot, panel: DataPanel, name: str) -> None:
    combo = panel.source.samples.sample_combo
    with qtbot.waitSignal(panel.dataChanged, timeout=WAIT):
        combo.setCurrentIndex(combo.findData(name))


def wait_idle(qtbot: QtBot, panel: DataPanel) -> None:
    qtbot.waitUntil(lambda: not panel.worker.busy, timeout=WAIT)


def error_shown(panel: DataPanel) -> bool:
    return panel.error.isVisible() and panel.error.property("tone") == "error"


# -- built-in samples ------------------------------------------------------------------------


def test_iris_from_the_combo_is_described_and_fits_the_mlp(qtbot: QtBot, panel: DataPanel) -> None:
    assert panel.loaded() is None and panel.spec() is None and not panel.fits()
    assert "Choose some data" in panel.fit_label.text()
    choose_sample(qtbot, panel, "iris")
    assert panel.spec() == "iris"
    headline = panel.summary.headline.text()
    assert "iris: 150 samples of shape 4." in headline and "3 classes." in headline
    assert "species" in panel.source.samples.about.text()
    assert panel.summary.balance.counts() == {"setosa": 50, "versicolor": 50, "virginica": 50}
    assert "standardised" in panel.summary.notes.text()
    assert panel.fit_label.text() == FITS and panel.fits()
    assert panel.fit_label.property("tone") == "good"
    assert not panel.fix_button.isEnabled()
    splits = panel.splits()
    assert splits is not None and splits.validation is not None and splits.test is None
    assert (len(splits.train), len(splits.validation)) == (120, 30)
    assert panel.split_sizes.text() == "Train 120 · validation 30 · no test samples."
    assert panel.summary.pictures.isHidden()  # a table has no pictures


def test_digits_does_not_fit_the_mlp_and_fix_gives_a_model_that_does(
    qtbot: QtBot, panel: DataPanel, settings: TrainingSettings
) -> None:
    choose_sample(qtbot, panel, "digits")
    assert not panel.fits()
    assert len(panel.problems()) == 2
    text = panel.fit_label.text()
    assert "set its shape to 1×8×8" in text and "set it to 10" in text
    assert panel.fit_label.property("tone") == "error"
    assert panel.fix_button.isEnabled()
    with qtbot.waitSignal(panel.adaptRequested, timeout=1000) as blocker:
        qtbot.mouseClick(panel.fix_button, Qt.MouseButton.LeftButton)
    adapted = blocker.args[0]
    assert isinstance(adapted, Adapted) and adapted.changes
    loaded = panel.loaded()
    assert loaded is not None
    assert check_fit(adapted.graph, loaded.train, settings) == []
    panel.set_model(adapted.graph, settings)  # what the window does after applying it
    assert panel.fits() and panel.fit_label.text() == FITS
    # the pictures: a row per digit, 8 of each, as the model sees them
    rows = panel.summary.pictures.classes()
    assert [r.name for r in rows] == [str(d) for d in range(10)]
    assert all(len(r.pictures) == 8 for r in rows)
    assert len(panel.summary.pictures.thumbnail_labels()) == 80
    assert panel.summary.pictures.captions()[0] == "0: 178 samples"


def test_options_of_a_generated_sample_make_the_data_again(qtbot: QtBot, panel: DataPanel) -> None:
    choose_sample(qtbot, panel, "moons")
    fields = panel.source.samples.option_fields
    assert set(fields) == {"samples", "noise", "seed"}
    assert fields["samples"].value() == 1000 and fields["noise"].value() == pytest.approx(0.1)
    assert panel.spec() == "moons:samples=1000,noise=0.1,seed=0"
    with qtbot.waitSignal(panel.dataChanged, timeout=WAIT):
        fields["samples"].setValue(300)
    assert panel.spec() == "moons:samples=300,noise=0.1,seed=0"
    loaded = panel.loaded()
    assert loaded is not None and len(loaded.train) == 300
    assert "Generated with samples=300" in panel.summary.notes.text()


def test_a_newer_choice_wins_over_a_slower_older_one(qtbot: QtBot, panel: DataPanel) -> None:
    changes: list[str | None] = []
    panel.dataChanged.connect(lambda: changes.append(panel.spec()))
    combo = panel.source.samples.sample_combo
    combo.setCurrentIndex(combo.findData("wine"))
    combo.setCurrentIndex(combo.findData("xor"))
    wait_idle(qtbot, panel)
    assert changes == ["xor:samples=1000,noise=0.1,seed=0"]


def test_show_spec_sets_the_widgets_and_loads(qtbot: QtBot, panel: DataPanel) -> None:
    with qtbot.waitSignal(panel.dataChanged, timeout=WAIT):
        panel.show_spec("blobs:samples=200,noise=0.3,classes=4,seed=5")
    samples = panel.source.samples
    assert samples.name() == "blobs"
    assert samples.values() == {"samples": 200, "noise": 0.3, "classes": 4, "seed": 5}
    assert panel.summary.balance.counts() == {f"cloud {k}": 50 for k in range(1, 5)}
    loads: list[bool] = []
    panel.busyChanged.connect(loads.append)
    qtbot.wait(SETTLE_MS + 200)
    assert loads == []  # setting the widgets started no second load


# -- the CSV wizard --------------------------------------------------------------------------


def write_csv(path: Path) -> None:
    lines = ["height,city,species,notes,width,member"]
    cities = ["Paris", "Rome", "Oslo"]
    for i in range(30):
        width = "" if i == 4 else f"{1 + i % 5}.5"
        member = "yes" if i % 3 else "no"
        lines.append(f"{10 + i},{cities[i % 3]},{['setosa', 'virginica'][i % 2]},,{width},{member}")
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode("utf-8"))


def test_a_csv_through_the_wizard(
    qtbot: QtBot, panel: DataPanel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "plants.csv"
    write_csv(path)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    panel.source.kind_combo.setCurrentIndex(panel.source.kind_combo.findData("csv"))
    assert panel.source.csv_page.isVisible() and not panel.source.samples.isVisible()
    qtbot.mouseClick(panel.source.csv_page.button, Qt.MouseButton.LeftButton)
    wizard = panel.source.csv_wizard
    assert isinstance(wizard, CsvWizard)
    qtbot.waitUntil(lambda: not wizard._worker.busy, timeout=WAIT)
    assert "byte-order mark" in wizard.found.text() and "comma" in wizard.found.text()
    table = wizard.preview_table
    assert table.rowCount() == 20 and table.columnCount() == 6
    assert table.item(0, 1).text() == "Paris"
    assert wizard.target() == "member"  # the reader's default: the last column

    with qtbot.waitSignal(wizard.rolesReady, timeout=WAIT):
        wizard.target_combo.setCurrentIndex(wizard.target_combo.findText("species"))
    assert table.horizontalHeaderItem(2).text() == "species (target)"
    roles = {r.name: r for r in wizard.roles()}
    assert roles["height"].role == "numeric" and "standardised" in roles["height"].text
    assert roles["city"].role == "categorical" and "3 categories" in roles["city"].text
    assert roles["species"].role == "target" and "2 classes" in roles["species"].text
    assert roles["notes"].role == "dropped"
    assert roles["member"].role == "boolean"
    shown = wizard.columns_table
    assert [shown.item(r, 0).text() for r in range(shown.rowCount())] == [
        "height",
        "city",
        "species",
        "notes",
        "width",
        "member",
    ]
    assert shown.item(3, 1).text() == "dropped"
    assert "29 rows" in wizard.status.text()  # the row with a missing width is dropped

    with qtbot.waitSignal(wizard.rolesReady, timeout=WAIT):
        wizard.missing_combo.setCurrentIndex(wizard.missing_combo.findData("fill"))
    assert "30 rows" in wizard.status.text()
    ready = wizard.loaded()
    assert ready is not None
    with qtbot.waitSignal(panel.dataChanged, timeout=WAIT):
        qtbot.mouseClick(wizard.ok_button, Qt.MouseButton.LeftButton)
    assert panel.spec() == f"{path}:target=species,missing=fill"
    loaded = panel.loaded()
    assert loaded is ready  # the wizard's read is used, not read a third time
    assert loaded.train.class_names == ["setosa", "virginica"] and len(loaded.train) == 30
    assert "Predicting 'species'" in panel.source.csv_choice.text()
    assert panel.source.csv_wizard is None  # closed, and let go
    assert not panel.fits()  # 6 features (city one-hot: 3) against the mlp's 4
    assert "set its shape to 6" in panel.fit_label.text()


def test_the_wizard_says_why_a_choice_cannot_work(qtbot: QtBot, tmp_path: Path) -> None:
    from core.data.csv_format import preview_csv

    path = tmp_path / "plants.csv"
    write_csv(path)
    wizard = CsvWizard(preview_csv(path), target="species")
    qtbot.addWidget(wizard)
    qtbot.waitUntil(lambda: not wizard._worker.busy, timeout=WAIT)
    with qtbot.waitSignal(wizard.rolesReady, timeout=WAIT):
        wizard.task_combo.setCurrentIndex(wizard.task_combo.findData("regression"))
    assert "holds text" in wizard.status.text()
    assert wizard.status.property("tone") == "error"
    assert not wizard.ok_button.isEnabled() and wizard.roles() == []


def test_a_file_that_is_not_a_csv_says_so_without_a_wizard(
    qtbot: QtBot, panel: DataPanel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sheet.csv"
    path.write_bytes(b"PK\x03\x04 a spreadsheet in disguise")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    panel.source.kind_combo.setCurrentIndex(panel.source.kind_combo.findData("csv"))
    with qtbot.waitSignal(panel.loadFailed, timeout=1000):
        qtbot.mouseClick(panel.source.csv_page.button, Qt.MouseButton.LeftButton)
    assert panel.source.csv_wizard is None
    assert error_shown(panel) and "spreadsheet" in panel.error.text()


# -- image folders, NumPy and MNIST files ----------------------------------------------------


def write_images(root: Path) -> None:
    for name, count, colour in (("cats", 3, (200, 50, 50)), ("dogs", 2, (50, 50, 200))):
        (root / name).mkdir(parents=True)
        for i in range(count):
            pixels = np.full((12, 10, 3), colour, dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    (root / "cats" / "broken.png").write_bytes(b"this is not a PNG")


def test_an_image_folder_shows_classes_counts_pictures_and_the_bad_file(
    qtbot: QtBot, panel: DataPanel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "pets"
    write_images(root)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(root))
    source = panel.source
    source.kind_combo.setCurrentIndex(source.kind_combo.findData("images"))
    with qtbot.waitSignal(panel.dataChanged, timeout=WAIT):
        qtbot.mouseClick(source.images_page.button, Qt.MouseButton.LeftButton)
    assert panel.spec() == f"{root}:size=32x32,color=rgb"
    pictures = panel.summary.pictures
    assert pictures.isVisible() and pictures.title.text() == "Pictures from the folder"
    assert pictures.captions() == ["cats: 3 samples", "dogs: 2 samples"]
    assert len(pictures.thumbnail_labels()) == 5
    assert panel.summary.balance.counts() == {"cats": 3, "dogs": 2}
    notes = panel.summary.notes.text()
    assert "could not be read" in notes and "cats/broken.png" in notes
    assert "3×32×32" in panel.summary.headline.text()

    with qtbot.waitSignal(panel.dataChanged, timeout=WAIT):
        source.color_combo.setCurrentIndex(source.color_combo.findData("grayscale"))
        source.height_spin.setValue(16)
    assert panel.spec() == f"{root}:size=16x32,color=grayscale"
    assert "1×16×32" in panel.summary.headline.text()


def test_a_broken_npz_is_a_red_sentence_and_the_data_stays(
    qtbot: QtBot, panel: DataPanel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    choose_sample(qtbot, panel, "iris")
    before = panel.loaded()
    path = tmp_path / "broken.npz"
    path.write_bytes(bytes(range(256)) * 4)  # garbage, not a zip of arrays
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    panel.source.kind_combo.setCurrentIndex(panel.source.kind_combo.findData("npz"))
    with qtbot.waitSignal(panel.loadFailed, timeout=WAIT) as blocker:
        qtbot.mouseClick(panel.source.npz_page.button, Qt.MouseButton.LeftButton)
    message = blocker.args[0]
    assert "broken.npz" in message and "The data in use is still iris." in message
    assert error_shown(panel) and panel.error.text() == message
    assert panel.spec() == "iris" and panel.loaded() is before
    assert "iris: 150 samples" in panel.summary.headline.text()
    assert panel.fits()
    wait_idle(qtbot, panel)
    assert panel.busy.isHidden()
    panel.source.kind_combo.setCurrentIndex(panel.source.kind_combo.findData("sample"))
    choose_sample(qtbot, panel, "wine")  # a good load clears the message
    assert panel.error.isHidden()


def test_an_unexpected_failure_is_a_sentence_too(
    qtbot: QtBot, panel: DataPanel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(spec: str, pipeline: object = None) -> LoadedData:
        raise RuntimeError("the disk went away")

    monkeypatch.setattr("ui.data.panel.load_data", broken)
    with qtbot.waitSignal(panel.loadFailed, timeout=WAIT) as blocker:
        panel.load("iris")
    assert blocker.args[0] == "Could not read iris: the disk went away"
    assert error_shown(panel) and panel.loaded() is None


def test_an_npz_with_its_own_test_set(
    qtbot: QtBot, panel: DataPanel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "points.npz"
    np.savez(
        path,
        x_train=rng.normal(size=(40, 4)).astype(np.float32),
        y_train=np.arange(40) % 3,
        x_test=rng.normal(size=(9, 4)).astype(np.float32),
        y_test=np.arange(9) % 3,
    )
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    panel.source.kind_combo.setCurrentIndex(panel.source.kind_combo.findData("npz"))
    with qtbot.waitSignal(panel.dataChanged, timeout=WAIT):
        qtbot.mouseClick(panel.source.npz_page.button, Qt.MouseButton.LeftButton)
    loaded, splits = panel.loaded(), panel.splits()
    assert loaded is not None and splits is not None
    assert splits.test is loaded.test and not panel.test_spin.isEnabled()
    assert "own test set of 9 samples" in panel.summary.headline.text()
    assert panel.split_sizes.text() == "Train 32 · validation 8 · test 9 (the file's own) samples."
    assert panel.fits()


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_an_mnist_folder(
    qtbot: QtBot, panel: DataPanel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(1)
    write_idx(tmp_path / "train-images-idx3-ubyte", rng.integers(0, 255, (20, 6, 6)))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.arange(20) % 2)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    panel.source.kind_combo.setCurrentIndex(panel.source.kind_combo.findData("mnist"))
    with qtbot.waitSignal(panel.dataChanged, timeout=WAIT):
        qtbot.mouseClick(panel.source.mnist_page.button, Qt.MouseButton.LeftButton)
    assert panel.spec() == str(tmp_path)
    assert "20 samples of shape 1×6×6" in panel.summary.headline.text()
    assert panel.summary.pictures.captions() == ["0: 10 samples", "1: 10 samples"]


# -- the split -------------------------------------------------------------------------------


def test_split_spin_boxes_change_the_split_sizes(qtbot: QtBot, panel: DataPanel) -> None:
    choose_sample(qtbot, panel, "iris")
    with qtbot.waitSignal(panel.dataChanged, timeout=WAIT):
        panel.validation_spin.setValue(0.3)
    splits = panel.splits()
    assert splits is not None and splits.validation is not None
    assert (len(splits.train), len(splits.validation), splits.test) == (105, 45, None)
    with qtbot.waitSignal(panel.dataChanged, timeout=WAIT):
        panel.test_spin.setValue(0.2)
    splits = panel.splits()
    assert splits is not None and splits.test is not None
    assert (len(splits.train), len(splits.test)) == (75, 30)
    assert panel.split_sizes.text() == "Train 75 · validation 45 · test 30 samples."
    first = splits.train.y.copy()
    with qtbot.waitSignal(panel.dataChanged, timeout=WAIT):
        panel.seed_spin.setValue(7)
    again = panel.splits()
    assert again is not None and not np.array_equal(again.train.y, first)

    with qtbot.waitSignal(panel.loadFailed, timeout=WAIT) as blocker:  # nothing left to train
        panel.validation_spin.setValue(0.9)
    assert "leave some data to train on" in blocker.args[0]
    assert error_shown(panel) and panel.splits() is again
    panel.validation_spin.setValue(0.3)  # back to the split in use
    qtbot.waitUntil(panel.error.isHidden, timeout=1000)
    assert panel.splits() is again


def test_messages_take_the_dark_palette_colours(
    qtbot: QtBot, panel: DataPanel, restore_palette: None
) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, "light")
    choose_sample(qtbot, panel, "digits")
    light = tone_colour("error")
    assert panel.fit_label.styleSheet() == f"color: {light};"
    apply_theme(app, "dark")
    dark = tone_colour("error")
    assert light != dark
    qtbot.waitUntil(lambda: panel.fit_label.styleSheet() == f"color: {dark};", timeout=1000)
