"""The training part of the exported PyTorch script: Keras's ``compile`` and ``fit`` in plain
PyTorch, with the studio's optimizer, loss, metrics, epochs, batch size and validation split.

The loop also runs under ``torchrun --nproc_per_node N`` with DistributedDataParallel: each
process trains on its own share of every epoch's batches, and the logs are averaged over the
processes. Started plainly, it is one process. Only what the settings use goes into the file:
one optimizer, one loss, the chosen metrics.
"""

from __future__ import annotations

import textwrap

from core.export.codeformat import format_lines, quoted
from core.export.section import Section
from core.export.torch_layers import number
from core.graph import Graph
from core.shapes import infer_shapes
from core.training_settings import (
    OPTIMIZER_CLASSES,
    TrainingSettings,
    canonical_loss,
    canonical_metric,
)

_OPTIMIZERS = {
    "sgd": "torch.optim.SGD(parameters, lr={lr}, momentum={momentum}, nesterov={nesterov})",
    "adam": "torch.optim.Adam(parameters, lr={lr}, betas=({beta_1}, {beta_2}), eps={epsilon}, "
    "amsgrad={amsgrad})",
    "adamw": "torch.optim.AdamW(parameters, lr={lr}, betas=({beta_1}, {beta_2}), eps={epsilon}, "
    "weight_decay={weight_decay}, amsgrad={amsgrad})",
    "rmsprop": "torch.optim.RMSprop(parameters, lr={lr}, alpha={rho}, eps={epsilon}, "
    "momentum={momentum}, centered={centered})",
    "adagrad": "torch.optim.Adagrad(parameters, lr={lr}, eps={epsilon}, "
    "initial_accumulator_value={initial_accumulator_value})",
    "adadelta": "torch.optim.Adadelta(parameters, lr={lr}, rho={rho}, eps={epsilon})",
    # Keras decays Nadam's momentum as 0.96**t; torch's default is 0.96**(0.004 t)
    "nadam": "torch.optim.NAdam(parameters, lr={lr}, betas=({beta_1}, {beta_2}), eps={epsilon}, "
    "momentum_decay=1.0)",
}

_LOSSES = {
    "categorical_crossentropy": '''
        def loss_function(outputs, y):
            """Keras's categorical_crossentropy, from probabilities; y holds class ids or
            one-hot rows."""
            probabilities = outputs / outputs.sum(dim=CLASS_AXIS, keepdim=True)
            log_p = probabilities.clamp(EPSILON, 1 - EPSILON).log()
            if y.shape != outputs.shape:  # class ids
                ids = y.long().reshape(log_p.select(CLASS_AXIS, 0).shape)
                return -log_p.gather(CLASS_AXIS, ids.unsqueeze(CLASS_AXIS)).mean()
            return -(y * log_p).sum(dim=CLASS_AXIS).mean()
    ''',
    "binary_crossentropy": '''
        def loss_function(outputs, y):
            """Keras's binary_crossentropy, from probabilities clipped away from 0 and 1."""
            p = outputs.clamp(EPSILON, 1 - EPSILON)
            y = y.reshape(outputs.shape).to(outputs.dtype)
            return -(y * p.log() + (1 - y) * (1 - p).log()).mean()
    ''',
    "mean_squared_error": '''
        def loss_function(outputs, y):
            """Keras's mean_squared_error."""
            return (outputs - y.reshape(outputs.shape)).square().mean()
    ''',
    "mean_absolute_error": '''
        def loss_function(outputs, y):
            """Keras's mean_absolute_error."""
            return (outputs - y.reshape(outputs.shape)).abs().mean()
    ''',
    "huber": '''
        def loss_function(outputs, y):
            """Keras's Huber loss (delta 1): squared for small misses, linear for big ones."""
            return F.huber_loss(outputs, y.reshape(outputs.shape), delta=1.0)
    ''',
    "kl_divergence": '''
        def loss_function(outputs, y):
            """Keras's kl_divergence between the targets and the outputs."""
            y = y.reshape(outputs.shape).clamp(EPSILON, 1)
            p = outputs.clamp(EPSILON, 1)
            return (y * (y / p).log()).sum(dim=CLASS_AXIS).mean()
    ''',
}
_LOSSES["sparse_categorical_crossentropy"] = _LOSSES["categorical_crossentropy"]

#: Each metric as a function of the whole epoch's outputs and targets.
_METRICS = {
    "accuracy": '''
        def accuracy(outputs, y):
            """How often the answer is right: the top class, or a yes/no at 0.5."""
            if outputs.shape[-1] == 1:
                return ((outputs > 0.5).float() == y.reshape(outputs.shape)).float().mean()
            return (outputs.argmax(dim=CLASS_AXIS) == class_ids(outputs, y)).float().mean()
    ''',
    "categorical_accuracy": '''
        def categorical_accuracy(outputs, y):
            """How often the top class matches the one-hot target."""
            return (outputs.argmax(dim=CLASS_AXIS) == class_ids(outputs, y)).float().mean()
    ''',
    "sparse_categorical_accuracy": '''
        def sparse_categorical_accuracy(outputs, y):
            """How often the top class is the target class."""
            return (outputs.argmax(dim=CLASS_AXIS) == class_ids(outputs, y)).float().mean()
    ''',
    "binary_accuracy": '''
        def binary_accuracy(outputs, y):
            """How often a yes/no answer (threshold 0.5) is right."""
            return ((outputs > 0.5).float() == y.reshape(outputs.shape)).float().mean()
    ''',
    "top_k_categorical_accuracy": '''
        def top_k_categorical_accuracy(outputs, y):
            """How often the target is among the 5 likeliest classes."""
            top = outputs.topk(min(5, outputs.shape[-1]), dim=-1).indices
            return (top == class_ids(outputs, y).unsqueeze(-1)).any(dim=-1).float().mean()
    ''',
    "precision": '''
        def precision(outputs, y):
            """Of the answers 'yes' (above 0.5), the share that was right."""
            predicted, actual = outputs > 0.5, one_hot_like(outputs, y) > 0.5
            return (predicted & actual).sum() / predicted.sum().clamp(min=1)
    ''',
    "recall": '''
        def recall(outputs, y):
            """Of the real 'yes' cases, the share that was found (above 0.5)."""
            predicted, actual = outputs > 0.5, one_hot_like(outputs, y) > 0.5
            return (predicted & actual).sum() / actual.sum().clamp(min=1)
    ''',
    "f1_score": '''
        def f1_score(outputs, y):
            """The mean over classes of the balance of precision and recall."""
            if outputs.shape[-1] == 1:
                predicted = outputs > 0.5
            else:
                predicted = F.one_hot(outputs.argmax(dim=-1), outputs.shape[-1]) > 0
            actual = one_hot_like(outputs, y) > 0.5
            true = (predicted & actual).sum(dim=0).float()
            wrong = (predicted ^ actual).sum(dim=0).float()
            return (2 * true / (2 * true + wrong).clamp(min=1)).mean()
    ''',
    "auc": '''
        def auc(outputs, y):
            """The area under the ROC curve: how well 'yes' cases rank above 'no' cases."""
            scores = outputs.flatten()
            actual = one_hot_like(outputs, y).flatten() > 0.5
            ranks = scores.argsort().argsort().double() + 1
            yes, no = actual.sum(), (~actual).sum()
            if yes == 0 or no == 0:
                return torch.tensor(0.0)
            return (ranks[actual].sum() - yes * (yes + 1) / 2) / (yes * no)
    ''',
    "mean_absolute_error": '''
        def mean_absolute_error(outputs, y):
            """The average size of a miss."""
            return (outputs - y.reshape(outputs.shape)).abs().mean()
    ''',
    "mean_squared_error": '''
        def mean_squared_error(outputs, y):
            """The average squared miss."""
            return (outputs - y.reshape(outputs.shape)).square().mean()
    ''',
    "r2_score": '''
        def r2_score(outputs, y):
            """How much of the targets' variation the model explains (1 is perfect)."""
            y = y.reshape(outputs.shape).double()
            residual = (y - outputs.double()).square().sum(dim=0)
            total = (y - y.mean(dim=0)).square().sum(dim=0)
            return (1 - residual / total.clamp(min=1e-12)).mean()
    ''',
}
_METRICS["sparse_top_k_categorical_accuracy"] = _METRICS["top_k_categorical_accuracy"].replace(
    "def top_k_categorical_accuracy", "def sparse_top_k_categorical_accuracy"
)
_CLASS_IDS = '''
    def class_ids(outputs, y):
        """The target classes as ids, from ids or from one-hot rows."""
        if y.shape == outputs.shape:
            return y.argmax(dim=CLASS_AXIS)
        return y.long().reshape(outputs.select(CLASS_AXIS, 0).shape)
'''
_ONE_HOT = '''
    def one_hot_like(outputs, y):
        """The targets in the outputs' shape: class ids become one-hot rows."""
        if y.shape == outputs.shape or outputs.shape[-1] == 1:
            return y.reshape(outputs.shape).float()
        return F.one_hot(y.long().reshape(outputs.shape[:-1]), outputs.shape[-1]).float()
'''


def _optimizer(settings: TrainingSettings) -> str:
    options = settings.all_optimizer_options()
    values = {k: (repr(v) if isinstance(v, bool) else number(v)) for k, v in options.items()}
    values["lr"] = number(float(options["learning_rate"]))
    line = _OPTIMIZERS[settings.optimizer].format(**values)
    keras = OPTIMIZER_CLASSES[settings.optimizer]
    lines = [
        "def make_optimizer(parameters):",
        f'    """Keras\'s {keras} optimizer with the studio\'s settings, in PyTorch."""',
        *format_lines([f"return {line}"], 4),
    ]
    return "\n".join(lines)


def _source(text: str) -> str:
    return textwrap.dedent(text).strip("\n") + "\n"


def training_code(graph: Graph, settings: TrainingSettings) -> Section:
    """The training section for ``graph`` trained with ``settings``: it defines ``fit``,
    ``evaluate``, ``is_main_process`` and ``finish``, and the constants ``EPOCHS`` and
    ``BATCH_SIZE``."""
    report = infer_shapes(graph)
    outputs = [n for n in graph.nodes if n in report.live and graph.nodes[n].kind == "Output"]
    rank = 1
    if outputs and not report.errors:
        edge = graph.in_edges(outputs[0])[0]
        rank = len(report.outputs[edge.src][edge.src_port])
    loss = settings.loss if isinstance(settings.loss, str) else next(iter(settings.loss.values()))
    metrics = list(dict.fromkeys(canonical_metric(m) or m for m in settings.metrics))
    constants = [
        f"EPOCHS = {settings.epochs}",
        f"BATCH_SIZE = {settings.batch_size}",
        f"VALIDATION_SPLIT = {number(settings.validation_split)}",
        f"SHUFFLE = {settings.shuffle!r}",
        f"SEED = {settings.seed if settings.seed is not None else 0}",
        f"DEVICE = {quoted(settings.device)}",
        f"CLASS_AXIS = {1 if rank >= 3 else -1}  # where the classes are in the outputs",
        "EPSILON = 1e-7  # Keras keeps probabilities within [1e-7, 1 - 1e-7]",
    ]
    if settings.clipnorm is not None:
        constants.append(f"CLIPNORM = {number(settings.clipnorm)}")
    if settings.clipvalue is not None:
        constants.append(f"CLIPVALUE = {number(settings.clipvalue)}")
    loss_name = canonical_loss(loss) or "mean_squared_error"
    parts = ["\n".join(constants) + "\n", _optimizer(settings) + "\n"]
    parts.append(_source(_LOSSES[loss_name]))
    bodies = [_METRICS[m] for m in metrics if m in _METRICS]
    uses = "".join(bodies)
    if "class_ids(" in uses:
        parts.append(_source(_CLASS_IDS))
    if "one_hot_like(" in uses:
        parts.append(_source(_ONE_HOT))
    parts += [_source(b) for b in bodies]
    names = [m for m in metrics if m in _METRICS]
    parts.append("METRICS = {" + ", ".join(f'"{m}": {m}' for m in names) + "}\n")
    parts.append(_source(_LOOP))
    clip = []
    if settings.clipnorm is not None:
        clip.append(
            "            for weight in model.parameters():  # Keras clips each weight's own\n"
            "                torch.nn.utils.clip_grad_norm_([weight], CLIPNORM)\n"
        )
    if settings.clipvalue is not None:
        clip.append("            torch.nn.utils.clip_grad_value_(model.parameters(), CLIPVALUE)\n")
    code = "\n\n".join(p.rstrip("\n") + "\n" for p in parts)
    code = code.replace("            # clipping\n", "".join(clip))
    imports = (
        "import os",
        "import numpy as np",
        "import torch",
        "import torch.distributed as dist",
        "import torch.nn.functional as F",
        "from torch.nn.parallel import DistributedDataParallel",
    )
    return Section(code, imports)


_LOOP = '''
    def pick_device():
        """The device the studio's settings ask for: a GPU when there is one, for "auto"."""
        if DEVICE == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(DEVICE)


    def process_rank():
        """This process's number and how many train together (torchrun sets both)."""
        return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


    def is_main_process():
        """Whether this process reports and saves (the only one, or torchrun's first)."""
        return process_rank()[0] == 0


    def finish():
        """Leave the group of processes, when torchrun started several."""
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


    def as_tensors(inputs, y, indices, device):
        """One batch of numpy inputs and targets as tensors on the device."""
        xs = [
            torch.from_numpy(np.asarray(x[indices])).to(device, kind)
            for x, kind in zip(inputs, INPUT_TYPES, strict=True)
        ]
        target = torch.from_numpy(np.asarray(y[indices])).to(device)
        return xs, target if target.dtype == torch.int64 else target.float()


    def split(inputs, y):
        """Keep VALIDATION_SPLIT of the samples aside (a seeded, shuffled choice)."""
        if not VALIDATION_SPLIT:  # nothing to keep aside: the data stays in its order
            return (inputs, y), ([x[:0] for x in inputs], y[:0])
        order = np.random.default_rng(SEED).permutation(len(y))
        keep = len(y) - round(len(y) * VALIDATION_SPLIT)
        train, held = order[:keep], order[keep:]
        return ([x[train] for x in inputs], y[train]), ([x[held] for x in inputs], y[held])


    def measure(outputs, y):
        """The metrics of a set of outputs against their targets."""
        return {name: float(metric(outputs, y)) for name, metric in METRICS.items()}


    def evaluate(model, inputs, y, batch_size=BATCH_SIZE):
        """Keras's evaluate: the loss and the metrics, without training."""
        device = next(model.parameters()).device
        model.eval()
        outputs, targets = [], []
        with torch.no_grad():
            for start in range(0, len(y), batch_size):
                indices = np.arange(start, min(start + batch_size, len(y)))
                xs, target = as_tensors(inputs, y, indices, device)
                outputs.append(model(*xs).float().cpu())
                targets.append(target.cpu())
        outputs, targets = torch.cat(outputs), torch.cat(targets)
        return {"loss": float(loss_function(outputs, targets)), **measure(outputs, targets)}


    def fit(model, inputs, y, epochs=EPOCHS, batch_size=BATCH_SIZE):
        """Keras's fit: train, report each epoch, and return the history."""
        torch.manual_seed(SEED)
        rank, world = process_rank()
        device = pick_device()
        if world > 1:
            if device.type == "cuda":
                device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            if not dist.is_initialized():
                dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        model.to(device)
        trainer = model if world == 1 else DistributedDataParallel(model)
        optimizer = make_optimizer(model.parameters())
        (x_train, y_train), (x_val, y_val) = split(inputs, y)
        shuffler = np.random.default_rng(SEED)
        history = {}
        for epoch in range(epochs):
            order = np.arange(len(y_train))
            if SHUFFLE:
                order = shuffler.permutation(order)  # the same order in every process
            mine = order[rank::world][: len(order) // world]  # equal shares
            trainer.train()
            outputs, targets, total = [], [], 0.0
            for start in range(0, len(mine), batch_size):
                batch = mine[start : start + batch_size]
                xs, target = as_tensors(x_train, y_train, batch, device)
                output = trainer(*xs)
                loss = loss_function(output, target)
                optimizer.zero_grad()
                loss.backward()
                # clipping
                optimizer.step()
                total += loss.item() * len(target)
                outputs.append(output.detach().float().cpu())
                targets.append(target.cpu())
            logs = {"loss": total / max(len(mine), 1)}
            if outputs:
                logs.update(measure(torch.cat(outputs), torch.cat(targets)))
            if world > 1:  # the mean over the processes
                values = torch.tensor(list(logs.values()), dtype=torch.float64)
                dist.all_reduce(values)
                logs = dict(zip(logs, (values / world).tolist(), strict=True))
            if len(y_val):
                validation = evaluate(model, x_val, y_val, batch_size)
                logs.update({f"val_{name}": value for name, value in validation.items()})
            for name, value in logs.items():
                history.setdefault(name, []).append(value)
            if is_main_process():
                shown = " - ".join(f"{name}: {value:.4f}" for name, value in logs.items())
                print(f"Epoch {epoch + 1}/{epochs} - {shown}", flush=True)
        return history
'''
