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
_TORCH = {"SimpleRNN": "nn.RNN", "LSTM": "nn.LSTM", "GRU": "nn.GRU"}


@register("SimpleRNN", "LSTM", "GRU")
def recurrent(layer: Layer) -> LayerCode:
    p = layer.params
    gates = p.get("recurrent_activation", "sigmoid")
    usual = p["activation"] == "tanh" or (layer.kind == "SimpleRNN" and p["activation"] == "relu")
    if not usual or gates != "sigmoid" or p["recurrent_dropout"]:
        raise NoCodeError(
            f"The PyTorch export writes {layer.kind} layers with Keras's usual activations "
            "(tanh, and sigmoid for the gates) and no recurrent_dropout; change them to export."
        )
    options = {"batch_first": "True"}
    if layer.kind == "SimpleRNN" and p["activation"] == "relu":
        options["nonlinearity"] = '"relu"'
    if not p["use_bias"]:
        options["bias"] = "False"
    features = layer.inputs[0][-1]
    module = call(_TORCH[layer.kind], str(features), str(p["units"]), **options)
    value = "{0}.flip(1)" if p["go_backwards"] else "{0}"  # Keras reads from the end
    if p["dropout"]:  # Keras drops the same inputs at every step
        mask = f"F.dropout(torch.ones_like({value}[:, :1]), {number(p['dropout'])}, self.training)"
        value = f"{value} * {mask}"
    if p["return_state"]:
        states = 3 if layer.kind == "LSTM" else 2
        result = f"{WITH_STATES}({{layer}}({value}), {p['return_sequences']!r})"
        return LayerCode(result, module, LOAD_RECURRENT, (WITH_STATES,), outputs=states)
    if p["return_sequences"]:
        return LayerCode(f"{{layer}}({value})[0]", module, LOAD_RECURRENT)
    return LayerCode(f"{{layer}}({value})[0][:, -1]", module, LOAD_RECURRENT)
