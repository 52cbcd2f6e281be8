"""``fit``, ``evaluate`` and ``predict`` in Keras's words, at the speed of a hand-written loop.

The fast path keeps data that fits in memory on the device as tensors and shuffles it by
permutation; metrics accumulate on the device; the host waits for the device only at the end
of an epoch (and every :data:`CHECK_EVERY` batches, to stop a diverging run early).

A final softmax or sigmoid is taken out of the model while it trains and fused into the loss
(``from_logits``), so that confident predictions cannot make the loss infinite; metrics see
probabilities, and the model is put back as it was when training ends, however it ends.

Callbacks (:mod:`core.callbacks`) follow Keras (``on_train_begin``, ``on_epoch_end``). Batch logs
hold device tensors, so that nothing waits for the device unless a callback asks for a number
(``float(logs["loss"])``). :class:`Control` stops or pauses training from another thread,
effective within one batch. Nothing here knows of Qt or threads.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import time
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from core.callbacks import Callback, Control, History
from core.compile import model_info
from core.data.dataset import Array, DataError, Dataset, take
from core.data.loader import BatchLoader
from core.devices import choose_device, make_optimizer
from core.layers.activations import Softmax
from core.layers.modules import Activated
from core.losses import Loss, check_targets, make_loss
from core.metrics import Metric, make_metric
from core.training_settings import TrainingSettings

#: The host checks the running loss for NaN or infinity every this many batches.
CHECK_EVERY = 16
#: Evaluation and prediction batches are at least this large (no gradients to keep).
EVAL_BATCH = 256


class TrainingError(RuntimeError):
    """Training that cannot go on; ``str(err)`` says why and what to try, in plain words."""


# -- the final activation, fused into the loss ----------------------------------------------


@dataclass(frozen=True)
class _Head:
    """How one model output is trained: its loss, whether it gives logits, the class axis."""

    loss_name: str
    loss: Loss
    activation: str | None  # "softmax" or "sigmoid" when stripped for training, else None
    class_axis: int

    @property
    def fused_sparse(self) -> bool:
        """Whether the loss is the cross-entropy of raw scores against class ids."""
        return self.loss.name == "sparse_categorical_crossentropy" and self.activation == "softmax"


def _final_activation(module: fx.GraphModule, node: fx.Node) -> tuple[nn.Module, str, str] | None:
    """(owner, attribute, kind) of a softmax or sigmoid that ``node`` ends with, when only the
    model's output uses that node (else taking the activation out would change other layers)."""
    if node.op != "call_module" or len(node.users) != 1:
        return None
    sub = module.get_submodule(str(node.target))
    owner: nn.Module = module
    attr, act = str(node.target), sub
    if isinstance(sub, Activated):
        owner, attr, act = sub, "activation", sub.activation
    if isinstance(act, Softmax):
        return owner, attr, "softmax"
    if isinstance(act, nn.Sigmoid):
        return owner, attr, "sigmoid"
    return None


@contextmanager
def _logits(module: fx.GraphModule, heads: list[_Head]) -> Iterator[None]:
    """Take the final activations the heads fuse out of ``module``; always put them back."""
    output = next(n for n in module.graph.nodes if n.op == "output")
    results = output.args[0]
    nodes = list(results) if isinstance(results, (tuple, list)) else [results]
    swapped: list[tuple[nn.Module, str, nn.Module]] = []
    try:
        for node, head in zip(nodes, heads, strict=True):
            found = _final_activation(module, node) if head.activation else None
            if found is not None:
                owner, attr, _ = found
                swapped.append((owner, attr, getattr(owner, attr)))
                setattr(owner, attr, nn.Identity())
        yield
    finally:
        for owner, attr, original in reversed(swapped):
            setattr(owner, attr, original)


def _apply(activation: str | None, logits: torch.Tensor, axis: int) -> torch.Tensor:
    if activation == "softmax":
        return logits.softmax(dim=axis)
    if activation == "sigmoid":
        return logits.sigmoid()
    return logits


def _shape(shape: Sequence[int]) -> str:
    return "×".join(str(d) for d in shape) or "1"


# -- the trainer -----------------------------------------------------------------------------


def _as_tensor(
    array: Array, device: torch.device, dtype: torch.dtype | None = None
) -> torch.Tensor:
    values = array if isinstance(array, np.ndarray) else array.take(np.arange(len(array)))
    tensor = torch.from_numpy(np.ascontiguousarray(values))
    if dtype is not None:
        tensor = tensor.to(dtype)
    elif tensor.dtype == torch.float64:
        tensor = tensor.float()
    return tensor.to(device)


class _Inputs:
    """A dataset's inputs for batching: on the device when they are arrays (the fast path),
    read ahead by worker processes when a source is lazy (an image folder bigger than the
    memory budget; see :mod:`core.data.loader`)."""

    def __init__(self, arrays: Sequence[Array], device: torch.device) -> None:
        self.device = device
        self.lazy = any(not isinstance(a, np.ndarray) for a in arrays)
        self.tensors = [] if self.lazy else [_as_tensor(a, device) for a in arrays]
        # Two cores are taken by the training itself: workers there only add copies.
        workers = 0 if (os.cpu_count() or 1) <= 2 else None
        self.loader = BatchLoader(arrays, workers=workers) if self.lazy else None

    def batches(
        self, order: torch.Tensor, size: int
    ) -> Generator[tuple[torch.Tensor, list[torch.Tensor]], None, None]:
        """(indices, inputs) for each batch of ``order`` in turn; close it to stop early."""
        starts = range(0, len(order), size)
        if self.loader is None:
            for start in starts:
                index = order[start : start + size]
                yield index, [x[index] for x in self.tensors]
            return
        chosen = order.cpu().numpy()
        with closing(self.loader.batches([chosen[s : s + size] for s in starts])) as reader:
            for start, inputs in zip(starts, reader, strict=False):
                index = order[start : start + size]
                yield index, [t.to(self.device, non_blocking=True) for t in inputs]

    def close(self) -> None:
        if self.loader is not None:
            self.loader.close()


class Trainer:
    """Trains one compiled model (:func:`core.compile.compile_graph`) with ``settings``.

    Attributes:
        module: The model, moved to :attr:`device`.
        device: Where it trains (see :func:`choose_device`; :attr:`device_message` says why
            when it is not the one asked for).
        history: Every finished epoch so far; another ``fit`` continues it.
        notes: Sentences about what happened (stopped early, learning rate lowered, ...).
    """

    def __init__(
        self,
        module: fx.GraphModule,
        settings: TrainingSettings,
        *,
        output_names: Sequence[str] | None = None,
        mixed_precision: bool = False,
    ) -> None:
        choice = choose_device(settings.device)
        self.device, self.device_message = choice.device, choice.message
        self.device_name = choice.name
        self.settings = settings
        self.module = module.to(self.device)
        info = model_info(module)
        if len(info.outputs) != 1:
            raise TrainingError(
                "Training a model with several outputs needs a target for each; the studio "
                "trains models with one Output layer for now."
            )
        names = list(output_names or info.outputs)
        self.heads = [self._head(settings.loss_for(name)) for name in names]
        params = [p for p in module.parameters() if p.requires_grad]
        self.optimizer = make_optimizer(settings, params)
        self.amp = mixed_precision and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda") if self.amp else None
        self.history = History()
        self.notes: list[str] = []
        self.stop_training = False
        self.epoch = 0

    def _head(self, loss_name: str) -> _Head:
        loss = make_loss(loss_name)
        activation = loss.logits_activation
        output = next(n for n in self.module.graph.nodes if n.op == "output").args[0]
        found = _final_activation(self.module, output) if isinstance(output, fx.Node) else None
        if found is None or found[2] != activation:
            activation = None  # nothing to fuse: the loss takes probabilities as Keras does
        axis = -1
        if found is not None and found[2] == "softmax":
            softmax = getattr(found[0], found[1])
            assert isinstance(softmax, Softmax)
            axis = softmax.dim
        return _Head(loss.name, loss, activation, axis)

    # -- state ------------------------------------------------------------------------------

    @property
    def learning_rate(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = float(value)

    def state(self) -> dict[str, torch.Tensor]:
        """A copy of the model's weights (on the device), for going back to them."""
        return {k: v.detach().clone() for k, v in self.module.state_dict().items()}

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)

    def note(self, text: str) -> None:
        self.notes.append(text)

    # -- data -------------------------------------------------------------------------------

    def _targets(self, data: Dataset, head: _Head) -> tuple[torch.Tensor, _Head]:
        """The targets on the device, and the head that reads them.

        Class ids for ``categorical_crossentropy`` stay ids, read by the sparse loss: the
        numbers are the same as with one-hot rows (the metrics read ids too), and a batch
        costs one fused cross-entropy instead of a product with a one-hot matrix.
        """
        y = data.y
        if head.loss_name == "categorical_crossentropy" and y.ndim == 1:
            head = replace(head, loss=make_loss("sparse_categorical_crossentropy"))
            return _as_tensor(y, self.device, torch.int64), head
        if head.loss_name == "sparse_categorical_crossentropy":
            return _as_tensor(y, self.device, torch.int64), head
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        return _as_tensor(y, self.device, torch.float32), head

    def _inputs(self, data: Dataset) -> _Inputs:
        return _Inputs(data.x, self.device)

    def _check(self, data: Dataset, what: str) -> None:
        """Stop before training when ``data`` cannot fit the model, saying why.

        One sample goes through the model (in evaluation mode: no random numbers drawn) and
        the labels are checked against its output and the loss. The studio's fit checks
        (:mod:`core.fit_checks`) say the same with the layers' names before this is reached.
        """
        if not len(data):
            raise TrainingError(f"The {what} data has no samples.")
        info = model_info(self.module)
        expected = len(info.inputs)
        if len(data.x) != expected:
            raise TrainingError(
                f"The model has {expected} input{'s'[: expected != 1]} but the {what} data "
                f"gives {len(data.x)}."
            )
        pairs = zip(info.input_shapes, data.input_shapes, strict=False)  # () for old modules
        for i, (wanted, given) in enumerate(pairs):
            if tuple(wanted) != tuple(given):
                which = f"input {i + 1}" if expected > 1 else "input"
                raise TrainingError(
                    f"The model's {which} takes samples of shape {_shape(wanted)} but the "
                    f"{what} data has samples of shape {_shape(given)}; set the Input layer's "
                    "shape to the data's (or use the fix the studio offers)."
                )
        was_training = self.module.training
        try:
            with torch.no_grad():
                sample = [_as_tensor(take(a, np.arange(1)), self.device) for a in data.x]
                out = self.module.eval()(*sample)
        except (RuntimeError, ValueError, TypeError, IndexError) as err:
            shapes = ", ".join(_shape(s) for s in data.input_shapes)
            raise TrainingError(
                f"The {what} data (samples of shape {shapes}) does not fit the model: {err}"
            ) from None
        finally:
            self.module.train(was_training)
        head = self.heads[0]
        problem = check_targets(
            head.loss_name,
            tuple(out.shape[1:]),
            data.y,
            class_axis=head.class_axis,
            one_hot_ids=True,
        )
        if problem is not None:
            raise TrainingError(f"The {what} labels do not fit the model: {problem}")

    # -- fit --------------------------------------------------------------------------------

    def fit(
        self,
        train: Dataset,
        validation: Dataset | None = None,
        *,
        epochs: int | None = None,
        callbacks: Sequence[Callback] = (),
        control: Control | None = None,
        class_weight: dict[int, float] | None = None,
    ) -> History:
        """Train for ``epochs`` (the settings' by default) more epochs; Keras's ``fit``.

        Raises:
            TrainingError: The loss became NaN or infinite, or the GPU ran out of memory; the
                weights are those from before the failing epoch.
        """
        settings, head = self.settings, self.heads[0]
        epochs = settings.epochs if epochs is None else epochs
        control = control or Control()
        if settings.seed is not None:
            torch.manual_seed(settings.seed + self.epoch)
        # a new order for every epoch, also when fit is called one epoch at a time
        shuffler = torch.Generator().manual_seed((settings.seed or 0) + self.epoch)
        self._check(train, "training")
        if validation is not None and len(validation):
            self._check(validation, "validation")
        xs = self._inputs(train)
        y, head = self._targets(train, head)
        weights = None
        if class_weight:
            size = max(max(class_weight), train.num_classes - 1, int(train.y.max())) + 1
            table = torch.ones(size, device=self.device)  # a class left out weighs 1, as in Keras
            for k, w in class_weight.items():
                table[k] = float(w)
            weights = table[torch.from_numpy(train.y.astype(np.int64)).to(self.device)]
        metrics = [
            make_metric(m, head.loss_name, class_axis=head.class_axis) for m in settings.metrics
        ]
        for callback in callbacks:
            callback.trainer = self
        self.stop_training = False
        logs: dict[str, Any] = {}
        for callback in callbacks:
            callback.on_train_begin(logs)
        n, batch = len(train), settings.batch_size
        snapshot: dict[str, torch.Tensor] | None = None
        moments: dict[str, Any] | None = None
        try:
            with _logits(self.module, self.heads):
                for _ in range(epochs):
                    if self.stop_training or control.stopped:
                        break
                    epoch = self.epoch
                    for callback in callbacks:
                        callback.on_epoch_begin(epoch, logs)
                    started, snapshot = time.perf_counter(), self.state()
                    moments = copy.deepcopy(self.optimizer.state_dict())
                    order = (
                        torch.randperm(n, generator=shuffler)
                        if settings.shuffle
                        else torch.arange(n)
                    )
                    order = order.to(self.device)
                    total = torch.zeros((), device=self.device, dtype=torch.float64)
                    for metric in metrics:
                        metric.reset()
                    self.module.train()
                    seen = 0
                    with closing(xs.batches(order, batch)) as reader:
                        for step, (index, inputs) in enumerate(reader):
                            control.wait_while_paused()
                            if control.stopped:
                                break
                            batch_logs: dict[str, Any] = {"size": len(index)}
                            for callback in callbacks:
                                callback.on_batch_begin(step, batch_logs)
                            loss, probs = self._step(
                                head,
                                inputs,
                                y[index],
                                None if weights is None else weights[index],
                            )
                            total += loss.detach().double() * len(index)
                            seen += len(index)
                            for metric in metrics:
                                metric.update(probs.detach(), y[index])
                            if callbacks:  # device tensors: nothing waits unless read
                                batch_logs["loss"] = total / seen  # Keras: the running mean
                                batch_logs["batch_loss"] = loss.detach()  # this batch's own
                            for callback in callbacks:
                                callback.on_batch_end(step, batch_logs)
                            if step % CHECK_EVERY == CHECK_EVERY - 1 and not torch.isfinite(total):
                                break
                    if seen == 0:
                        break
                    mean = float(total) / seen
                    if not math.isfinite(mean):
                        self.load_state(snapshot)
                        self.optimizer.load_state_dict(moments)  # Adam's moments are NaN too
                        raise TrainingError(
                            f"The loss became {'infinite' if math.isinf(mean) else 'NaN'} in epoch "
                            f"{epoch + 1}, so training stopped; the model keeps the weights it had "
                            "before that epoch. Try a lower learning rate (say a tenth), or check "
                            "the data for very large or missing values."
                        )
                    record = {"loss": mean}
                    record |= {m.name: m.result() for m in metrics}
                    if validation is not None and len(validation):
                        record |= {
                            f"val_{k}": v for k, v in self._evaluate(validation, metrics).items()
                        }
                    record["learning_rate"] = self.learning_rate
                    record["seconds"] = time.perf_counter() - started
                    record["samples_per_second"] = seen / max(record["seconds"], 1e-9)
                    self.history.epochs.append(record)
                    self.epoch += 1
                    logs = dict(record)
                    for callback in callbacks:
                        callback.on_epoch_end(epoch, logs)
        except DataError as err:  # a lazy image that went missing or bad mid-training
            raise TrainingError(
                f"{err} Training stopped; the model keeps what it learnt so far."
            ) from None
        except torch.OutOfMemoryError:
            self.optimizer.zero_grad(set_to_none=True)
            if snapshot is not None and moments is not None:  # back to the epoch's start
                self.load_state(snapshot)
                self.optimizer.load_state_dict(moments)
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            raise TrainingError(
                f"The {self.device_name} ran out of memory with batches of {batch}; the model is "
                "as it was at the start of the epoch. Try a smaller batch size."
            ) from None
        finally:
            xs.close()
            self.module.eval()
        for callback in callbacks:
            callback.on_train_end(logs)
        return self.history

    def _step(
        self, head: _Head, xs: list[torch.Tensor], y: torch.Tensor, weight: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        self.optimizer.zero_grad(set_to_none=True)
        precision = torch.autocast(self.device.type) if self.amp else contextlib.nullcontext()
        with precision:
            out = self.module(*xs)
            if head.fused_sparse and weight is None and out.ndim == 2:
                # The common case, as a hand-written loop has it: the labels were checked
                # against the output before training (_check), so no guard per batch.
                loss = F.cross_entropy(out.float(), y)
            else:
                loss = head.loss(
                    out.float(),
                    y,
                    from_logits=head.activation is not None,
                    class_axis=head.class_axis,
                    sample_weight=weight,
                )
        if self.scaler is not None:
            self.scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()  # type: ignore[no-untyped-call]
        self._clip()
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        return loss, _apply(head.activation, out.detach().float(), head.class_axis)

    def _clip(self) -> None:
        if self.settings.clipvalue is None and self.settings.clipnorm is None:
            return
        params = [p for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]
        if self.settings.clipvalue is not None:
            torch.nn.utils.clip_grad_value_(params, self.settings.clipvalue)
        if self.settings.clipnorm is not None:
            for p in params:  # Keras clips each weight's gradient by its own norm
                torch.nn.utils.clip_grad_norm_([p], self.settings.clipnorm)

    # -- evaluate and predict ---------------------------------------------------------------

    def _evaluate(self, data: Dataset, metrics: Sequence[Metric]) -> dict[str, float]:
        xs = self._inputs(data)
        y, head = self._targets(data, self.heads[0])
        total = torch.zeros((), device=self.device, dtype=torch.float64)
        for metric in metrics:
            metric.reset()
        was_training = self.module.training
        self.module.eval()
        batch = max(self.settings.batch_size, EVAL_BATCH)
        order = torch.arange(len(data), device=self.device)
        try:
            with torch.no_grad(), closing(xs.batches(order, batch)) as reader:
                for index, inputs in reader:
                    out = self.module(*inputs).float()
                    loss = head.loss(
                        out,
                        y[index],
                        from_logits=head.activation is not None,
                        class_axis=head.class_axis,
                    )
                    total += loss.double() * len(index)
                    probs = _apply(head.activation, out, head.class_axis)
                    for metric in metrics:
                        metric.update(probs, y[index])
        except DataError as err:
            raise TrainingError(str(err)) from None
        finally:
            xs.close()
        self.module.train(was_training)
        return {"loss": float(total) / max(1, len(data))} | {m.name: m.result() for m in metrics}

    def evaluate(self, data: Dataset) -> dict[str, float]:
        """Keras's ``evaluate``: the loss and every metric on ``data``."""
        head = self.heads[0]
        metrics = [
            make_metric(m, head.loss_name, class_axis=head.class_axis)
            for m in self.settings.metrics
        ]
        self._check(data, "test")
        with _logits(self.module, self.heads):
            return self._evaluate(data, metrics)

    def predict(self, xs: Sequence[Array], batch_size: int = EVAL_BATCH) -> np.ndarray:
        """Keras's ``predict``: the model's outputs (probabilities for a softmax) in batches."""
        self.module.eval()
        n = len(xs[0])
        parts = []
        with torch.no_grad():
            for start in range(0, n, batch_size):
                index = np.arange(start, min(n, start + batch_size))
                batch = [_as_tensor(take(a, index), self.device) for a in xs]
                parts.append(self.module(*batch).float().cpu().numpy())
        return np.concatenate(parts) if parts else np.zeros((0,), dtype=np.float32)
