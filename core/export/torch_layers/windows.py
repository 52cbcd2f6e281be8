"""Code of Conv1D, the average and 1-D poolings, and the global poolings.

Sequences are ``(N, steps, channels)`` in the studio, as in Keras, while torch's 1-D layers
take ``(N, channels, steps)``: the code transposes around them.
"""

from __future__ import annotations

from core.export.torch_layers import Layer, LayerCode, activation, call, helper, ints, register
from core.export.torch_layers.basic import LOAD_CONV, pad_call
from core.layers.conv import keras_pads
from core.layers.modules import same_padding

AVERAGE_UNPADDED = helper(
    "average_pool_unpadded",
    '''
    def average_pool_unpadded(x, kernel, stride, pads):
        """Keras's average pooling with padding="same": zero padding with the extra cell at
        the end, and each window divided by its real (unpadded) cells only."""
        pool = F.avg_pool1d if len(kernel) == 1 else F.avg_pool2d
        padded = F.pad(x, pads)
        cells = F.pad(torch.ones_like(x[:1, :1]), pads)
        return pool(padded, kernel, stride) / pool(cells, kernel, stride)
    ''',
)


@register("Conv1D")
def conv1d(layer: Layer) -> LayerCode:
    p = layer.params
    steps, channels = layer.inputs[0]
    k, s, d = p["kernel_size"], p["strides"], p["dilation_rate"]
    if p["padding"] == "causal":
        pads = [((k - 1) * d, 0)]
    elif p["padding"] == "same":
        pads = [same_padding(steps, k, s, d)]
    else:
        pads = [(0, 0)]
    options: dict[str, str] = {}
    if s != 1:
        options["stride"] = str(s)
    even = pads[0][0] == pads[0][1]
    if even and pads[0][0]:
        options["padding"] = str(pads[0][0])
    if d != 1:
        options["dilation"] = str(d)
    if p["groups"] != 1:
        options["groups"] = str(p["groups"])
    if not p["use_bias"]:
        options["bias"] = "False"
    module = call("nn.Conv1d", str(channels), str(p["filters"]), str(k), **options)
    value = "{0}.transpose(1, 2)" if even else pad_call("{0}.transpose(1, 2)", pads)
    result = "{layer}(" + value + ").transpose(1, 2)"  # steps first again
    return LayerCode(activation(p["activation"], 2, result), module=module, load=LOAD_CONV)


def _windows(layer: Layer) -> tuple[tuple[int, ...], tuple[int, ...], list[tuple[int, int]]]:
    """Pool size, strides and Keras's padding per spatial axis (channels-first shape)."""
    p = layer.params
    kernel = p["pool_size"]
    stride = p["strides"] if p["strides"] is not None else kernel
    k = tuple(kernel) if isinstance(kernel, tuple) else (kernel,)
    s = tuple(stride) if isinstance(stride, tuple) else (stride,)
    shape = layer.inputs[0]
    channels_first = (shape[1], shape[0]) if len(k) == 1 else shape  # steps after channels
    pads = [(0, 0)] * len(k)
    if p["padding"] == "same":
        pads = keras_pads(channels_first, k, s, (1,) * len(k))
    return k, s, pads


def _pool(layer: Layer, mode: str) -> LayerCode:
    k, s, pads = _windows(layer)
    one_d = len(k) == 1
    value = "{0}.transpose(1, 2)" if one_d else "{0}"
    size = str(k[0]) if one_d else ints(k)
    step = str(s[0]) if one_d else ints(s)
    args = [size] if s == k else [size, step]
    name = f"F.{'max' if mode == 'max' else 'avg'}_pool{1 if one_d else 2}d"
    padded = any(before or after for before, after in pads)
    if mode == "max":
        if padded:  # padded cells never win the max
            value = pad_call(value, pads, 'float("-inf")')
        result = f"{name}({value}, {', '.join(args)})"
    elif not padded:
        result = f"{name}({value}, {', '.join(args)})"
    elif all(before == after for before, after in pads):
        even = str(pads[0][0]) if one_d else ints([b for b, _ in pads])
        result = f"{name}({value}, {size}, {step}, {even}, count_include_pad=False)"
    else:
        flat: list[int] = []
        for before, after in reversed(pads):
            flat += [before, after]
        kernel, stride = ints(list(k)), ints(list(s))
        result = f"{AVERAGE_UNPADDED}({value}, {kernel}, {stride}, {ints(flat)})"
        back = ".transpose(1, 2)" if one_d else ""
        return LayerCode(result + back, helpers=(AVERAGE_UNPADDED,))
    return LayerCode(result + (".transpose(1, 2)" if one_d else ""))


@register("MaxPooling1D")
def max_pooling1d(layer: Layer) -> LayerCode:
    return _pool(layer, "max")


@register("AveragePooling1D", "AveragePooling2D")
def average_pooling(layer: Layer) -> LayerCode:
    return _pool(layer, "average")


@register(
    "GlobalAveragePooling1D",
    "GlobalMaxPooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
)
def global_pooling(layer: Layer) -> LayerCode:
    dims = "dim=1" if len(layer.inputs[0]) == 2 else "dim=(2, 3)"  # steps, or height and width
    keep = ", keepdim=True" if layer.params["keepdims"] else ""
    method = "mean" if "Average" in layer.kind else "amax"
    return LayerCode(f"{{0}}.{method}({dims}{keep})")
