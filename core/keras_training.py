"""Training settings to and from a Keras ``training_config`` (keras-h5.md §4).

Written so that Keras 2 and Keras 3 both compile from it; read from either, with a plain note
for whatever the studio does not have (the settings keep their defaults there).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from core.training_settings import (
    DEFAULT_LOSS,
    MAX_METRICS,
    MAX_OUTPUTS,
    OPTIMIZER_CLASSES,
    OPTIMIZERS,
    OptionValue,
    SettingsError,
    TrainingSettings,
    canonical_loss,
    canonical_metric,
    canonical_optimizer,
    checked_number,
    is_name,
    show_value,
)

# Metrics that Keras 2 finds by class name only (it cannot look up "precision").
_KERAS_METRIC_IDS = dict(precision="Precision", recall="Recall", auc="AUC")
_KERAS_METRIC_IDS |= dict(f1_score="F1Score", r2_score="R2Score")


def to_keras_training_config(
    settings: TrainingSettings, output_names: Sequence[str]
) -> dict[str, Any]:
    """The ``training_config`` that Keras 3 and Keras 2 compile a loaded ``.h5`` model from.

    Only keys that both accept are written: Keras 2 builds its legacy optimizers from a config
    without ``is_legacy_optimizer``, and Keras 3 refuses that key, so no ``weight_decay`` but
    AdamW's; metrics go by names both can look up (``"Precision"``, not ``"precision"``).

    Args:
        settings: The settings to write.
        output_names: The model's output layer names, in order.

    Raises:
        SettingsError: When there is no output, or the loss is per output and misses one.
    """
    names = list(output_names)
    if not names or len(set(names)) != len(names) or not all(map(is_name, names)):
        raise SettingsError(["The model needs at least one output, each with its own name."])
    losses = {name: settings.loss_for(name) for name in names}
    metrics = [_KERAS_METRIC_IDS.get(m, m) for m in settings.metrics]
    config: dict[str, Any] = {"name": settings.optimizer} | settings.all_optimizer_options()
    config |= {"clipnorm": settings.clipnorm, "clipvalue": settings.clipvalue}
    single = len(names) == 1
    return {
        "loss": losses[names[0]] if single else losses,
        "loss_weights": None,
        "metrics": (metrics if single else {n: list(metrics) for n in names}) if metrics else None,
        "weighted_metrics": None,
        "optimizer_config": {"class_name": OPTIMIZER_CLASSES[settings.optimizer], "config": config},
    }


def _tidy(x: float) -> float:
    """0.0010000000474974513 (a float32 that Keras wrote) back to 0.001."""
    return float(str(np.float32(x))) if float(np.float32(x)) == x else x


def _readchecked_number(value: object, key: str) -> float | None:
    return None if (x := checked_number(value, key, "", [])) is None else _tidy(x)


def _schedule_start(schedule: dict[Any, Any], notes: list[str]) -> object:
    """The starting learning rate of a serialized schedule (``ExponentialDecay``...)."""
    inner = schedule["config"] if isinstance(schedule.get("config"), dict) else {}
    start = inner.get("initial_learning_rate")
    if start is None and isinstance(inner.get("values"), list) and inner["values"]:
        start = inner["values"][0]  # PiecewiseConstantDecay
    x, kind = _readchecked_number(start, "learning_rate"), show_value(schedule.get("class_name"))
    fixed = "the optimizer's default" if x is None else f"its starting value {x:g}"
    notes.append(f"The file's learning rate changes ({kind}); the studio keeps it at {fixed}.")
    return start


_LOGITS = "the studio's takes probabilities, so end the model with softmax or sigmoid."
_UNSUPPORTED = {  # optimizer config key -> what it does, in words; left out unless off
    "weight_decay": "weight decay (the studio has it with AdamW only)",
    "global_clipnorm": "clipping by the global gradient norm",
    "use_ema": "an average of the weights (use_ema)",
    "decay": "a learning rate that drops over time (decay)",
    "gradient_accumulation_steps": "gradient accumulation",
    "loss_scale_factor": "loss scaling",
}


def _read_optimizer(oc: object, values: dict[str, Any], notes: list[str]) -> None:
    oc = oc if isinstance(oc, dict) else {}
    name = oc.get("class_name")
    short = name[7:] if isinstance(name, str) and name.lower().startswith("custom>") else name
    optimizer = canonical_optimizer(short) if isinstance(short, str) and ">" not in short else None
    if optimizer is None:
        what = (
            f"optimizer {show_value(short)} is not in the studio"
            if name
            else "optimizer is unclear"
        )
        notes.append(f"The file's {what}; using Adam.")
        return
    cfg: dict[Any, Any] = oc["config"] if isinstance(oc.get("config"), dict) else {}
    values["optimizer"], defaults, options = optimizer, OPTIMIZERS[optimizer], {}
    lr = cfg.get("learning_rate", cfg.get("lr"))  # "lr": Keras 2 before 2.3
    if isinstance(lr, dict):
        lr = _schedule_start(lr, notes)
    for key, default in (defaults | {"clipnorm": None, "clipvalue": None}).items():
        value = lr if key == "learning_rate" else cfg.get(key)
        if value is None:
            continue
        parsed: OptionValue | None = value if isinstance(value, bool) else None
        if not isinstance(default, bool):
            parsed = _readchecked_number(value, key)
        if parsed is None:
            keep = "no clipping" if default is None else f"Keras's default {default}"
            notes.append(f"The file's {key} {show_value(value)} cannot be used; using {keep}.")
        elif key in ("learning_rate", "clipnorm", "clipvalue"):
            values[key] = parsed
        elif parsed != default:
            options[key] = parsed
    values["optimizer_options"] = options
    for key, what in _UNSUPPORTED.items():
        value = cfg.get(key)
        off = value in (None, False, 0) or (key == "gradient_accumulation_steps" and value == 1)
        if key not in defaults and not off:
            notes.append(f"The file's optimizer uses {what}; the studio leaves that out.")


def _names(value: object) -> list[object]:
    """The names a (serialized) loss or metric goes by, best first."""
    if not isinstance(value, dict):
        return [value]
    kind, cfg = value.get("class_name"), value.get("config")
    if kind == "function":  # Keras 2's serialized plain function
        return [cfg]
    if kind in ("MeanMetricWrapper", "LossFunctionWrapper") and isinstance(cfg, dict):
        return [cfg.get("name"), cfg.get("fn")]  # Keras 2: "accuracy", "categorical_accuracy"
    return [kind]


def _read_one_loss(value: object, output: object, notes: list[str]) -> str:
    where = "" if output is None else f" for output {show_value(output)}"
    loss = next(filter(None, map(canonical_loss, _names(value))), None)
    if loss is None:
        shown = show_value(_names(value)[0])
        notes.append(f"The file's loss {shown}{where} is not in the studio; using {DEFAULT_LOSS}.")
        return DEFAULT_LOSS
    cfg = value.get("config") if isinstance(value, dict) else None
    cfg = cfg if isinstance(cfg, dict) else {}
    if cfg.get("from_logits") not in (None, False):
        notes.append(f"The file's loss{where} takes raw scores (from_logits); {_LOGITS}")
    if cfg.get("label_smoothing") not in (None, 0):
        notes.append(f"The file's loss{where} uses label smoothing; the studio leaves that out.")
    if loss == "huber" and cfg.get("delta") not in (None, 1):
        notes.append(f"The file's Huber loss{where} has another delta; the studio uses 1.")
    return loss


def _read_loss(value: object, notes: list[str]) -> str | dict[str, str]:
    if isinstance(value, dict) and "class_name" not in value:  # a loss per output name
        items = list(value.items())[:MAX_OUTPUTS]
        losses = {k: _read_one_loss(v, k, notes) for k, v in items if is_name(k)}
        if len(losses) != len(value):
            notes.append("Some of the file's losses per output are not readable; left out.")
        return losses or DEFAULT_LOSS
    if isinstance(value, list) and value:  # a loss per output, in output order
        in_order = [_read_one_loss(v, None, notes) for v in value[:MAX_OUTPUTS]]
        if len(set(in_order)) > 1:
            notes.append(f"The file gives unnamed losses per output; using {in_order[0]} for all.")
        return in_order[0]
    if value is None or value == []:
        notes.append(f"The file does not say which loss to use; using {DEFAULT_LOSS}.")
        return DEFAULT_LOSS
    return _read_one_loss(value, None, notes)


def _read_metrics(value: object, notes: list[str], depth: int = 0) -> list[str]:
    """Every metric the file names, in nested lists and per-output tables too."""
    if value is None or depth > 8:
        return []
    if isinstance(value, list) or (isinstance(value, dict) and "class_name" not in value):
        items = list(value.values() if isinstance(value, dict) else value)[:MAX_METRICS]
        parts = [_read_metrics(v, notes, depth + 1) for v in items]
        if isinstance(value, dict) and len({frozenset(p) for p in parts}) > 1:
            notes.append("The file measures different metrics per output; the studio, all on all.")
        return list(dict.fromkeys(m for part in parts for m in part))
    metric = next(filter(None, map(canonical_metric, _names(value))), None)
    if metric is None:
        shown = show_value(_names(value)[0])
        notes.append(f"The file's metric {shown} is not in the studio; it is left out.")
    return [metric] if metric else []


def from_keras_training_config(config: object) -> tuple[TrainingSettings, list[str]]:
    """Settings from a Keras 2 or Keras 3 ``training_config`` (its JSON text or its value).

    Whatever the studio does not have keeps the studio's default. Never raises.

    Returns:
        The settings, and plain sentences for the user on what could not be carried over.
    """
    if isinstance(config, (str, bytes)):
        try:
            config = json.loads(config)
        except (ValueError, RecursionError):
            config = None
    if not isinstance(config, dict):
        return TrainingSettings(), ["The file's training settings are unreadable; using defaults."]
    notes: list[str] = []
    values: dict[str, Any] = {}
    _read_optimizer(config.get("optimizer_config"), values, notes)
    values["loss"] = _read_loss(config.get("loss"), notes)
    values["metrics"] = _read_metrics(config.get("metrics"), notes)
    if config.get("loss_weights") not in (None, [], {}):
        notes.append("The file weighs its outputs' losses; the studio weighs them all alike.")
    if config.get("weighted_metrics") not in (None, [], {}):
        notes.append("The file measures weighted metrics; the studio leaves them out.")
    try:
        return TrainingSettings(**values), list(dict.fromkeys(notes))
    except SettingsError as err:  # a safety net: every value above was checked already
        return TrainingSettings(), [*dict.fromkeys(notes), *err.problems]
