"""Training settings picked from the model and the data, each choice with its reason in words.

:func:`core.training_settings.suggest_settings` reads the model alone (a softmax output means
categorical crossentropy). With the data in hand more can be said: class numbers as labels are
what ``sparse_categorical_crossentropy`` takes, a table of numbers to predict wants mean
squared error whatever the last layer ends with, and the size of the data sets sensible batch
sizes and epoch counts.
"""

from __future__ import annotations

import dataclasses

from core.data.dataset import Dataset
from core.graph import Graph
from core.training_settings import TrainingSettings, suggest_settings


def _batch_size(samples: int) -> int:
    if samples < 2_000:
        return 16 if samples < 500 else 32
    return 64 if samples < 50_000 else 128


def _epochs(samples: int) -> int:
    """About 2,000 to 5,000 steps for small sets, fewer passes over big ones."""
    if samples < 500:
        return 100
    if samples < 5_000:
        return 30
    return 10 if samples < 100_000 else 5


def _last_layer(graph: Graph) -> str:
    """The name of the layer that feeds the (first) Output, quoted, or "The model"."""
    for node in graph.nodes.values():
        edge = graph.in_edges(node.id).get(0) if node.kind == "Output" else None
        if edge is not None:
            return f"'{graph.nodes[edge.src].name}'"
    return "The model"


def suggest_for_data(
    graph: Graph, data: Dataset | None, seed: int | None = 0
) -> tuple[TrainingSettings, list[str]]:
    """Settings for training ``graph`` on ``data`` and one sentence per choice.

    Without data this is :func:`suggest_settings`. A model with several outputs keeps one loss
    per output from the model.
    """
    settings, why = suggest_settings(graph, seed)
    reasons = [why]
    if data is None or isinstance(settings.loss, dict):
        return settings, reasons
    changes: dict[str, object] = {}
    loss = settings.loss
    if data.task == "regression":
        if loss != "mean_squared_error":
            reasons = [
                "The data has numbers to predict (a regression), so mean_squared_error; "
                "the last layer should have no activation (linear)."
            ]
        changes |= {"loss": "mean_squared_error", "metrics": ["mean_absolute_error"]}
    elif loss == "categorical_crossentropy" and data.y.ndim == 1:
        changes["loss"] = "sparse_categorical_crossentropy"
        last = _last_layer(graph)
        reasons = [
            f"{last} ends with softmax and the labels are class numbers, so "
            "sparse_categorical_crossentropy."
        ]
    elif loss == "mean_squared_error" and data.num_classes:
        reasons.append(
            f"The data has {data.num_classes} classes: for classification the last Dense "
            "usually ends with softmax (the loss then becomes a crossentropy)."
        )
    n = len(data)
    batch, epochs = _batch_size(n), _epochs(n)
    changes |= {"batch_size": batch, "epochs": epochs}
    reasons.append(f"{n:,} samples: batches of {batch}, {epochs} epochs to start with.")
    return dataclasses.replace(settings, **changes), reasons  # type: ignore[arg-type]
