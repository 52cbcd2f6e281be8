"""Code of the recurrent layers, SimpleRNN, LSTM and GRU, as torch's own ``nn.RNN``,
``nn.LSTM`` and ``nn.GRU`` (which compute what Keras does with its default activations; GRU
with ``reset_after=True``, Keras 2.x and 3's default)."""

from __future__ import annotations

from core.export.torch_layers import Layer, LayerCode, NoCodeError, call, helper, number, register

LOAD_RECURRENT = helper(
    "load_recurrent",
    '''
    def load_recurrent(module, arrays):
        """Keras keeps kernels as (inputs, gates * units), torch as their transpose; Keras's
        SimpleRNN and LSTM have one bias where torch has two that are added (the second stays
        0). Keras orders a GRU's gates z, r, h; torch r, z, n."""
        module = getattr(module, "cell", module)  # a KerasRecurrent keeps a torch layer
        kernel, recurrent, *bias = (torch.from_numpy(a) for a in arrays)
        gru = isinstance(module, nn.GRU)
        if gru:
            kernel, recurrent = swap_first_gates(kernel), swap_first_gates(recurrent)
        module.weight_ih_l0.copy_(kernel.T)
        module.weight_hh_l0.copy_(recurrent.T)
        if bias and gru:
            module.bias_ih_l0.copy_(swap_first_gates(bias[0][0]))
            module.bias_hh_l0.copy_(swap_first_gates(bias[0][1]))
        elif bias:
            module.bias_ih_l0.copy_(bias[0])
            module.bias_hh_l0.zero_()
    ''',
    needs=("swap_first_gates",),
)
helper(
    "swap_first_gates",
    '''
    def swap_first_gates(weights):
        """Swap the first two of three gate blocks along the last axis (GRU: z, r <-> r, z)."""
        z, r, h = weights.chunk(3, dim=-1)
        return torch.cat([r, z, h], dim=-1)
    ''',
)
STEPPED = helper(
    "KerasRecurrent",
    '''
    class KerasRecurrent(nn.Module):
        """Keras's SimpleRNN, LSTM or GRU step by step, for what torch's own layers cannot do:
        other activations, and recurrent dropout while training (one mask per gate, kept for
        every step). The weights live in `cell`, a torch layer; outputs come as it gives them."""

        def __init__(self, cell, activation, recurrent_activation, recurrent_dropout=0.0):
            super().__init__()
            self.cell, self.recurrent_dropout = cell, recurrent_dropout
            self.activation, self.recurrent_activation = activation, recurrent_activation

        def forward(self, x):
            cell, act, gate = self.cell, self.activation, self.recurrent_activation
            gates = 4 if isinstance(cell, nn.LSTM) else 3 if isinstance(cell, nn.GRU) else 1
            projected = x @ cell.weight_ih_l0.T
            if cell.bias:
                projected = projected + cell.bias_ih_l0
            h = c = x.new_zeros(x.shape[0], cell.hidden_size)
            rate = self.recurrent_dropout if self.training else 0.0
            keep = torch.full((gates, *h.shape), 1 - rate, device=x.device)
            masks = torch.bernoulli(keep) / (1 - rate) if rate else None
            blocks = cell.weight_hh_l0.chunk(gates)
            outputs = []
            for t in range(x.shape[1]):
                if masks is None:
                    recurrent = h @ cell.weight_hh_l0.T
                else:
                    parts = [(h * m) @ w.T for m, w in zip(masks, blocks, strict=True)]
                    recurrent = torch.cat(parts, dim=-1)
                if cell.bias:
                    recurrent = recurrent + cell.bias_hh_l0
                step = projected[:, t]
                if gates == 1:
                    h = act(step + recurrent)
                elif gates == 4:
                    i, f, g, o = (step + recurrent).chunk(4, dim=-1)
                    c = gate(f) * c + gate(i) * act(g)
                    h = gate(o) * act(c)
                else:  # torch's gate order r, z, n; the reset gate after the product
                    x_r, x_z, x_n = step.chunk(3, dim=-1)
                    h_r, h_z, h_n = recurrent.chunk(3, dim=-1)
                    r, z = gate(x_r + h_r), gate(x_z + h_z)
                    h = z * h + (1 - z) * act(x_n + r * h_n)
                outputs.append(h)
            state = (h[None], c[None]) if gates == 4 else h[None]
            return torch.stack(outputs, dim=1), state
    ''',
)
_ACTIVATION_MODULES = {
    "linear": "nn.Identity()",
    "relu": "nn.ReLU()",
    "sigmoid": "nn.Sigmoid()",
    "hard_sigmoid": "nn.Hardsigmoid()",
    "tanh": "nn.Tanh()",
    "gelu": "nn.GELU()",
    "elu": "nn.ELU()",
    "selu": "nn.SELU()",
    "softplus": "nn.Softplus()",
    "swish": "nn.SiLU()",
    "leaky_relu": "nn.LeakyReLU(0.2)",
    "softmax": "nn.Softmax(dim=-1)",
}
WITH_STATES = helper(
    "with_states",
    '''
    def with_states(outputs, return_sequences):
        """Keras's return_state: the output, then the final memory (h, and c for an LSTM)."""
        sequence, states = outputs
        states = states if isinstance(states, tuple) else (states,)
        states = [state[0] for state in states]  # the one layer's
        return (sequence if return_sequences else states[0], *states)
    ''',
)
STEP_DROPOUT = helper(
    "sequence_dropout",
    '''
    def sequence_dropout(x, rate, training):
        """Keras's dropout in a recurrent layer: the same inputs dropped at every step."""
        return x * F.dropout(torch.ones_like(x[:, :1]), rate, training)
    ''',
)
_TORCH = {"SimpleRNN": "nn.RNN", "LSTM": "nn.LSTM", "GRU": "nn.GRU"}


@register("SimpleRNN", "LSTM", "GRU")
def recurrent(layer: Layer) -> LayerCode:
    p = layer.params
    gates = p.get("recurrent_activation", "sigmoid")
    usual = p["activation"] == "tanh" or (layer.kind == "SimpleRNN" and p["activation"] == "relu")
    fused = usual and gates == "sigmoid" and not p["recurrent_dropout"]
    options = {"batch_first": "True"}
    if fused and layer.kind == "SimpleRNN" and p["activation"] == "relu":
        options["nonlinearity"] = '"relu"'
    if not p["use_bias"]:
        options["bias"] = "False"
    features = layer.inputs[0][-1]
    module = call(_TORCH[layer.kind], str(features), str(p["units"]), **options)
    helpers: tuple[str, ...] = ()
    if not fused:
        rates = [number(p["recurrent_dropout"])] if p["recurrent_dropout"] else []
        functions = [_ACTIVATION_MODULES[p["activation"]], _ACTIVATION_MODULES[gates]]
        module = call(STEPPED, module, *functions, *rates)
        helpers = (STEPPED,)
    value = "{0}.flip(1)" if p["go_backwards"] else "{0}"  # Keras reads from the end
    if p["dropout"]:
        value = f"{STEP_DROPOUT}({value}, {number(p['dropout'])}, self.training)"
        helpers += (STEP_DROPOUT,)
    if p["return_state"]:
        states = 3 if layer.kind == "LSTM" else 2
        result = f"{WITH_STATES}({{layer}}({value}), {p['return_sequences']!r})"
        return LayerCode(result, module, LOAD_RECURRENT, (*helpers, WITH_STATES), states)
    if p["return_sequences"]:
        return LayerCode(f"{{layer}}({value})[0]", module, LOAD_RECURRENT, helpers)
    return LayerCode(f"{{layer}}({value})[0][:, -1]", module, LOAD_RECURRENT, helpers)


LOAD_BIDIRECTIONAL = helper(
    "load_bidirectional",
    '''
    def load_bidirectional(module, arrays):
        """Keras keeps the forward layer's weights, then the backward one's; torch keeps the
        backward direction in the same module, under names ending in _reverse."""
        half = len(arrays) // 2
        size = (module.input_size, module.hidden_size)
        backward = type(module)(*size, bias=module.bias, batch_first=True)
        load_recurrent(module, arrays[:half])
        load_recurrent(backward, arrays[half:])
        for name, tensor in backward.named_parameters():
            getattr(module, name + "_reverse").copy_(tensor)
    ''',
    needs=(LOAD_RECURRENT,),
)
BOTH = helper(
    "both_directions",
    '''
    def both_directions(outputs, units, return_sequences):
        """The forward and the backward outputs of a bidirectional torch layer, as Keras's
        Bidirectional gives them: every step (the backward ones in the input's order), or
        each direction's final memory."""
        sequence, state = outputs
        if return_sequences:
            return sequence[..., :units], sequence[..., units:]
        memory = state[0] if isinstance(state, tuple) else state
        return memory[0], memory[1]
    ''',
)
_MERGE = {
    "concat": "torch.cat({both}, dim=-1)",
    "sum": "sum({both})",
    "ave": "sum({both}) / 2",
    "mul": "torch.mul(*{both})",
}


@register("Bidirectional")
def bidirectional(layer: Layer) -> LayerCode:
    p = layer.params
    inner = recurrent(Layer(p["layer"], {**p, "go_backwards": False}, layer.inputs, layer.outputs))
    if p["return_state"] or p["dropout"] or not inner.module or inner.helpers:
        raise NoCodeError(
            "The PyTorch export writes Bidirectional layers without return_state or dropout, "
            "and with Keras's usual activations (tanh, and sigmoid for the gates)."
        )
    module = inner.module.replace("batch_first=True", "batch_first=True, bidirectional=True")
    if p["merge_mode"] == "concat" and p["return_sequences"]:  # torch's own output
        return LayerCode("{layer}({0})[0]", module, LOAD_BIDIRECTIONAL)
    both = f"{BOTH}({{layer}}({{0}}), {p['units']}, {p['return_sequences']!r})"
    merged = _MERGE[p["merge_mode"]].format(both=both)
    return LayerCode(merged, module, LOAD_BIDIRECTIONAL, (BOTH,))
