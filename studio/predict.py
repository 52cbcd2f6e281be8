"""``layer-studio predict``: run a model file on NumPy arrays and save what it predicts."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from core.compile import model_info
from core.h5io import ModelFile
from core.layers import get_spec
from core.shapes import infer_shapes
from studio.cli_common import CliError, open_model_file, shape_text


def cmd_predict(args: argparse.Namespace) -> int:
    """Run a model file on arrays from .npy/.npz files and save what it predicts."""
    out = Path(args.output)
    if out.suffix.lower() not in (".npy", ".npz"):
        raise CliError(f"The output {out} must end in .npy or .npz.")
    if args.batch_size < 1:
        raise CliError("--batch-size must be at least 1.")
    model = open_model_file(args.model)
    if model.module is None:
        errors = len(infer_shapes(model.graph).errors)
        raise CliError(
            f"{args.model} holds a model that is not complete ({errors} problem(s)), so it "
            f"cannot predict. `layer-studio info {args.model}` lists what to fix."
        )
    module = model.module
    info = model_info(module)
    nodes = [model.graph.nodes[i] for i in info.inputs]
    names = ", ".join(n.name for n in nodes)
    if len(args.inputs) != len(nodes):
        raise CliError(
            f"The model takes {len(nodes)} input(s) ({names}), in that order; give one --input "
            f"for each (got {len(args.inputs)})."
        )
    last = args.layout == "channels-last"
    arrays = [
        _model_input(model, node.id, _read_array(path), path, last)
        for node, path in zip(nodes, args.inputs, strict=True)
    ]
    counts = {len(a) for a in arrays}
    if len(counts) > 1:
        raise CliError(f"The inputs hold different numbers of samples ({sorted(counts)}).")
    results = _predict(module, arrays, args.batch_size)
    if last:
        results = [np.moveaxis(r, 1, -1) if r.ndim >= 4 else r for r in results]
    out_names = [model.graph.nodes[i].name for i in info.outputs]
    if len(results) > 1 and out.suffix.lower() == ".npy":
        out = out.with_suffix(".npz")
        print(f"The model has {len(results)} outputs, so they go into one .npz file: {out}")
    if out.suffix.lower() == ".npz":
        arrays_by_name: dict[str, Any] = dict(zip(out_names, results, strict=True))
        _write_atomically(out, lambda f: np.savez(f, **arrays_by_name))
    else:
        _write_atomically(out, lambda f: np.save(f, results[0], allow_pickle=False))
    print(f"Predicted {len(arrays[0])} sample(s) into {out}:")
    for name, result in zip(out_names, results, strict=True):
        print(f"  {name}  {shape_text(result.shape)}  {result.dtype}")
    return 0


def _read_array(target: str) -> np.ndarray:
    """The one array of a ``.npy`` or ``.npz`` file, numbers only (never pickled objects)."""
    path = Path(target)
    if path.suffix.lower() not in (".npy", ".npz"):
        raise CliError(f"{target} must be a NumPy .npy or .npz file.")
    if not path.is_file():
        raise CliError(
            f"There is no file {target}." if not path.exists() else f"{target} is a folder."
        )
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                keys = list(loaded.files)
                if len(keys) != 1:
                    raise CliError(
                        f"{target} holds {len(keys)} arrays ({', '.join(keys[:10])}); give a "
                        ".npz with exactly one array, or a .npy file."
                    )
                loaded = loaded[keys[0]]
        array = np.asarray(loaded)
    except CliError:
        raise
    except Exception as err:  # damaged or not NumPy at all: zip, header and I/O errors
        if isinstance(err, ValueError) and "pickle" in str(err):
            raise CliError(f"{target} holds Python objects, not numbers; it is refused.") from None
        raise CliError(f"Cannot read {target} as a NumPy file: {err}") from None
    if array.dtype.kind not in "biuf":
        raise CliError(f"{target} holds {array.dtype} values; the model needs numbers.")
    return array


def _model_input(
    model: ModelFile, node_id: str, array: np.ndarray, target: str, channels_last: bool
) -> np.ndarray:
    """``array`` checked against Input ``node_id`` and moved into the studio's layout."""
    node = model.graph.nodes[node_id]
    shape = tuple(node.params["shape"])
    keras = (*shape[1:], shape[0]) if len(shape) >= 3 else shape
    want, other = (keras, shape) if channels_last else (shape, keras)
    got = tuple(array.shape)
    if len(got) != len(want) + 1 or got[1:] != want or got[0] == 0:
        expected = shape_text(("N", *shape))
        if len(shape) >= 3:
            expected += (
                f" (channels first; with --layout channels-last {shape_text(('N', *keras))})"
            )
        hint = ""
        if got[1:] == other != want:
            hint = " It looks like channels-first data: leave out --layout channels-last."
            if not channels_last:
                hint = " It looks like channels-last data: add --layout channels-last."
        elif got == want:
            hint = " It is one sample without the batch axis: save it with shape (1, ...)."
        elif got[1:] == want:
            hint = " It holds no samples."
        raise CliError(
            f"{target} has shape {shape_text(got)}, but input {node.name!r} takes arrays of "
            f"shape {expected}.{hint}"
        )
    if channels_last and array.ndim >= 4:
        array = np.moveaxis(array, -1, 1)
    ids = [model.graph.nodes[e.dst] for e in model.graph.out_edges(node_id)]
    limits = [n.params["input_dim"] for n in ids if get_spec(n.kind).integer_input]
    if node.params["dtype"] == "int32" or limits:
        whole = array.dtype.kind in "biu" or bool(np.all(np.mod(array, 1) == 0))
        if not whole:
            raise CliError(f"{target}: input {node.name!r} takes whole-number ids.")
        if limits and array.size and (array.min() < 0 or array.max() >= min(limits)):
            raise CliError(
                f"{target}: input {node.name!r} takes ids from 0 to {min(limits) - 1}, but it "
                f"holds ids from {array.min():g} to {array.max():g}."
            )
        return np.ascontiguousarray(array, dtype=np.int64)
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(array).all():  # after the cast: 1e300 is infinite in float32
        raise CliError(f"{target} holds NaN or infinite values; the model cannot use them.")
    return array


def _predict(module: Any, arrays: list[np.ndarray], batch_size: int) -> list[np.ndarray]:
    """The module's outputs on ``arrays`` (eval mode, no gradients), batch by batch."""
    import torch

    module.eval()
    parts: list[list[np.ndarray]] = []
    with torch.no_grad():
        for start in range(0, len(arrays[0]), batch_size):
            batch = [torch.from_numpy(a[start : start + batch_size]) for a in arrays]
            try:
                result = module(*batch)
            except (RuntimeError, ValueError, IndexError) as err:
                raise CliError(f"The model failed on this data: {err}") from None
            results = result if isinstance(result, tuple) else (result,)
            parts.append([r.detach().cpu().numpy() for r in results])
    return [np.concatenate(chunks) for chunks in zip(*parts, strict=True)]


def _write_atomically(path: Path, write: Any) -> None:
    """Write ``path`` through ``write(file)`` into a temporary file, then move it over."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise CliError(f"Cannot write {path}: {err.strerror or err}.") from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise CliError(f"Cannot write {path}: {err.strerror or err}.") from None
        raise
