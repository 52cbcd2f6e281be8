"""Code of the layers of every tutorial: Dense, Activation, Dropout, Conv2D, MaxPooling2D and
Flatten."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.export.torch_layers import (
    Layer,
    LayerCode,
    activation,
    call,
    helper,
    ints,
    number,
    register,
)
from core.layers.conv import keras_pads, window_pads

LOAD_LINEAR = helper(
    "load_linear",
    '''
    def load_linear(module, arrays):
        """Keras's Dense kernel is (inputs, units); nn.Linear keeps its transpose."""
        module.weight.copy_(torch.from_numpy(arrays[0]).T)
        if module.bias is not None:
            module.bias.copy_(torch.from_numpy(arrays[1]))
    ''',
)

LOAD_CONV = helper(
    "load_conv",
    '''
    def load_conv(module, arrays):
        """Keras keeps a kernel's channels last, (*window, in, out); torch first, (out, in,
        *window). A transposed convolution swaps in and out on both sides."""
        kernel = torch.from_numpy(arrays[0])
        last = kernel.dim() - 1
        module.weight.copy_(kernel.permute(last, last - 1, *range(last - 1)))
        if module.bias is not None:
            module.bias.copy_(torch.from_numpy(arrays[1]))
    ''',
)


def pad_call(value: str, pads: list[tuple[int, int]], fill: str = "") -> str:
    """``F.pad(value, (...))`` for Keras's per-axis ``(before, after)`` pads, first axis first
    (``F.pad`` takes them last axis first); ``fill`` is an optional value expression."""
    flat: list[int] = []
    for before, after in reversed(pads):
        flat += [before, after]
    extra = f", value={fill}" if fill else ""
    return f"F.pad({value}, {ints(flat)}{extra})"


@register("Dense")
def dense(layer: Layer) -> LayerCode:
    p = layer.params
    module = call("nn.Linear", str(layer.inputs[0][-1]), str(p["units"]))
    if not p["use_bias"]:
        module = call("nn.Linear", str(layer.inputs[0][-1]), str(p["units"]), bias="False")
    rank = len(layer.outputs[0])
    return LayerCode(
        activation(p["activation"], rank, "{layer}({0})"), module=module, load=LOAD_LINEAR
    )


@register("Activation")
def activation_layer(layer: Layer) -> LayerCode:
    return LayerCode(activation(layer.params["activation"], len(layer.inputs[0]), "{0}"))


@register("Dropout")
def dropout(layer: Layer) -> LayerCode:
    return LayerCode("{layer}({0})", module=call("nn.Dropout", number(layer.params["rate"])))


def image_conv(
    shape: tuple[int, ...], p: Mapping[str, Any], out: int, groups: int, bias: bool
) -> tuple[str, str]:
    """An ``nn.Conv2d`` with Keras's strides, dilation and padding, and the expression of its
    input: padded first when Keras's padding is uneven, which torch's cannot be."""
    pads = window_pads(shape, p)
    even = all(before == after for before, after in pads)
    options: dict[str, str] = {}
    if p["strides"] != (1, 1):
        options["stride"] = ints(p["strides"])
    if even and any(before for before, _ in pads):
        options["padding"] = ints([before for before, _ in pads])
    if p["dilation_rate"] != (1, 1):
        options["dilation"] = ints(p["dilation_rate"])
    if groups != 1:
        options["groups"] = str(groups)
    if not bias:
        options["bias"] = "False"
    module = call("nn.Conv2d", str(shape[0]), str(out), ints(p["kernel_size"]), **options)
    return module, "{0}" if even else pad_call("{0}", pads)


@register("Conv2D")
def conv2d(layer: Layer) -> LayerCode:
    p = layer.params
    module, value = image_conv(layer.inputs[0], p, p["filters"], p["groups"], p["use_bias"])
    return LayerCode(
        activation(p["activation"], 3, "{layer}(" + value + ")"), module=module, load=LOAD_CONV
    )


@register("MaxPooling2D")
def max_pooling2d(layer: Layer) -> LayerCode:
    p = layer.params
    kernel = p["pool_size"]
    stride = p["strides"] if p["strides"] is not None else kernel
    pads = [(0, 0), (0, 0)]
    if p["padding"] == "same":
        pads = keras_pads(layer.inputs[0], kernel, stride, (1, 1))
    args = [ints(kernel)] if stride == kernel else [ints(kernel), ints(stride)]
    value = "{0}"
    if any(before or after for before, after in pads):  # padded cells never win the max
        value = pad_call(value, pads, 'float("-inf")')
    return LayerCode(f"F.max_pool2d({value}, {', '.join(args)})")


@register("Flatten")
def flatten(layer: Layer) -> LayerCode:
    if len(layer.inputs[0]) >= 3:  # Keras flattens an image channels last: height, width, channels
        return LayerCode("{0}.movedim(1, -1).flatten(1)")
    return LayerCode("{0}.flatten(1)")
