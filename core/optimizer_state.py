"""An optimizer's state keyed by parameter name, so training can continue from a saved file.

``torch.optim`` numbers parameters by position; a file keys them by the module's parameter
names instead (``conv2d.weight``), so the state survives as long as the model does, and a file
whose state does not fit the model is refused instead of silently mis-assigned.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np
import torch
from torch import nn

from core.h5safe import ModelFileError, attr_text, child, names, read_array

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_MAX_GROUPS = 64


@dataclass
class OptimizerState:
    """A ``torch.optim`` optimizer's state, by parameter name.

    Attributes:
        kind: The optimizer class (``Adam``).
        param_groups: Its param groups, ``params`` holding parameter names.
        state: Per parameter name, its tensors (``exp_avg``, ``step``...) as arrays.
    """

    kind: str
    param_groups: list[dict[str, Any]]
    state: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


def _ordered_params(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for group in optimizer.param_groups for p in group["params"]]


def capture(optimizer: torch.optim.Optimizer, module: nn.Module) -> OptimizerState:
    """The optimizer's state, with parameters named as in ``module``."""
    names = {id(p): name for name, p in module.named_parameters()}
    params = _ordered_params(optimizer)
    by_index = {i: names[id(p)] for i, p in enumerate(params)}
    raw = optimizer.state_dict()
    groups = []
    for group in raw["param_groups"]:
        plain = {k: _plain(v) for k, v in group.items() if k != "params"}
        groups.append({**plain, "params": [by_index[i] for i in group["params"]]})
    state = {
        by_index[i]: {
            k: v.detach().cpu().numpy().copy()
            if isinstance(v, torch.Tensor)
            else np.asarray(v, dtype=np.float64)
            for k, v in values.items()
        }
        for i, values in raw["state"].items()
    }
    return OptimizerState(type(optimizer).__name__, groups, state)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, torch.Tensor):
        return value.item()
    return value


def restore(optimizer: torch.optim.Optimizer, module: nn.Module, saved: OptimizerState) -> None:
    """Put a saved state into a fresh optimizer of the same kind over ``module``.

    Raises:
        ValueError: The state belongs to another kind of optimizer or another model.
    """
    if type(optimizer).__name__ != saved.kind:
        raise ValueError(f"The saved state is {saved.kind}'s, not {type(optimizer).__name__}'s.")
    names = {id(p): name for name, p in module.named_parameters()}
    index = {names[id(p)]: i for i, p in enumerate(_ordered_params(optimizer))}
    groups = []
    for group in saved.param_groups:
        missing = [n for n in group["params"] if n not in index]
        if missing:
            raise ValueError(f"The saved state has parameters the model lacks: {missing[:3]}.")
        converted = {k: tuple(v) if k == "betas" else v for k, v in group.items()}
        groups.append({**converted, "params": [index[n] for n in group["params"]]})
    state = {
        index[name]: {k: torch.from_numpy(np.array(a)) for k, a in values.items()}
        for name, values in saved.state.items()
        if name in index
    }
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def write_optimizer_state(group: h5py.Group, saved: OptimizerState) -> None:
    """Write ``saved`` into an (empty) HDF5 group."""
    meta = {"kind": saved.kind, "param_groups": saved.param_groups}
    group.attrs["meta"] = json.dumps(meta, allow_nan=False)
    for name, values in saved.state.items():
        sub = group.create_group(name)
        for key, array in values.items():
            sub.create_dataset(key, data=array)


def _check_value(key: str, value: Any, nested: bool = False) -> bool:
    if isinstance(value, list):  # betas: a list of numbers, never deeper
        return not nested and len(value) <= 16 and all(_check_value(key, v, True) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or (isinstance(value, (bool, int, str)) and len(str(value)) < 100)


def read_optimizer_state(group: h5py.Group, module: nn.Module) -> OptimizerState:
    """Read and check an optimizer state written by :func:`write_optimizer_state`."""
    params = dict(module.named_parameters())
    try:
        meta = json.loads(attr_text(group, "meta") or "null")
    except (ValueError, RecursionError):
        meta = None
    if not isinstance(meta, dict) or not isinstance(meta.get("kind"), str):
        raise ModelFileError("The file's optimizer state is not what the studio writes.")
    groups = meta.get("param_groups")
    if not isinstance(groups, list) or not 0 < len(groups) <= _MAX_GROUPS:
        raise ModelFileError("The file's optimizer state has no valid parameter groups.")
    for g in groups:
        ok = isinstance(g, dict) and isinstance(g.get("params"), list)
        ok = ok and all(isinstance(n, str) and n in params for n in g["params"])
        ok = ok and all(
            isinstance(k, str) and _KEY.fullmatch(k) and _check_value(k, v)
            for k, v in g.items()
            if k != "params"
        )
        if not ok:
            raise ModelFileError("The file's optimizer state does not fit this model.")
    state: dict[str, dict[str, np.ndarray]] = {}
    for name in names(group):
        if name not in params:
            raise ModelFileError(f"The optimizer state names {name[:60]!r}, not in the model.")
        sub = child(group, name, h5py.Group)
        shape = tuple(params[name].shape)
        values = {}
        for key in names(sub):
            if not _KEY.fullmatch(key):
                raise ModelFileError(f"The optimizer state has an odd entry {key[:60]!r}.")
            dataset = child(sub, key, h5py.Dataset)
            array = read_array(dataset, max_elements=max(1, params[name].numel()))
            if array.shape not in (shape, ()):
                raise ModelFileError(f"The optimizer state of {name!r} has the wrong shape.")
            values[key] = array
        state[name] = values
    return OptimizerState(meta["kind"][:64], groups, state)
