"""Where training runs (CPU, CUDA, Apple MPS) and the optimizer it uses, by Keras's names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from core.training_settings import TrainingSettings

# -- devices ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceChoice:
    """The device to train on, and a sentence for the user when it is not the one asked for."""

    device: torch.device
    message: str = ""

    @property
    def name(self) -> str:
        if self.device.type == "cuda":
            return f"GPU ({torch.cuda.get_device_name(self.device)})"
        return {"mps": "Apple GPU (MPS)", "cpu": "CPU"}.get(self.device.type, str(self.device))


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[str]:
    """What this machine can train on: ``cpu`` and, where present, ``cuda`` and ``mps``."""
    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    if _mps_available():
        found.append("mps")
    return found


def choose_device(requested: str = "auto") -> DeviceChoice:
    """``auto`` takes a GPU when there is one; a missing GPU falls back to the CPU, saying so."""
    found = available_devices()
    if requested == "auto":
        best = "cuda" if "cuda" in found else "mps" if "mps" in found else "cpu"
        return DeviceChoice(torch.device(best))
    if requested in found:
        return DeviceChoice(torch.device(requested))
    what = {"cuda": "No NVIDIA GPU (CUDA) was found", "mps": "No Apple GPU (MPS) was found"}
    reason = what.get(requested, f"There is no device called {requested!r}")
    return DeviceChoice(torch.device("cpu"), f"{reason}; training on the CPU instead.")


# -- optimizers ------------------------------------------------------------------------------


def _fusable(params: Sequence[nn.Parameter]) -> bool | None:
    """Whether Adam's fused kernel can take ``params`` (None leaves it to torch)."""
    devices = {p.device.type for p in params}
    fine = all(
        p.dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16) for p in params
    )
    return True if fine and len(devices) == 1 and devices <= {"cpu", "cuda", "mps"} else None


def make_optimizer(
    settings: TrainingSettings, params: Sequence[nn.Parameter]
) -> torch.optim.Optimizer:
    """The torch optimizer that does what Keras's optimizer of the same name does."""
    o = settings.all_optimizer_options()
    lr = float(o["learning_rate"])
    name = settings.optimizer
    betas = (float(o.get("beta_1", 0.9)), float(o.get("beta_2", 0.999)))
    eps = float(o.get("epsilon", 1e-7))
    if name == "sgd":
        momentum = float(o["momentum"])
        return torch.optim.SGD(
            params, lr=lr, momentum=momentum, nesterov=bool(o["nesterov"]) and momentum > 0
        )
    if name in ("adam", "adamw"):
        kind = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        options: dict[str, Any] = dict(lr=lr, betas=betas, eps=eps, amsgrad=bool(o["amsgrad"]))
        if name == "adamw":
            options["weight_decay"] = float(o["weight_decay"])
        try:  # one kernel for every weight: a fifth of the step's time on small models
            return kind(params, **options, fused=_fusable(params))
        except (RuntimeError, TypeError, ValueError):  # an older torch, an odd device
            return kind(params, **options)
    if name == "rmsprop":
        return torch.optim.RMSprop(
            params,
            lr=lr,
            alpha=float(o["rho"]),
            eps=eps,
            momentum=float(o["momentum"]),
            centered=bool(o["centered"]),
        )
    if name == "adagrad":
        return torch.optim.Adagrad(
            params, lr=lr, eps=eps, initial_accumulator_value=float(o["initial_accumulator_value"])
        )
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, rho=float(o["rho"]), eps=eps)
    if name == "nadam":
        # Keras decays the momentum as 0.96**t; torch's default is 0.96**(0.004 t)
        return torch.optim.NAdam(params, lr=lr, betas=betas, eps=eps, momentum_decay=1.0)
    raise ValueError(f"There is no optimizer called {name!r}.")  # settings checked it already
