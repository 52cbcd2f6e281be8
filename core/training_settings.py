"""Training settings in Keras's words: optimizer, loss, metrics, and the knobs of the fit loop.

Names and defaults are Keras 3's, so tutorials read the same here. Settings travel as the
studio's own JSON (``to_json``/``from_json``, which refuses anything it cannot vouch for, since
files are untrusted) and as a Keras ``training_config`` (:mod:`core.keras_training`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.graph import Graph

OptionValue = float | bool

# Keras 3 defaults (the tests check them against keras.optimizers.get(name).get_config()).
_BETAS: dict[str, OptionValue] = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
OPTIMIZERS: dict[str, dict[str, OptionValue]] = {
    "sgd": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
    "adam": {"learning_rate": 0.001, **_BETAS, "amsgrad": False},
    "adamw": {"learning_rate": 0.001, "weight_decay": 0.004, **_BETAS, "amsgrad": False},
    "rmsprop": dict(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False),
    "adagrad": {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7},
    "adadelta": {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7},
    "nadam": {"learning_rate": 0.001, **_BETAS},
}
_CLASS_NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Nadam"]
OPTIMIZER_CLASSES: dict[str, str] = dict(zip(OPTIMIZERS, _CLASS_NAMES, strict=True))
LOSSES: dict[str, str] = {  # canonical Keras name -> one line of help
    "categorical_crossentropy": "Pick one class of several; targets are one-hot rows.",
    "sparse_categorical_crossentropy": "Pick one class of several; targets are class numbers.",
    "binary_crossentropy": "Yes/no answers (one or more); targets are 0 or 1.",
    "mean_squared_error": "Predict numbers; big misses count much more than small ones.",
    "mean_absolute_error": "Predict numbers; every miss counts by its size.",
    "huber": "Predict numbers; like squared error, but calm about a few wild misses.",
    "kl_divergence": "Match a probability distribution.",
}
LOSS_ALIASES: dict[str, str] = dict(mse="mean_squared_error", mae="mean_absolute_error")
LOSS_ALIASES |= dict(bce="binary_crossentropy", kld="kl_divergence", huber_loss="huber")
LOSS_ALIASES |= dict(kullback_leibler_divergence="kl_divergence")
METRICS: dict[str, str] = {  # canonical Keras name -> one line of help
    "accuracy": "How often the prediction is right (Keras picks the kind from the loss).",
    "categorical_accuracy": "How often the top class matches a one-hot target.",
    "sparse_categorical_accuracy": "How often the top class matches a class-number target.",
    "binary_accuracy": "How often a yes/no answer (threshold 0.5) is right.",
    "top_k_categorical_accuracy": "How often the target is among the 5 likeliest classes.",
    "sparse_top_k_categorical_accuracy": "Top-5 accuracy for class-number targets.",
    "precision": "Of the answers 'yes', how many were right.",
    "recall": "Of the real 'yes' cases, how many were found.",
    "f1_score": "Balance of precision and recall, per class.",
    "auc": "Area under the ROC curve: how well yes and no cases are ranked.",
    "mean_absolute_error": "Average size of a miss.",
    "mean_squared_error": "Average squared miss.",
    "r2_score": "How much of the targets' variation the model explains (1 is perfect).",
}
METRIC_ALIASES = {"acc": "accuracy", "mae": "mean_absolute_error", "mse": "mean_squared_error"}
DEVICES = ("auto", "cpu", "cuda", "mps")
DEFAULT_LOSS = "categorical_crossentropy"
MAX_NAME_LENGTH = 200
MAX_OUTPUTS = 1000
MAX_METRICS = 50
# Allowed range of every number: (lowest, lowest allowed?, highest, highest allowed?).
_UNIT = (0.0, True, 1.0, False)
_CLIP = (0.0, False, 1e6, True)
_LIMITS: dict[str, tuple[float, bool, float, bool]] = {
    **dict.fromkeys(("beta_1", "beta_2", "rho", "validation_split"), _UNIT),
    **dict.fromkeys(("clipnorm", "clipvalue"), _CLIP),
    "learning_rate": (0.0, False, 10.0, True),
    "momentum": (0.0, True, 1.0, True),
    "epsilon": (0.0, False, 1.0, True),
    "weight_decay": (0.0, True, 1.0, True),
    "initial_accumulator_value": (0.0, True, 1000.0, True),
}


def _norm(name: str) -> str:
    return name.lower().replace("_", "")


_OPTIMIZER_KEYS = {_norm(n): n for n in OPTIMIZERS}
_LOSS_KEYS = {_norm(n): n for n in LOSSES} | {_norm(a): n for a, n in LOSS_ALIASES.items()}
_METRIC_KEYS = {_norm(n): n for n in METRICS} | {_norm(a): n for a, n in METRIC_ALIASES.items()}


def _lookup(name: object, keys: Mapping[str, str]) -> str | None:
    if isinstance(name, str) and len(name) <= MAX_NAME_LENGTH:
        return keys.get(_norm(name))
    return None


def canonical_optimizer(name: object) -> str | None:
    """The studio's name of an optimizer (``"Adam"`` and ``"adam_w"`` work too), or None."""
    return _lookup(name, _OPTIMIZER_KEYS)


def canonical_loss(name: object) -> str | None:
    """The canonical Keras name of a loss (``"mse"`` gives ``"mean_squared_error"``), or None."""
    return _lookup(name, _LOSS_KEYS)


def canonical_metric(name: object) -> str | None:
    """The canonical Keras name of a metric (``"acc"`` gives ``"accuracy"``), or None."""
    return _lookup(name, _METRIC_KEYS)


class SettingsError(ValueError):
    """Training settings the studio refuses; ``problems`` lists every reason, in plain words."""

    def __init__(self, problems: list[str]) -> None:
        text = "These training settings cannot be used:\n" + "\n".join(f"- {p}" for p in problems)
        super().__init__(text)
        self.problems = problems


def show_value(value: object) -> str:
    """A short, safe description of any value, for a message."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "...")
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "nothing"}[value]
    if isinstance(value, int):
        return repr(value) if abs(value) < 10**15 else "a very large number"
    if isinstance(value, float):
        return repr(value)
    return "a list" if isinstance(value, list) else "a table" if isinstance(value, dict) else "?"


def checked_number(value: object, key: str, label: str, problems: list[str]) -> float | None:
    """``value`` as a float within ``key``'s range, or None after adding a problem."""
    low, low_ok, high, high_ok = _LIMITS[key]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        x = float(value) if abs(value) < 1e300 else math.inf
        if (low <= x if low_ok else low < x) and (x <= high if high_ok else x < high):
            return x  # NaN fails both comparisons
    low_text = f"{'at least' if low_ok else 'more than'} {low:,g}"
    high_text = f"{'at most' if high_ok else 'less than'} {high:,.0f}"
    problems.append(
        f"{label} must be a number {low_text} and {high_text} (it is {show_value(value)})."
    )
    return None


def _integer(value: object, label: str, low: int, high: int, problems: list[str]) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    problems.append(
        f"{label} must be a whole number from {low:,} to {high:,} (it is {show_value(value)})."
    )
    return None


def _unknown(what: str, value: object, choices: Sequence[str]) -> str:
    if isinstance(value, str):
        return f"The {what} {show_value(value)} is not known; use one of: {', '.join(choices)}."
    return f"The {what} must be a name, one of: {', '.join(choices)} (it is {show_value(value)})."


def is_name(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_NAME_LENGTH


def _check_loss(value: object, problems: list[str]) -> str | dict[str, str] | None:
    if not isinstance(value, dict):
        loss = canonical_loss(value)
        if loss is None:
            problems.append(_unknown("loss", value, list(LOSSES)))
        return loss
    if not 0 < len(value) <= MAX_OUTPUTS:
        problems.append(f"A loss per output needs 1 to {MAX_OUTPUTS} outputs.")
    losses: dict[str, str] = {}
    for output, name in list(value.items())[:MAX_OUTPUTS]:
        if not is_name(output):
            problems.append(
                f"The output name {show_value(output)} in the loss is not a short text."
            )
        elif (loss := canonical_loss(name)) is None:
            problems.append(_unknown(f"loss for output {show_value(output)}", name, list(LOSSES)))
        else:
            losses[output] = loss
    return losses


def _check_metrics(value: object, problems: list[str]) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_METRICS:
        problems.append(f"The metrics must be a list of at most {MAX_METRICS} metric names.")
        return []
    for item in value:
        if canonical_metric(item) is None:
            problems.append(_unknown("metric", item, list(METRICS)))
    return list(dict.fromkeys(m for m in map(canonical_metric, value) if m))


def _check(raw: Mapping[str, object]) -> tuple[dict[str, Any], list[str]]:
    """Every field of ``raw`` checked and normalized (defaults for missing ones), and problems."""
    p: list[str] = []
    out: dict[str, Any] = {"optimizer": canonical_optimizer(raw.get("optimizer", "adam"))}
    if out["optimizer"] is None:
        p.append(_unknown("optimizer", raw.get("optimizer"), list(OPTIMIZERS)))
    defaults = OPTIMIZERS[out["optimizer"] or "adam"]
    lr = raw.get("learning_rate", defaults["learning_rate"])
    out["learning_rate"] = checked_number(lr, "learning_rate", "The learning rate", p)
    options = raw.get("optimizer_options", {})
    if not isinstance(options, dict) or len(options) > len(defaults):
        p.append("The optimizer options must be a table of its option names and values.")
        options = {}
    out["optimizer_options"] = {}
    for key, value in options.items():
        if key not in defaults or key == "learning_rate":
            known = ", ".join(k for k in defaults if k != "learning_rate")
            p.append(
                f"{show_value(key)} is not an option of this optimizer (its options: {known})."
            )
        elif not isinstance(defaults[key], bool):
            out["optimizer_options"][key] = checked_number(value, key, f"The option {key!r}", p)
        elif isinstance(value, bool):
            out["optimizer_options"][key] = value
        else:
            p.append(f"The option {key!r} must be true or false (it is {show_value(value)}).")
    for key in ("clipnorm", "clipvalue"):
        value = raw.get(key)
        out[key] = (
            None if value is None else checked_number(value, key, f"{key} (gradient clipping)", p)
        )
    out["loss"] = _check_loss(raw.get("loss", DEFAULT_LOSS), p)
    out["metrics"] = _check_metrics(raw.get("metrics", ["accuracy"]), p)
    out["epochs"] = _integer(raw.get("epochs", 10), "The number of epochs", 1, 100_000, p)
    out["batch_size"] = _integer(raw.get("batch_size", 32), "The batch size", 1, 1_000_000, p)
    split = raw.get("validation_split", 0.2)
    out["validation_split"] = checked_number(split, "validation_split", "The validation split", p)
    out["shuffle"] = raw.get("shuffle", True)
    if not isinstance(out["shuffle"], bool):
        p.append(f"Shuffle must be true or false (it is {show_value(out['shuffle'])}).")
    out["seed"] = seed = raw.get("seed", 0)
    if seed is not None:
        out["seed"] = _integer(seed, "The random seed", 0, 2**32 - 1, p)
    out["device"] = raw.get("device", "auto")
    if out["device"] not in DEVICES:
        p.append(_unknown("device", out["device"], DEVICES))
    return out, p


@dataclass
class TrainingSettings:
    """How a model is trained, in Keras's words. Construction checks every value.

    Attributes:
        optimizer: A name from ``OPTIMIZERS`` (``"adam"``).
        learning_rate: Step size. Leave it out for the optimizer's Keras default.
        optimizer_options: The optimizer's other options; missing ones take Keras's defaults.
        clipnorm: Largest gradient norm per weight, or None for no clipping.
        clipvalue: Largest gradient value, or None for no clipping.
        loss: A name from ``LOSSES``, or a name per output name for several outputs.
        metrics: Names from ``METRICS``, measured on every output.
        epochs: Passes over the training data.
        batch_size: Samples per step.
        validation_split: Share of the data kept aside to check the model, in [0, 1).
        shuffle: Whether the training samples are shuffled every epoch.
        seed: Seed for weights, shuffling and the split; None for a different run each time.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"mps"``.

    Raises:
        SettingsError: On construction (``dataclasses.replace`` too), for any bad value.
    """

    optimizer: str = "adam"
    learning_rate: float = math.nan  # NaN: the optimizer's Keras default
    optimizer_options: dict[str, OptionValue] = field(default_factory=dict)
    clipnorm: float | None = None
    clipvalue: float | None = None
    loss: str | dict[str, str] = DEFAULT_LOSS
    metrics: list[str] = field(default_factory=lambda: ["accuracy"])
    epochs: int = 10
    batch_size: int = 32
    validation_split: float = 0.2
    shuffle: bool = True
    seed: int | None = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        raw = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if isinstance(self.learning_rate, float) and math.isnan(self.learning_rate):
            del raw["learning_rate"]
        values, problems = _check(raw)
        if problems:
            raise SettingsError(problems)
        for key, value in values.items():
            setattr(self, key, value)

    def with_optimizer(self, name: str) -> TrainingSettings:
        """A copy that uses optimizer ``name`` with its Keras default learning rate and options."""
        changes: dict[str, Any] = dict(optimizer=name, learning_rate=math.nan, optimizer_options={})
        return dataclasses.replace(self, **changes)

    def all_optimizer_options(self) -> dict[str, OptionValue]:
        """Every option of the optimizer, learning rate included, defaults filled in."""
        options = OPTIMIZERS[self.optimizer] | self.optimizer_options
        return options | {"learning_rate": self.learning_rate}

    def loss_for(self, output_name: str) -> str:
        """The loss of one output.

        Raises:
            SettingsError: When the loss is set per output, but not for this one.
        """
        if isinstance(self.loss, str):
            return self.loss
        if output_name not in self.loss:
            raise SettingsError([f"Choose a loss for the output {output_name!r}."])
        return self.loss[output_name]

    def to_json(self) -> dict[str, Any]:
        """The settings as plain JSON types (a fresh copy); ``from_json`` reads them back."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: object) -> TrainingSettings:
        """Settings from JSON written by ``to_json``; missing keys take their defaults.

        Raises:
            SettingsError: With every problem found, for any other value (files are untrusted).
        """
        if not isinstance(data, dict):
            raise SettingsError(["The training settings must be a table of names and values."])
        names = {f.name for f in dataclasses.fields(cls)}
        problems = [
            f"{show_value(key)} is not a training setting." for key in data if key not in names
        ]
        values, more = _check(data)
        if problems + more:
            raise SettingsError(problems + more)
        return cls(**values)


def suggest_settings(graph: Graph, seed: int | None = 0) -> tuple[TrainingSettings, str]:
    """Training settings that fit a model's outputs, and a sentence saying why.

    The loss follows what each output layer ends with, as the Keras tutorials pair them:
    softmax -> categorical crossentropy, sigmoid -> binary crossentropy, anything else is a
    regression -> mean squared error. Data-based choices (sparse labels) come later.
    """
    losses: dict[str, str] = {}
    reasons = []
    for node in graph.nodes.values():
        edge = graph.in_edges(node.id).get(0) if node.kind == "Output" else None
        if edge is None:
            continue
        activation = graph.nodes[edge.src].params.get("activation", "linear")
        chosen = _LOSS_FOR_ACTIVATION.get(activation, "mean_squared_error")
        losses[node.name] = chosen
        reasons.append(f"{graph.nodes[edge.src].name} ends with {activation}, so {chosen}")
    kinds = set(losses.values())
    metrics = ["accuracy"] if kinds & {"categorical_crossentropy", "binary_crossentropy"} else []
    if "mean_squared_error" in kinds:
        metrics.append("mean_absolute_error")
    loss: str | dict[str, str] = losses
    if len(kinds) <= 1:
        loss = kinds.pop() if kinds else DEFAULT_LOSS
    why = "; ".join(reasons) + "." if reasons else "The model has no output yet."
    return TrainingSettings(loss=loss, metrics=metrics, seed=seed), why[0].upper() + why[1:]


_LOSS_FOR_ACTIVATION = {"softmax": "categorical_crossentropy", "sigmoid": "binary_crossentropy"}
