"""How fast ``core.training.Trainer.fit`` trains, against a hand-written PyTorch loop.

Both run in the same process, on the same device, alternately, on the same model (the hand
loop gets a deep copy of the compiled module with its final softmax taken out, as ``fit`` does
while it trains), the same data already on the device as tensors, the same batch size, Adam
with Keras's defaults, cross-entropy, shuffling by a seeded permutation each epoch, and the
loss and accuracy summed on the device and read once per epoch. ``fit`` keeps its defaults
(categorical crossentropy from class ids, the accuracy metric, a copy of the weights per epoch,
a NaN check every 16 batches) and is given the ``Dataset``, so its own setup per call (data to
the device, one-hot targets) is counted; the hand loop is what a programmer writes
(``F.cross_entropy`` on class ids).

Cases: the ``mlp`` template on a random 64-feature table of 20,000 samples (10 classes), at
batch sizes 32 and 256; the ``mnist_cnn`` template adapted to ``digits`` (1,797 8×8 images);
and ``mnist_cnn`` on 4,096 random 1×28×28 images (left out with ``--quick``).

Each figure is the median over ``--repeat`` runs, after a warm-up epoch, of samples per
second over the case's epochs (wall clock, the device synchronised). The ratio, goal ≥ 0.9,
is the median of studio / hand-written over pairs of runs made one right after the other.
``--profile`` prints where ``fit`` spends its time.

    python benchmarks/training_speed.py [--device auto|cpu|cuda] [--repeat N] [--threads N]
        [--quick] [--profile]
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import pstats
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from core.compile import compile_graph
from core.data import Dataset
from core.data.samples import load_sample
from core.devices import choose_device
from core.fit_checks import adapt
from core.layers.activations import Softmax
from core.layers.modules import Activated
from core.templates import load_template
from core.training import Trainer
from core.training_settings import TrainingSettings


@dataclass(frozen=True)
class Case:
    name: str
    template: str
    data: Callable[[], Dataset]
    batch_size: int
    epochs: int


def random_table(samples: int = 20_000, features: int = 64, classes: int = 10) -> Dataset:
    """Gaussian rows labelled by a random linear teacher (so there is something to learn)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(samples, features)).astype(np.float32)
    y = (x @ rng.normal(size=(features, classes))).argmax(axis=1).astype(np.int64)
    return Dataset("table", [x], y, "classification", class_names=[str(c) for c in range(classes)])


def digits() -> Dataset:
    return load_sample("digits")


def random_images(samples: int = 4096, classes: int = 10) -> Dataset:
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(samples, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, classes, samples).astype(np.int64)
    return Dataset("images", [x], y, "classification", class_names=[str(c) for c in range(classes)])


CASES = [
    Case("mlp, 64-feature table, 20,000 samples, batch 32", "mlp", random_table, 32, 2),
    Case("mlp, 64-feature table, 20,000 samples, batch 256", "mlp", random_table, 256, 4),
    Case("mnist_cnn, digits 1,797 × 8×8, batch 32", "mnist_cnn", digits, 32, 4),
    Case("mnist_cnn, random 4,096 × 1×28×28, batch 32", "mnist_cnn", random_images, 32, 1),
]


def logits_model(module: fx.GraphModule) -> nn.Module:
    """A deep copy of ``module`` without its final softmax (what ``fit`` trains)."""
    model = copy.deepcopy(module)
    output = next(n for n in model.graph.nodes if n.op == "output").args[0]
    assert isinstance(output, fx.Node)
    last = model.get_submodule(str(output.target))
    if isinstance(last, Activated) and isinstance(last.activation, Softmax):
        last.activation = nn.Identity()
    return model


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class HandLoop:
    """The loop a programmer writes: data on the device, permutation shuffling, Adam, CE."""

    def __init__(self, model: nn.Module, data: Dataset, batch_size: int, device: torch.device):
        self.model = model.to(device)
        self.x = torch.from_numpy(np.asarray(data.x[0])).to(device)
        self.y = torch.from_numpy(data.y).to(device)
        self.batch_size, self.device = batch_size, device
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(params, lr=0.001, eps=1e-7)
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
                loss = F.cross_entropy(logits, y)
                loss.backward()  # type: ignore[no-untyped-call]
                self.optimizer.step()
                total += loss.detach().double() * len(index)
                correct += (logits.detach().argmax(1) == y).sum()
            float(total), int(correct)  # read once per epoch, as fit does


def per_second(run: Callable[[], object], samples: int, device: torch.device) -> float:
    synchronize(device)
    start = time.perf_counter()
    run()
    synchronize(device)
    return samples / (time.perf_counter() - start)


def measure(
    case: Case, device_name: str, repeat: int, profile: bool
) -> tuple[float, float, float, pstats.Stats | None]:
    """Median samples per second of ``fit`` and of the hand loop, the median of the ratios
    of runs made one right after the other (steadier on a busy machine), and a profile of
    one more ``fit`` when asked for."""
    data = case.data()
    settings = TrainingSettings(
        epochs=case.epochs, batch_size=case.batch_size, device=device_name, seed=0
    )
    graph = adapt(load_template(case.template), data, settings).graph
    module = compile_graph(graph, seed=0)
    hand = HandLoop(logits_model(module), data, case.batch_size, choose_device(device_name).device)
    trainer = Trainer(module, settings)
    device = trainer.device
    trainer.fit(data, epochs=1)  # warm-up
    hand.fit(1)
    samples = len(data) * case.epochs
    studio_rates, hand_rates = [], []
    for _ in range(repeat):  # alternately, so that a busy moment hits both
        studio_rates.append(per_second(lambda: trainer.fit(data), samples, device))
        hand_rates.append(per_second(lambda: hand.fit(case.epochs), samples, device))
    ratios = [a / b for a, b in zip(studio_rates, hand_rates, strict=True)]
    stats = None
    if profile:
        profiler = cProfile.Profile()
        profiler.runcall(trainer.fit, data)
        stats = pstats.Stats(profiler).sort_stats("tottime")
    medians = statistics.median(studio_rates), statistics.median(hand_rates)
    return *medians, statistics.median(ratios), stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: as is)")
    parser.add_argument("--quick", action="store_true", help="leave out the 28×28 images")
    parser.add_argument("--profile", action="store_true", help="profile fit in each case")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    choice = choose_device(args.device)
    if choice.message:
        print(choice.message)
    print(f"device: {choice.name}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'case':<52} {'studio/s':>10} {'hand/s':>10} {'ratio':>6}")
    cases = CASES[:-1] if args.quick else CASES
    for case in cases:
        studio, hand, ratio, stats = measure(case, args.device, args.repeat, args.profile)
        print(f"{case.name:<52} {studio:>10,.0f} {hand:>10,.0f} {ratio:>6.2f}")
        if stats is not None:
            print(f"-- where fit spends its time: {case.name}")
            stats.print_stats(12)


if __name__ == "__main__":
    main()
