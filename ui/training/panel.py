"""The Train page: settings on the left; Train, Pause and Stop with a progress bar on top; the
live curves in the middle. The window supplies the model and the data (``trainRequested``)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from core.training_settings import TrainingSettings
from ui.side_column import side_column
from ui.training.curves import CurvesPanel
from ui.training.session import TrainingSession
from ui.training.settings_form import TrainingSettingsForm
from ui.training.worker import BatchProgress, Outcome


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "…"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class TrainingPanel(QWidget):
    """Shows a :class:`TrainingSession`: its settings, controls, progress and curves.

    Signals:
        trainRequested(): Train was pressed; the window starts the session (or says why not).
    """

    trainRequested = Signal()

    def __init__(self, session: TrainingSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.form = TrainingSettingsForm()
        self.curves = CurvesPanel()
        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("train")
        self.train_button.setDefault(True)
        self.train_button.setToolTip("model.fit: train for the epochs set on the left")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("pause")
        self.pause_button.setCheckable(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stop")
        self.stop_button.setToolTip("Stop after this batch; the model keeps what it learnt")
        style = self.style()
        for button, icon in (
            (self.train_button, QStyle.StandardPixmap.SP_MediaPlay),
            (self.pause_button, QStyle.StandardPixmap.SP_MediaPause),
            (self.stop_button, QStyle.StandardPixmap.SP_MediaStop),
        ):
            button.setIcon(style.standardIcon(icon))
        self.progress = QProgressBar()
        self.progress.setObjectName("progress")
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setFormat("Ready")
        self.progress.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.status = QLabel("Press Train to start.")
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        self.data_line = QLabel("No data chosen yet: pick some on the Data page.")
        self.data_line.setObjectName("data_line")
        self.data_line.setWordWrap(True)

        settings_box = QGroupBox("compile and fit")
        box_layout = QVBoxLayout(settings_box)
        box_layout.addWidget(self.form)
        data_box = QGroupBox("Data")
        QVBoxLayout(data_box).addWidget(self.data_line)
        scroll = side_column((settings_box, data_box), (335, 380))

        controls = QHBoxLayout()
        for button in (self.train_button, self.pause_button, self.stop_button):
            controls.addWidget(button)
        controls.addWidget(self.progress, 1)
        right = QVBoxLayout()
        right.addLayout(controls)
        right.addWidget(self.status)
        right.addWidget(self.message)
        right.addWidget(self.curves, 1)
        layout = QHBoxLayout(self)
        layout.addWidget(scroll)
        layout.addLayout(right, 1)

        self.train_button.clicked.connect(self.trainRequested)
        self.pause_button.toggled.connect(self._pause_toggled)
        self.stop_button.clicked.connect(self.session.stop)
        session.started.connect(self._started)
        session.progressed.connect(self._progressed)
        session.epochEnded.connect(self._epoch_ended)
        session.finished.connect(self._finished)
        session.runningChanged.connect(self._running_changed)
        self._running_changed(False)

    # -- what the window calls ----------------------------------------------------------------

    def set_settings(self, settings: TrainingSettings, reasons: list[str]) -> None:
        self.form.set_settings(settings, reasons)

    def set_data_line(self, text: str) -> None:
        self.data_line.setText(text)

    def begin_run(self, label: str, metrics: list[str], batches: int) -> None:
        """A run is about to start: a new set of curves (earlier runs stay, dimmed)."""
        self.curves.start_run(label, metrics, batches)
        self.message.hide()
        self.progress.setValue(0)
        self.progress.setFormat("Starting…")

    def say(self, text: str, error: bool = False) -> None:
        """A message above the curves (red for an error)."""
        self.message.setText(text)
        self.message.setStyleSheet("color: #d0342c;" if error else "")
        self.message.show()

    # -- the session's signals ----------------------------------------------------------------

    def _running_changed(self, running: bool) -> None:
        self.train_button.setEnabled(not running)
        self.form.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        if not running:
            self.pause_button.blockSignals(True)
            self.pause_button.setChecked(False)
            self.pause_button.setText("Pause")
            self.pause_button.blockSignals(False)

    def _pause_toggled(self, paused: bool) -> None:
        if paused:
            self.session.pause()
            self.pause_button.setText("Resume")
            self.pause_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
            self.progress.setFormat(self.progress.format() + " · paused")
        else:
            self.session.resume()
            self.pause_button.setText("Pause")
            self.pause_button.setIcon(
                self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause)
            )

    def _started(self, text: str) -> None:
        self.status.setText(text)

    def _progressed(self, progress: BatchProgress) -> None:
        if progress.points:
            self.curves.add_batches(progress.points)
        self.progress.setValue(round(progress.fraction * 1000))
        paused = " · paused" if self.session.paused else ""
        self.progress.setFormat(
            f"Epoch {progress.run_epoch + 1}/{progress.epochs} · batch {progress.step}/"
            f"{progress.batches} · {progress.samples_per_second:,.0f} samples/s · "
            f"ETA {_duration(progress.eta)}{paused}"
        )

    def _epoch_ended(self, epoch: int, record: Mapping[str, float]) -> None:
        self.curves.add_epoch(epoch, record)

    def _finished(self, outcome: Outcome) -> None:
        if outcome.state == "done":
            self.progress.setValue(1000)
        self.progress.setFormat(outcome.message)
        if outcome.state == "failed":
            self.say(outcome.message, error=True)
        elif outcome.state == "stopped":
            self.say(outcome.message)
