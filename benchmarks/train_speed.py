"""How fast the studio trains, against a hand-written PyTorch loop and Keras 3's ``fit``.

Four ways to train the same model on the same data, in one process, on one device:

(a) the studio: ``core.training.Trainer(module, settings).fit(dataset)`` with its defaults
    (categorical crossentropy on class ids, the accuracy metric, a copy of the weights per
    epoch, a NaN check every 16 batches); its setup per call (data to the device) is counted;
(b) the loop a PyTorch user writes: a ``TensorDataset`` and ``DataLoader(batch_size,
    shuffle=True)`` over CPU tensors, ``.to(device)`` per batch, ``nn.CrossEntropyLoss`` on
    class ids, Adam with Keras's defaults (lr 1e-3, eps 1e-7), loss and accuracy accumulated
    with ``.item()`` per batch;
(c) Keras 3 (torch backend): the same layers as a ``keras.Sequential`` (images channels-last),
    ``compile(optimizer="adam", loss="sparse_categorical_crossentropy",
    metrics=["accuracy"])`` and ``fit(verbose=0)`` on NumPy arrays; left out, with a note,
    when Keras is not installed;
(d) the strictest reference: a hand loop with all the data on the device as tensors,
    shuffled by a seeded permutation, the loss and accuracy summed on the device and read
    once per epoch (what the studio's fast path does, without its bookkeeping).

(a) is the compiled template (:func:`core.compile.compile_graph`); (b) and (d) train deep
copies of it with the final softmax taken out (``fit`` does the same while it trains); (c) is
built layer by layer from the same graph. Parameter counts are checked to be equal.

Cases: the tutorial's ``mnist_cnn`` on 4,096 random 1×28×28 images (10 classes, batch 128)
and the ``mlp`` template on a random 64-feature table of 20,000 rows (10 classes), at batch
sizes 32 and 256.

Each figure is samples per second (wall clock, the device synchronised), the median over
``--repeat`` rounds after a warm-up epoch per method; a round runs every method once, starting
with a different one each round, so that a busy moment hits them all alike. A ratio is the
median over rounds of the ratio within a round. Aim: a/b ≥ 1 and a/c ≥ 1.3.

    python benchmarks/train_speed.py [--device auto|cpu|cuda|mps] [--repeat N] [--threads N]
        [--epochs N] [--quick] [--profile]
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import os
import pstats
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import fx, nn
from torch.utils.data import DataLoader, TensorDataset

from core.compile import compile_graph
from core.data import Dataset
from core.devices import choose_device
from core.fit_checks import adapt
from core.graph import Graph
from core.layers.activations import Softmax
from core.layers.modules import Activated
from core.templates import load_template
from core.training import Trainer
from core.training_settings import TrainingSettings

METHODS = ("studio", "torch", "keras", "tensor")
LETTERS = {"studio": "a", "torch": "b", "keras": "c", "tensor": "d"}


@dataclass(frozen=True)
class Case:
    name: str
    template: str
    data: Callable[[bool], Dataset]
    batch_size: int
    epochs: int


def random_table(quick: bool, features: int = 64, classes: int = 10) -> Dataset:
    """Gaussian rows labelled by a random linear teacher (so there is something to learn)."""
    samples = 4_000 if quick else 20_000
    rng = np.random.default_rng(0)
    x = rng.normal(size=(samples, features)).astype(np.float32)
    y = (x @ rng.normal(size=(features, classes))).argmax(axis=1).astype(np.int64)
    return Dataset("table", [x], y, "classification", class_names=[str(c) for c in range(classes)])


def random_images(quick: bool, classes: int = 10) -> Dataset:
    samples = 512 if quick else 4_096
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(samples, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, classes, samples).astype(np.int64)
    return Dataset("images", [x], y, "classification", class_names=[str(c) for c in range(classes)])


CASES = [
    Case("mnist_cnn, 28×28×1 images, batch 128", "mnist_cnn", random_images, 128, 1),
    Case("mlp, 64-feature table, batch 32", "mlp", random_table, 32, 2),
    Case("mlp, 64-feature table, batch 256", "mlp", random_table, 256, 4),
]


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def logits_model(module: fx.GraphModule) -> nn.Module:
    """A deep copy of ``module`` without its final softmax (what ``fit`` trains)."""
    model = copy.deepcopy(module)
    output = next(n for n in model.graph.nodes if n.op == "output").args[0]
    assert isinstance(output, fx.Node)
    last = model.get_submodule(str(output.target))
    if isinstance(last, Activated) and isinstance(last.activation, Softmax):
        last.activation = nn.Identity()
    return model


# -- (b) the idiomatic PyTorch loop ----------------------------------------------------------


class TorchLoop:
    """TensorDataset + DataLoader on the CPU, ``.to(device)`` per batch, Adam, CE, ``.item()``."""

    def __init__(self, model: nn.Module, data: Dataset, batch_size: int, device: torch.device):
        self.model, self.device = model.to(device), device
        dataset = TensorDataset(torch.from_numpy(np.asarray(data.x[0])), torch.from_numpy(data.y))
        generator = torch.Generator().manual_seed(0)
        self.loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=generator)
        self.criterion = nn.CrossEntropyLoss()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3, eps=1e-7)

    def fit(self, epochs: int) -> None:
        for _ in range(epochs):
            self.model.train()
            running_loss, correct, seen = 0.0, 0, 0
            for x, y in self.loader:
                x, y = x.to(self.device), y.to(self.device)
                self.optimizer.zero_grad()
                logits = self.model(x)
                loss = self.criterion(logits, y)
                loss.backward()  # type: ignore[no-untyped-call]
                self.optimizer.step()
                running_loss += loss.item() * len(y)
                correct += (logits.argmax(1) == y).sum().item()
                seen += len(y)
            running_loss / seen, correct / seen  # the epoch's loss and accuracy


# -- (d) the strict reference: tensors on the device -----------------------------------------


class TensorLoop:
    """Data on the device, permutation shuffling, Adam, CE, sums read once per epoch."""

    def __init__(self, model: nn.Module, data: Dataset, batch_size: int, device: torch.device):
        self.model = model.to(device)
        self.x = torch.from_numpy(np.asarray(data.x[0])).to(device)
        self.y = torch.from_numpy(data.y).to(device)
        self.batch_size, self.device = batch_size, device
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3, eps=1e-7)
        self.generator = torch.Generator().manual_seed(0)

    def fit(self, epochs: int) -> None:
        n, batch = len(self.y), self.batch_size
        self.model.train()
        for _ in range(epochs):
            order = torch.randperm(n, generator=self.generator).to(self.device)
            total = torch.zeros((), device=self.device, dtype=torch.float64)
            correct = torch.zeros((), device=self.device, dtype=torch.int64)
            for start in range(0, n, batch):
                index = order[start : start + batch]
                x, y = self.x[index], self.y[index]
                self.optimizer.zero_grad(set_to_none=True)
                logits = self.model(x)
                loss = nn.functional.cross_entropy(logits, y)
                loss.backward()  # type: ignore[no-untyped-call]
                self.optimizer.step()
                total += loss.detach().double() * len(index)
                correct += (logits.detach().argmax(1) == y).sum()
            float(total), int(correct)  # read once per epoch, as fit does


# -- (c) Keras 3 -----------------------------------------------------------------------------


def load_keras(device: torch.device) -> Any:
    """Keras on the torch backend, on ``device``; None when Keras is not installed."""
    os.environ["KERAS_BACKEND"] = "torch"
    os.environ["KERAS_TORCH_DEVICE"] = device.type
    try:
        import keras
    except ImportError:
        return None
    if keras.backend.backend() != "torch":
        raise SystemExit(f"Keras was imported with the {keras.backend.backend()} backend.")
    return keras


def keras_model(keras: Any, graph: Graph) -> Any:
    """``graph`` (a chain of the layers the templates use) as a channels-last Sequential."""
    L = keras.layers
    layers: list[Any] = []
    for node_id in graph.topological_order():
        node = graph.nodes[node_id]
        p = node.params
        if node.kind == "Input":
            shape = tuple(p["shape"])
            if len(shape) == 3:  # (channels, height, width) -> (height, width, channels)
                shape = (*shape[1:], shape[0])
            layers.append(keras.Input(shape))
        elif node.kind == "Conv2D":
            assert p["groups"] == 1
            layers.append(
                L.Conv2D(
                    p["filters"],
                    tuple(p["kernel_size"]),
                    strides=tuple(p["strides"]),
                    padding=p["padding"],
                    dilation_rate=tuple(p["dilation_rate"]),
                    activation=p["activation"],
                    use_bias=p["use_bias"],
                )
            )
        elif node.kind == "MaxPooling2D":
            layers.append(L.MaxPooling2D(tuple(p["pool_size"]), p["strides"], p["padding"]))
        elif node.kind == "Dropout":
            layers.append(L.Dropout(p["rate"]))
        elif node.kind == "Flatten":
            layers.append(L.Flatten())
        elif node.kind == "Dense":
            layers.append(L.Dense(p["units"], p["activation"], use_bias=p["use_bias"]))
        elif node.kind != "Output":
            raise ValueError(f"No Keras layer here for {node.kind} ({node.name}).")
    model = keras.Sequential(layers)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class KerasLoop:
    def __init__(self, keras: Any, graph: Graph, data: Dataset, batch_size: int):
        keras.utils.set_random_seed(0)
        self.model = keras_model(keras, graph)
        x = np.asarray(data.x[0])
        self.x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if x.ndim == 4 else x
        self.y, self.batch_size = data.y, batch_size

    def fit(self, epochs: int) -> None:
        self.model.fit(self.x, self.y, batch_size=self.batch_size, epochs=epochs, verbose=0)


# -- measuring -------------------------------------------------------------------------------


def per_second(
    run: Callable[[int], object], epochs: int, samples: int, device: torch.device
) -> float:
    synchronize(device)
    start = time.perf_counter()
    run(epochs)
    synchronize(device)
    return samples / (time.perf_counter() - start)


@dataclass
class Result:
    rates: dict[str, float]  # method -> median samples per second
    ratios: dict[str, float]  # "a/b" etc. -> median of the ratios within rounds
    params: dict[str, int]
    profile: pstats.Stats | None


def measure(case: Case, args: argparse.Namespace, keras: Any, device: torch.device) -> Result:
    data = case.data(args.quick)
    epochs = args.epochs or (1 if args.quick else case.epochs)
    settings = TrainingSettings(epochs=epochs, batch_size=case.batch_size, device=args.device)
    graph = adapt(load_template(case.template), data, settings).graph
    module = compile_graph(graph, seed=0)
    trainer = Trainer(module, settings)
    assert trainer.device == device
    runs: dict[str, Callable[[int], object]] = {
        "studio": lambda e: trainer.fit(data, epochs=e),
        "torch": TorchLoop(logits_model(module), data, case.batch_size, device).fit,
        "tensor": TensorLoop(logits_model(module), data, case.batch_size, device).fit,
    }
    params = {"studio": count(trainer.module)}
    params["torch"] = params["tensor"] = count(logits_model(module))
    if keras is not None:
        with keras.device(device.type):
            loop = KerasLoop(keras, graph, data, case.batch_size)
        runs["keras"] = loop.fit
        params["keras"] = loop.model.count_params()
    if len(set(params.values())) != 1:
        raise SystemExit(f"{case.name}: the models differ in size: {params}")
    methods = [m for m in METHODS if m in runs]
    for method in methods:  # warm-up
        runs[method](1)
    samples = len(data) * epochs
    rates: dict[str, list[float]] = {m: [] for m in methods}
    for round_ in range(args.repeat):  # alternately, a different one first each round
        shift = round_ % len(methods)
        for method in methods[shift:] + methods[:shift]:
            rates[method].append(per_second(runs[method], epochs, samples, device))
    ratios = {}
    for other in methods[1:]:
        pairs = zip(rates["studio"], rates[other], strict=True)
        ratios[f"a/{LETTERS[other]}"] = statistics.median(a / b for a, b in pairs)
    stats = None
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(trainer.fit, data, epochs=epochs)
        stats = pstats.Stats(profiler).sort_stats("tottime")
    medians = {m: statistics.median(r) for m, r in rates.items()}
    return Result(medians, ratios, params, stats)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    parser.add_argument("--repeat", type=int, help="rounds per case (default 3, 1 if quick)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: as is)")
    parser.add_argument("--epochs", type=int, default=0, help="epochs per run (0: per case)")
    parser.add_argument("--quick", action="store_true", help="small data, 1 epoch, 1 round")
    parser.add_argument("--profile", action="store_true", help="profile the studio's fit")
    args = parser.parse_args()
    args.repeat = args.repeat or (1 if args.quick else 3)
    if args.threads:
        torch.set_num_threads(args.threads)  # Keras's torch backend runs on the same threads
    choice = choose_device(args.device)
    if choice.message:
        print(choice.message)
    keras = load_keras(choice.device)
    versions = f"torch {torch.__version__}"
    if keras is None:
        print("Keras is not installed: column (c) is left out.")
    else:
        versions += f", keras {keras.__version__} (torch backend)"
    print(f"device: {choice.name}, {versions}, {torch.get_num_threads()} threads")
    print(f"samples/s, median of {args.repeat} round(s) after a warm-up epoch per method")
    methods = [m for m in METHODS if m != "keras" or keras is not None]
    ratio_names = [f"a/{LETTERS[m]}" for m in methods[1:]]
    head = f"{'case':<38} {'params':>9}"
    head += "".join(f" {LETTERS[m] + ' ' + m:>9}" for m in methods)
    print(head + "".join(f" {r:>5}" for r in ratio_names))
    for case in CASES:
        result = measure(case, args, keras, choice.device)
        line = f"{case.name:<38} {result.params['studio']:>9,}"
        line += "".join(f" {result.rates[m]:>9,.0f}" for m in methods)
        print(line + "".join(f" {result.ratios[r]:>5.2f}" for r in ratio_names), flush=True)
        if result.profile is not None:
            print(f"-- where the studio's fit spends its time: {case.name}")
            result.profile.print_stats(14)


if __name__ == "__main__":
    main()
