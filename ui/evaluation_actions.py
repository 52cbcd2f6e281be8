"""The Evaluate and Try it pages' part of the window: they catch up with the model when the
weights or the data change, never while a run trains them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QStatusBar
from torch import fx

from core.compile import model_info
from core.data.dataset import DataError, Dataset
from core.evaluation import Predictor
from core.training import Trainer, TrainingError
from core.training_settings import TrainingSettings
from ui.data.panel import DataPanel
from ui.evaluation.panel import EvaluationPanel
from ui.evaluation.try_it import TryItPanel
from ui.training.session import TrainingSession

if TYPE_CHECKING:
    from ui.editor.scene import GraphScene


class EvaluationActions:
    """Keeps the Evaluate and Try it pages up to date for a :class:`~ui.main_window.MainWindow`."""

    scene: GraphScene | None
    module: fx.GraphModule | None
    module_key: str | None
    training: TrainingSettings
    history_values: dict[str, list[float | None]]
    session: TrainingSession
    data_panel: DataPanel
    evaluation_panel: EvaluationPanel
    try_panel: TryItPanel
    evaluated_state: tuple[int, int] | None
    weights_version: int

    if TYPE_CHECKING:  # the window's own

        def statusBar(self) -> QStatusBar: ...

    def evaluation_data(self) -> Dataset | None:
        """The test part of the data, or the validation part when there is no test part."""
        splits = self.data_panel.splits()
        if splits is None:
            return None
        return splits.test or splits.validation

    def refresh_evaluation(self) -> None:
        """Evaluate the model again and give Try it a new snapshot of it, when the weights or
        the data changed since the pages last showed them (never during a run)."""
        if self.session.running or self.evaluation_panel.busy or self.scene is None:
            return
        splits = self.data_panel.splits()
        state = (self.weights_version, id(splits))
        if state == self.evaluated_state:
            return
        trainer = self._evaluation_trainer()
        data = self.evaluation_data()
        if trainer is None or splits is None:
            text = (
                "Train the model first (Train page), then its results show here."
                if splits is not None
                else "Choose data on the Data page and train the model; its results show here."
            )
            self.evaluation_panel.show_message(text)
            self.try_panel.set_model(None)
            return
        self.evaluated_state = state
        loaded = self.data_panel.loaded()
        pipeline = loaded.pipeline if loaded is not None else None
        try:
            self.try_panel.set_model(Predictor.from_trainer(trainer, splits.train, pipeline))
        except DataError as err:
            self.try_panel.set_model(None)
            self.statusBar().showMessage(str(err), 8000)
        if data is None:
            self.evaluation_panel.show_message(
                "There is no validation or test part to evaluate on: set a share on the Data page."
            )
            return
        self.evaluation_panel.evaluate(trainer, data)

    def _evaluation_trainer(self) -> Trainer | None:
        """The last run's trainer, or one for weights that came from a file."""
        trainer = self.session.trainer
        if trainer is not None and trainer.module is self.module:
            return trainer
        if self.module is None or self.module_key is None or self.scene is None:
            return None
        if not self.history_values:  # an untrained model: nothing worth evaluating
            return None
        outputs = [self.scene.graph.nodes[i].name for i in model_info(self.module).outputs]
        try:
            return Trainer(self.module, self.training, output_names=outputs)
        except TrainingError:
            return None
