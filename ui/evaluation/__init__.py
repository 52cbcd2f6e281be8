"""The Evaluate and Try it pages: test metrics, the confusion matrix, sample predictions, and a
model asked about a drawing, an image file or a table row."""

from ui.evaluation.canvas import DrawingCanvas
from ui.evaluation.confusion import ConfusionView
from ui.evaluation.gallery import PredictionGallery
from ui.evaluation.panel import EvaluationPanel
from ui.evaluation.try_it import TryItPanel
from ui.evaluation.worker import EvaluationWorker

__all__ = [
    "ConfusionView",
    "DrawingCanvas",
    "EvaluationPanel",
    "EvaluationWorker",
    "PredictionGallery",
    "TryItPanel",
]
