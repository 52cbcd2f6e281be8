"""Saving and opening a 50-million-parameter model against bare h5py on the same arrays.

The model is a stack of Dense layers (Input 2,500 -> 5,000 -> 5,000 -> 2,500, 50,010,000
parameters, 200 MB of float32). In the same run and on the same disk, it measures as medians
of repeated runs:

* save: ``core.h5io.save_model`` (Keras layout, atomic replace, fsync) against bare h5py
  writing the module's ``state_dict`` arrays to one file (with the same fsync);
* open: ``core.h5io.load_model`` (build the model, check and read every array, convert to the
  studio's layout) against bare h5py reading the same arrays into numpy.

    python benchmarks/h5_speed.py [--folder DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import torch

from core.compile import compile_graph
from core.graph import Graph
from core.h5io import load_model, save_model
from core.summary import count_parameters


def big_model() -> Graph:
    graph = Graph(name="big_mlp")
    prev = graph.add_node("Input", {"shape": [2500]}).id
    for units in (5000, 5000, 2500):
        node = graph.add_node("Dense", {"units": units, "activation": "relu"}).id
        graph.connect(prev, node)
        prev = node
    graph.connect(prev, graph.add_node("Output").id)
    return graph


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bare_write(path: Path, state: dict[str, torch.Tensor]) -> None:
    with h5py.File(path, "w") as f:
        for key, tensor in state.items():
            f.create_dataset(key, data=tensor.numpy())
    with open(path, "rb+") as raw:
        os.fsync(raw.fileno())


def bare_read(path: Path) -> dict[str, object]:
    with h5py.File(path, "r") as f:
        return {key: f[key][()] for key in f}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default=None, help="where to write (default: a temp folder)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    graph = big_model()
    module = compile_graph(graph, seed=0)
    state = {k: v.detach() for k, v in module.state_dict().items()}
    trainable, _ = count_parameters(module)
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        ours, bare = Path(folder) / "ours.h5", Path(folder) / "bare.h5"
        save_model(ours, graph, module)  # warm up both paths once
        bare_write(bare, state)
        results = {
            "save": (
                median_time(lambda: save_model(ours, graph, module), args.repeat),
                median_time(lambda: bare_write(bare, state), args.repeat),
            ),
            "open": (
                median_time(lambda: load_model(ours), args.repeat),
                median_time(lambda: bare_read(bare), args.repeat),
            ),
        }
        size = ours.stat().st_size
    print(
        f"model: {trainable:,} parameters, file {size / 1e6:.0f} MB, torch threads "
        f"{torch.get_num_threads()}, median of {args.repeat}"
    )
    for what, (studio, reference) in results.items():
        print(
            f"{what:5}  studio {studio * 1000:7.0f} ms   bare h5py {reference * 1000:7.0f} ms   "
            f"ratio {studio / reference:.2f}"
        )


if __name__ == "__main__":
    main()
