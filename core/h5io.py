"""Model files: save a studio model to one ``.h5`` and open studio and Keras ``.h5`` files.

A studio file is a Keras legacy HDF5 model file (the Keras 2 profile of keras-h5.md §10, which
Keras 2 and Keras 3 both load) whenever every layer has a Keras counterpart. What Keras does
not know sits in the group ``/layer_studio``, which Keras ignores::

    /layer_studio          attrs: format, version
        graph, settings, history, info     JSON documents (fixed-length byte strings)
        weights/<node id>/<tensor>         only for a model Keras cannot express
        optimizer/<parameter>/<tensor>     optimizer state, when saved
        rng_state                          torch's random state, when saved

A file is written to a temporary file beside the target, then moved over it with
``os.replace``: a crash mid-save never harms the previous file. Every way opening can fail is
a :class:`~core.h5safe.ModelFileError`.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch import fx

from core.compile import compile_graph, model_info
from core.graph import Graph, GraphError
from core.h5safe import (
    ModelFileError,
    attr_int,
    attr_json,
    attr_names,
    attr_text,
    check_model_size,
    check_structure,
    child,
    contains,
    dataset_json,
    has_attr,
    names,
    open_h5,
    read_array,
)
from core.keras_format import (
    KERAS_BACKEND,
    KERAS_VERSION,
    KerasFormatError,
    KerasImport,
    graph_from_keras_config,
    keras_export_problems,
    keras_layer_weights,
    keras_model_config,
    keras_names,
    keras_output_names,
    load_keras_weights,
)
from core.keras_training import from_keras_training_config, to_keras_training_config
from core.optimizer_state import OptimizerState, read_optimizer_state, write_optimizer_state
from core.shapes import infer_shapes
from core.summary import summarize
from core.training_settings import SettingsError, TrainingSettings

FORMAT = "layer-studio-model"
FORMAT_VERSION = 1
STUDIO_GROUP = "layer_studio"
History = dict[str, list[float | None]]

__all__ = ["ModelFile", "ModelFileError", "load_model", "save_model"]


@dataclass
class ModelFile:
    """Everything a model file holds.

    Attributes:
        graph: The document, with its layout and notes.
        module: The model with its weights; None when the graph is not complete.
        training: The training settings (for a Keras file: its compile settings).
        history: Per-epoch values by Keras's names (``loss``, ``val_accuracy``...).
        optimizer: The optimizer's state, to continue training; None when not saved.
        rng_state: torch's random state at save time, to continue training exactly.
        keras_problems: Why Keras cannot open the file; empty when it can.
        origin: ``"studio"`` or ``"keras"`` (a file made by Keras itself).
        notes: What the user should know about how a Keras file was read.
        data: What the model was last trained on, as the trainer saved it: ``spec`` (the
            ``--data`` line), ``task``, ``class_names``, ``feature_names`` and, for a CSV,
            ``pipeline`` (:meth:`~core.data.table_pipeline.TablePipeline.to_dict`), so that
            new rows are encoded as the training rows were. Untrusted: check before use.
    """

    graph: Graph
    module: fx.GraphModule | None
    training: TrainingSettings = field(default_factory=TrainingSettings)
    history: History = field(default_factory=dict)
    optimizer: OptimizerState | None = None
    rng_state: np.ndarray | None = None
    keras_problems: list[str] = field(default_factory=list)
    origin: str = "studio"
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


# -- saving ----------------------------------------------------------------------------------


def save_model(
    path: str | Path,
    graph: Graph,
    module: fx.GraphModule | None = None,
    *,
    training: TrainingSettings | None = None,
    history: Mapping[str, list[float | None]] | None = None,
    optimizer: OptimizerState | None = None,
    rng_state: np.ndarray | torch.Tensor | None = None,
    data: Mapping[str, Any] | None = None,
) -> list[str]:
    """Save a model to ``path`` atomically.

    Args:
        path: The ``.h5`` file to write (replaced when it exists).
        graph: The document. An incomplete graph is saved too (without weights).
        module: The model made by :func:`~core.compile.compile_graph`; needed when the graph
            is complete.
        training: The training settings; None saves the defaults.
        history: Per-epoch values by name.
        optimizer: The optimizer's state (:func:`~core.optimizer_state.capture`).
        rng_state: ``torch.get_rng_state()``, to continue training exactly.
        data: What the model was trained on, as plain JSON values (see
            :attr:`ModelFile.data`).

    Returns:
        Why Keras cannot open the file; empty when it can.

    Raises:
        ModelFileError: The file cannot be written (the previous file, if any, is intact).
    """
    path = Path(path)
    report = infer_shapes(graph)
    if not report.errors and module is None:
        raise ValueError("save_model needs the compiled module of a complete graph.")
    training = training or TrainingSettings()
    keras_problems = keras_export_problems(graph, report)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as err:
        raise ModelFileError(f"Cannot save here: {err.strerror or err}.", path) from None
    try:
        with h5py.File(tmp, "w", libver=("v108", "latest")) as f:
            weights = "none"
            if module is not None and not report.errors:
                if keras_problems:
                    weights = "studio"
                    _write_studio_weights(f, graph, module)
                else:
                    weights = "keras"
                    _write_keras(f, graph, module, training)
            studio = f.require_group(STUDIO_GROUP)
            studio.attrs["format"] = FORMAT
            studio.attrs["version"] = FORMAT_VERSION
            _write_json(studio, "graph", graph.to_dict())
            _write_json(studio, "settings", training.to_json())
            _write_json(studio, "history", _plain_history(history or {}))
            info = {"weights": weights, "keras_problems": keras_problems}
            _write_json(studio, "info", info)
            if optimizer is not None and module is not None:
                write_optimizer_state(studio.create_group("optimizer"), optimizer)
            if data:
                _write_json(studio, "data", dict(data))
            if rng_state is not None:
                studio.create_dataset("rng_state", data=np.asarray(rng_state, dtype=np.uint8))
        with open(tmp, "rb+") as raw:
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise ModelFileError(f"Cannot save: {err.strerror or err}.", path) from None
        raise
    return keras_problems


def _plain_history(history: Mapping[str, list[float | None]]) -> History:
    """The history as JSON takes it: a diverged run's NaN or infinite values become None."""
    return {
        str(k): [v if v is None or math.isfinite(v) else None for v in values]
        for k, values in history.items()
    }


def _write_json(group: h5py.Group, name: str, value: Any) -> None:
    text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    group.create_dataset(name, data=np.bytes_(text.encode("utf-8")))


def _texts(values: list[str]) -> np.ndarray:
    return np.array([v.encode("utf-8") for v in values], dtype=h5py.string_dtype("utf-8"))


def _write_keras(
    f: h5py.File, graph: Graph, module: fx.GraphModule, training: TrainingSettings
) -> None:
    report = infer_shapes(graph)
    f.attrs["keras_version"] = KERAS_VERSION
    f.attrs["backend"] = KERAS_BACKEND
    f.attrs["model_config"] = json.dumps(keras_model_config(graph, report))
    by_output = keras_output_names(graph, report)  # Output node -> Keras output layer
    outputs = list(dict.fromkeys(by_output.values()))  # two Outputs may read one layer
    settings = training
    if isinstance(training.loss, dict):  # keyed by Output node name in the studio
        given = training.loss  # an Output renamed since keeps the first loss, not a crash
        fallback = next(iter(given.values()), "mean_squared_error")
        loss = {by_output[n]: given.get(graph.nodes[n].name, fallback) for n in by_output}
        settings = TrainingSettings.from_json({**training.to_json(), "loss": loss})
    f.attrs["training_config"] = json.dumps(to_keras_training_config(settings, outputs))
    weights = f.create_group("model_weights")
    layers = keras_layer_weights(module, graph, report)
    weights.attrs["layer_names"] = _texts([layer.group for layer in layers])
    weights.attrs["backend"] = KERAS_BACKEND
    weights.attrs["keras_version"] = KERAS_VERSION
    for layer in layers:
        group = weights.create_group(layer.group)
        group.attrs["weight_names"] = _texts([name for name, _ in layer.arrays])
        for name, array in layer.arrays:
            group.create_dataset(name, data=np.ascontiguousarray(array, dtype=np.float32))


def _write_studio_weights(f: h5py.File, graph: Graph, module: fx.GraphModule) -> None:
    root = f.create_group(f"{STUDIO_GROUP}/weights")
    for node_id, attr in model_info(module).modules.items():
        group = root.create_group(node_id)
        for key, tensor in module.get_submodule(attr).state_dict().items():
            group.create_dataset(key, data=tensor.detach().cpu().numpy())


# -- opening ---------------------------------------------------------------------------------


def load_model(path: str | Path) -> ModelFile:
    """Open a studio file or a Keras ``.h5`` file (Keras 2 or 3, Sequential or Functional).

    Raises:
        ModelFileError: With every reason the file cannot be opened; nothing is half-loaded.
    """
    try:
        with open_h5(path) as f:
            check_structure(f)
            if contains(f, STUDIO_GROUP):
                return _load_studio(f)
            if has_attr(f, "model_config"):
                return _load_keras(f)
            raise ModelFileError(
                "This HDF5 file holds no model: it has no model_config. (Files written by "
                "Keras's save_weights hold weights only.)"
            )
    except ModelFileError as err:
        if err.path is None:
            raise ModelFileError(err.problems, path) from None
        raise
    except (KerasFormatError, GraphError, SettingsError) as err:
        problems = getattr(err, "problems", None) or [str(err)]
        raise ModelFileError(problems, path) from None


def _load_studio(f: h5py.File) -> ModelFile:
    studio = child(f, STUDIO_GROUP, h5py.Group)
    if attr_text(studio, "format") != FORMAT:
        raise ModelFileError("The file's layer_studio part is not a studio model.")
    version = attr_int(studio, "version")
    if version is None or version < 1:
        raise ModelFileError("The file's layer_studio part has no valid version.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"This file was saved by a newer studio (file format {version}); please update."
        )
    graph = Graph.from_dict(dataset_json(studio, "graph"))
    training = TrainingSettings.from_json(dataset_json(studio, "settings"))
    history = _history(dataset_json(studio, "history"))
    info = dataset_json(studio, "info")
    if not isinstance(info, dict) or info.get("weights") not in ("none", "studio", "keras"):
        raise ModelFileError("The file's layer_studio/info is not what the studio writes.")
    problems = info.get("keras_problems")
    if not isinstance(problems, list) or not all(isinstance(p, str) for p in problems):
        raise ModelFileError("The file's layer_studio/info is not what the studio writes.")
    result = ModelFile(graph, None, training, history, keras_problems=problems)
    if contains(studio, "data"):
        data = dataset_json(studio, "data")
        if not isinstance(data, dict):
            raise ModelFileError("The file's layer_studio/data is not what the studio writes.")
        result.data = data
    report = infer_shapes(graph)
    if info["weights"] == "none":
        if not report.errors:
            raise ModelFileError("The file has a complete model but no weights.")
        return result
    if report.errors:
        raise ModelFileError("The file has weights for a model that is not complete.")
    check_model_size(summarize(graph, report).total, f)
    module = compile_graph(graph, report=report, initialise=False)
    if info["weights"] == "keras":
        names = keras_names(graph)
        groups = {names[n]: n for n in model_info(module).modules}
        weights = _read_keras_arrays(child(f, "model_weights", h5py.Group), groups, module)
        load_keras_weights(module, graph, KerasImport(graph, groups), weights)
    else:
        _read_studio_weights(studio, module)
    result.module = module
    if contains(studio, "optimizer"):
        result.optimizer = read_optimizer_state(child(studio, "optimizer", h5py.Group), module)
    if contains(studio, "rng_state"):
        size = torch.get_rng_state().numel()
        state = read_array(child(studio, "rng_state", h5py.Dataset), shape=(size,))
        if state.dtype != np.uint8:
            raise ModelFileError("The file's random state is not a list of bytes.")
        result.rng_state = state
    return result


def _history(value: Any) -> History:
    if not isinstance(value, dict) or len(value) > 1000:
        raise ModelFileError("The file's training history is not a table of numbers.")
    history: History = {}
    for key, values in value.items():
        ok = isinstance(values, list) and len(values) <= 10_000_000
        if not ok or not all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values
        ):
            raise ModelFileError(f"The training history's {str(key)[:50]!r} is not numbers.")
        history[str(key)] = [None if v is None else float(v) for v in values]
    return history


def _read_keras_arrays(
    group: h5py.Group, layers: Mapping[str, str], module: fx.GraphModule
) -> dict[str, list[np.ndarray]]:
    """The arrays of each Keras layer group (group name -> node id) that has a module.

    Each layer may hold at most as many numbers as its module, checked before reading, so a
    file that claims huge arrays fails at once.
    """
    attrs = model_info(module).modules
    present = set(attr_names(group, "layer_names")) | set(names(group))
    weights: dict[str, list[np.ndarray]] = {}
    for name, node_id in layers.items():
        if node_id not in attrs:
            continue
        if name not in present:
            weights[name] = []  # the layer then says which arrays it lacks
            continue
        capacity = sum(
            t.numel() for t in module.get_submodule(attrs[node_id]).state_dict().values()
        )
        layer_group = child(group, name, h5py.Group)
        arrays = []
        for weight_name in attr_names(layer_group, "weight_names"):
            dataset = child(layer_group, weight_name, h5py.Dataset)
            arrays.append(read_array(dataset, max_elements=capacity))
            capacity -= arrays[-1].size
        weights[name] = arrays
    return weights


def _read_studio_weights(studio: h5py.Group, module: fx.GraphModule) -> None:
    root = child(studio, "weights", h5py.Group)
    for node_id, attr in model_info(module).modules.items():
        state = module.get_submodule(attr).state_dict()
        if not state:
            continue
        group = child(root, node_id, h5py.Group)
        with torch.no_grad():
            for key, tensor in state.items():
                dataset = child(group, key, h5py.Dataset)
                dtype = _numpy_dtype(tensor)
                array = read_array(dataset, shape=tuple(tensor.shape), dtype=dtype)
                tensor.copy_(torch.from_numpy(array))


def _numpy_dtype(tensor: torch.Tensor) -> np.dtype[Any]:
    return np.dtype(str(tensor.dtype).removeprefix("torch."))


def _load_keras(f: h5py.File) -> ModelFile:
    config = attr_json(f, "model_config")
    imported = graph_from_keras_config(config)
    graph = imported.graph
    report = infer_shapes(graph)
    check_model_size(summarize(graph, report).total, f)
    module = compile_graph(graph, report=report, initialise=False)
    group = child(f, "model_weights", h5py.Group) if contains(f, "model_weights") else f
    weights = _read_keras_arrays(group, imported.nodes, module)
    load_keras_weights(module, graph, imported, weights)
    training, notes = TrainingSettings(), list[str]()
    if has_attr(f, "training_config"):
        training, notes = from_keras_training_config(attr_json(f, "training_config"))
        training = _loss_per_output(training, graph, report)
    return ModelFile(graph, module, training, origin="keras", notes=imported.notes + notes)


def _loss_per_output(training: TrainingSettings, graph: Graph, report: Any) -> TrainingSettings:
    """Keras keys losses by output layer; the studio by Output node name."""
    if not isinstance(training.loss, dict):
        return training
    by_keras = {v: graph.nodes[k].name for k, v in keras_output_names(graph, report).items()}
    loss = {by_keras.get(k, k): v for k, v in training.loss.items()}
    return TrainingSettings.from_json({**training.to_json(), "loss": loss})
