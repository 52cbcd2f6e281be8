"""The torch side of the recurrent layers: SimpleRNN, LSTM and GRU as Keras runs them.

:class:`Recurrent` keeps its weights in a ``torch.nn.RNN``/``LSTM``/``GRU`` (so Keras's default
activations run on torch's fused kernels, cuDNN included) and steps through the sequence itself
where torch has no kernel for what Keras computes: other activations, and recurrent dropout
while training. Both paths use the same weights and Keras's formulas (keras-h5.md §7).

Keras's dropout in recurrent layers draws one mask per sequence and keeps it for every step. With
``recurrent_dropout`` Keras 3 switches LSTM and GRU cells to their per-gate form, with one mask
per gate for the inputs and for the memory; otherwise one input mask serves every gate.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from core.layers.activations import make_activation
from core.layers.spec import load_array, to_numpy

#: Keras class name -> number of gate blocks in the weights (torch and Keras alike).
GATES: dict[str, int] = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}

#: Hidden states each cell returns with ``return_state``: h (and c for LSTM).
STATE_COUNT: dict[str, int] = {"SimpleRNN": 1, "LSTM": 2, "GRU": 1}


def rnn_weights(rnn: nn.RNNBase) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """A torch RNN's input weights, recurrent weights and biases ([] or [input, recurrent])."""
    names = ["weight_ih_l0", "weight_hh_l0"] + (["bias_ih_l0", "bias_hh_l0"] if rnn.bias else [])
    tensors = [getattr(rnn, name) for name in names]
    assert all(isinstance(t, torch.Tensor) for t in tensors)
    return tensors[0], tensors[1], tensors[2:]


def rnn_activation(name: str) -> nn.Module:
    """Keras's activation ``name`` on (batch, units) tensors, hard_sigmoid included."""
    if name == "hard_sigmoid":
        return nn.Hardsigmoid()  # Keras 3: relu6(x + 3) / 6, exactly torch's
    return make_activation(name, 1)


class Recurrent(nn.Module):
    """A Keras SimpleRNN, LSTM or GRU (``reset_after=True``) on (batch, steps, features).

    Args:
        cell: ``"SimpleRNN"``, ``"LSTM"`` or ``"GRU"``.
        features: Features per step of the input.
        units: Size of the memory and of each output.
        activation: Keras's ``activation``.
        recurrent_activation: Keras's ``recurrent_activation`` (gates; unused by SimpleRNN).
        use_bias: Whether the layer has biases.
        dropout: Share of the inputs dropped while training.
        recurrent_dropout: Share of the memory dropped while training.
        go_backwards: Read the sequence from its end; outputs come in that (reversed) order.
        return_sequences: Output every step instead of only the last.
        return_state: Also output the final memory (h, and c for LSTM).
    """

    def __init__(
        self,
        cell: str,
        features: int,
        units: int,
        activation: str = "tanh",
        recurrent_activation: str = "sigmoid",
        use_bias: bool = True,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        go_backwards: bool = False,
        return_sequences: bool = False,
        return_state: bool = False,
    ) -> None:
        super().__init__()
        self.gates = GATES[cell]
        self.cell = cell
        self.rnn: nn.RNNBase
        if cell == "SimpleRNN":
            nonlinearity = "relu" if activation == "relu" else "tanh"
            self.rnn = nn.RNN(
                features, units, nonlinearity=nonlinearity, bias=use_bias, batch_first=True
            )
        else:
            torch_class = nn.LSTM if cell == "LSTM" else nn.GRU
            self.rnn = torch_class(features, units, bias=use_bias, batch_first=True)
        if use_bias and cell != "GRU":
            # Keras's LSTM and SimpleRNN have one bias; torch adds a second (bias_hh). Keep it at
            # zero and out of training, so that training, counts and files match Keras's.
            redundant = rnn_weights(self.rnn)[2][1]
            with torch.no_grad():
                redundant.zero_()
            redundant.requires_grad_(False)
            setattr(redundant, "keras_redundant", True)  # noqa: B010 (a tensor attribute)
        self.activation = rnn_activation(activation)
        self.recurrent_activation = rnn_activation(recurrent_activation)
        if cell == "SimpleRNN":
            self.fused = activation in ("tanh", "relu")
        else:
            self.fused = activation == "tanh" and recurrent_activation == "sigmoid"
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.go_backwards = go_backwards
        self.return_sequences = return_sequences
        self.return_state = return_state

    def extra_repr(self) -> str:
        flags = [
            f for f in ("go_backwards", "return_sequences", "return_state") if getattr(self, f)
        ]
        return f"{self.cell}, fused={self.fused}" + "".join(f", {f}" for f in flags)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        if self.go_backwards:
            x = x.flip(1)
        per_gate = self.cell != "SimpleRNN" and self.recurrent_dropout > 0
        in_masks: list[torch.Tensor] = []
        rec_masks: list[torch.Tensor] = []
        if self.training and self.dropout > 0:
            in_masks = self.dropout_masks(x[:, 0], self.dropout, self.gates if per_gate else 1)
        if self.training and self.recurrent_dropout > 0:
            memory = x.new_empty(x.shape[0], self.rnn.hidden_size)
            count = self.gates if per_gate else 1
            rec_masks = self.dropout_masks(memory, self.recurrent_dropout, count)
        if len(in_masks) == 1:
            x = x * in_masks[0].unsqueeze(1)
            in_masks = []
        if self.fused and not in_masks and not rec_masks:
            seq, last = self.rnn(x)
            states = list(last) if isinstance(last, tuple) else [last]
            states = [s.squeeze(0) for s in states]
        else:
            seq, states = self.steps(x, in_masks, rec_masks)
        result = seq if self.return_sequences else states[0]
        return (result, *states) if self.return_state else result

    def dropout_masks(self, like: torch.Tensor, rate: float, count: int) -> list[torch.Tensor]:
        """``count`` Keras dropout masks shaped like ``like``: 0, or 1/(1-rate) kept values."""
        keep = torch.full_like(like, 1.0 - rate)
        return [torch.bernoulli(keep) / (1.0 - rate) for _ in range(count)]

    def steps(
        self, x: torch.Tensor, in_masks: list[torch.Tensor], rec_masks: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Keras's cell formulas step by step, with per-gate masks where given (torch order).

        Returns:
            Every step's output (batch, steps, units) and the final states [h] or [h, c].
        """
        rnn, gates = self.rnn, self.gates
        units = rnn.hidden_size
        w_ih, w_hh, biases = rnn_weights(rnn)
        b_ih, b_hh = biases if biases else (None, None)
        if in_masks:  # one input projection per gate, each with its own mask
            w_blocks = w_ih.chunk(gates)
            projected = torch.cat(
                [(x * m.unsqueeze(1)) @ w.T for m, w in zip(in_masks, w_blocks, strict=True)], -1
            )
        else:
            projected = x @ w_ih.T
        if b_ih is not None:
            projected = projected + b_ih
        h = x.new_zeros(x.shape[0], units)
        c = x.new_zeros(x.shape[0], units)
        act, gate = self.activation, self.recurrent_activation
        outputs = []
        for t in range(x.shape[1]):
            if rec_masks and len(rec_masks) == gates:
                blocks = w_hh.chunk(gates)
                rec = torch.cat([(h * m) @ w.T for m, w in zip(rec_masks, blocks, strict=True)], -1)
            else:
                rec = (h * rec_masks[0] if rec_masks else h) @ w_hh.T
            if b_hh is not None:
                rec = rec + b_hh
            xt = projected[:, t]
            if self.cell == "SimpleRNN":
                h = act(xt + rec)
            elif self.cell == "LSTM":
                i, f, g, o = (xt + rec).chunk(4, -1)
                c = gate(f) * c + gate(i) * act(g)
                h = gate(o) * act(c)
            else:  # GRU, torch's block order r, z, n; reset applied after the matmul
                x_r, x_z, x_n = xt.chunk(3, -1)
                h_r, h_z, h_n = rec.chunk(3, -1)
                r, z = gate(x_r + h_r), gate(x_z + h_z)
                h = z * h + (1 - z) * act(x_n + r * h_n)
            outputs.append(h)
        return torch.stack(outputs, 1), [h, c] if self.cell == "LSTM" else [h]


def keras_init_rnn_(module: Recurrent, unit_forget_bias: bool = True) -> Recurrent:
    """Keras's initial weights: Glorot-uniform kernel, orthogonal recurrent kernel, zero bias.

    An LSTM with ``unit_forget_bias`` starts with its forget-gate bias at 1, as in Keras.
    """
    w_ih, w_hh, biases = rnn_weights(module.rnn)
    nn.init.xavier_uniform_(w_ih)  # (gates*units, in): Keras's fans, transposed
    nn.init.orthogonal_(w_hh)
    for bias in biases:
        nn.init.zeros_(bias)
    if biases and module.cell == "LSTM" and unit_forget_bias:
        units = module.rnn.hidden_size
        with torch.no_grad():
            biases[0][units : 2 * units] = 1.0
    return module


def _reorder(array: np.ndarray, module: Recurrent, axis: int) -> np.ndarray:
    """Swap the first two gate blocks of a GRU (torch r, z, n <-> Keras z, r, h); else as is."""
    if module.cell != "GRU":
        return array
    if array.ndim == 0 or array.shape[axis] % 3:
        raise ValueError(f"GRU weights should hold 3 gates but have shape {array.shape}.")
    blocks = np.split(array, 3, axis=axis)
    return np.concatenate([blocks[1], blocks[0], blocks[2]], axis=axis)


def recurrent_keras_weights(module: Recurrent) -> list[tuple[str, np.ndarray]]:
    """``kernel``, ``recurrent_kernel`` (and ``bias``) in Keras's layout and gate order."""
    w_ih, w_hh, biases = rnn_weights(module.rnn)
    kernel = _reorder(to_numpy(w_ih).T, module, 1)
    recurrent = _reorder(to_numpy(w_hh).T, module, 1)
    result = [("kernel", np.ascontiguousarray(kernel))]
    result.append(("recurrent_kernel", np.ascontiguousarray(recurrent)))
    if biases:
        b_ih, b_hh = (to_numpy(b) for b in biases)
        # Keras's GRU keeps both biases (input row, recurrent row); the others have one bias,
        # which torch splits into two that are simply added.
        bias = np.stack([b_ih, b_hh]) if module.cell == "GRU" else b_ih + b_hh
        result.append(("bias", np.ascontiguousarray(_reorder(bias, module, -1))))
    return result


def set_recurrent_keras_weights(module: Recurrent, arrays: list[np.ndarray], kind: str) -> None:
    """Load Keras's ``kernel``, ``recurrent_kernel`` (and ``bias``) into ``module``."""
    w_ih, w_hh, biases = rnn_weights(module.rnn)
    expected = 3 if biases else 2
    if len(arrays) != expected:
        raise ValueError(f"{kind} expects {expected} weight arrays, got {len(arrays)}.")
    kernel, recurrent = (np.asarray(a) for a in arrays[:2])
    for name, array in (("kernel", kernel), ("recurrent kernel", recurrent)):
        if array.ndim != 2:
            raise ValueError(f"{kind} {name} should have 2 axes but has {array.ndim}.")
    load_array(w_ih, _reorder(kernel, module, 1).T, f"{kind} kernel")
    load_array(w_hh, _reorder(recurrent, module, 1).T, f"{kind} recurrent kernel")
    if not biases:
        return
    bias = _reorder(np.asarray(arrays[2]), module, -1)
    if module.cell == "GRU":
        if bias.ndim != 2 or bias.shape[0] != 2:
            raise ValueError(
                f"GRU bias should have shape (2, {bias.shape[-1]}) (reset_after=True) but has "
                f"{tuple(bias.shape)}."
            )
        load_array(biases[0], bias[0], "GRU input bias")
        load_array(biases[1], bias[1], "GRU recurrent bias")
    else:
        load_array(biases[0], bias, f"{kind} bias")
        load_array(biases[1], np.zeros_like(bias), f"{kind} bias")


class BidirectionalModule(nn.Module):
    """Keras's Bidirectional: a forward and a backward copy of a layer, outputs merged.

    The backward copy reads the sequence from its end; with ``return_sequences`` its outputs are
    flipped back into the input's order before merging, as Keras does.

    Args:
        forward_layer: The layer reading the sequence from its start.
        backward_layer: The same kind of layer with ``go_backwards`` set.
        merge_mode: ``concat``, ``sum``, ``ave`` or ``mul``.
    """

    def __init__(self, forward_layer: Recurrent, backward_layer: Recurrent, merge_mode: str):
        super().__init__()
        self.forward_layer = forward_layer
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode

    def extra_repr(self) -> str:
        return f"merge_mode={self.merge_mode!r}"

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        y, y_rev = self.forward_layer(x), self.backward_layer(x)
        states: tuple[torch.Tensor, ...] = ()
        if isinstance(y, tuple) and isinstance(y_rev, tuple):
            states = (*y[1:], *y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        assert isinstance(y, torch.Tensor) and isinstance(y_rev, torch.Tensor)
        if self.forward_layer.return_sequences:
            y_rev = y_rev.flip(1)
        if self.merge_mode == "concat":
            merged = torch.cat([y, y_rev], -1)
        elif self.merge_mode == "sum":
            merged = y + y_rev
        elif self.merge_mode == "ave":
            merged = (y + y_rev) / 2
        else:
            merged = y * y_rev
        return (merged, *states) if states else merged
