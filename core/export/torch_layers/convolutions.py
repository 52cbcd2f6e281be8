"""Code of DepthwiseConv2D, SeparableConv2D and Conv2DTranspose."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.export.torch_layers import Layer, LayerCode, activation, call, helper, ints, register
from core.export.torch_layers.basic import LOAD_CONV, image_conv, pad_call
from core.layers.conv_transpose import keras_crops, torch_layout

LOAD_DEPTHWISE = helper(
    "load_depthwise",
    '''
    def load_depthwise(module, arrays):
        """Keras keeps a depthwise kernel as (height, width, channels, multiplier); torch as
        (channels * multiplier, 1, height, width)."""
        kernel = torch.from_numpy(arrays[0])
        height, width, channels, multiplier = kernel.shape
        weight = kernel.permute(2, 3, 0, 1).reshape(channels * multiplier, 1, height, width)
        module.weight.copy_(weight)
        if module.bias is not None:
            module.bias.copy_(torch.from_numpy(arrays[1]))
    ''',
)
LOAD_SEPARABLE = helper(
    "load_separable",
    '''
    def load_separable(module, arrays):
        """A depthwise kernel, a 1x1 pointwise kernel and the bias, as Keras keeps them."""
        load_depthwise(module[0], arrays[:1])
        load_conv(module[1], arrays[1:])
    ''',
    needs=(LOAD_DEPTHWISE, LOAD_CONV),
)


def _depthwise(shape: tuple[int, ...], p: Mapping[str, Any], bias: bool) -> tuple[str, str]:
    """The grouped convolution of a depthwise layer (each channel filtered on its own), and
    the input expression."""
    return image_conv(shape, p, shape[0] * p["depth_multiplier"], shape[0], bias)


@register("DepthwiseConv2D")
def depthwise_conv2d(layer: Layer) -> LayerCode:
    p = layer.params
    module, value = _depthwise(layer.inputs[0], p, p["use_bias"])
    result = activation(p["activation"], 3, "{layer}(" + value + ")")
    return LayerCode(result, module=module, load=LOAD_DEPTHWISE)


@register("SeparableConv2D")
def separable_conv2d(layer: Layer) -> LayerCode:
    p = layer.params
    depthwise, value = _depthwise(layer.inputs[0], p, False)
    middle = layer.inputs[0][0] * p["depth_multiplier"]
    options = {} if p["use_bias"] else {"bias": "False"}
    pointwise = call("nn.Conv2d", str(middle), str(p["filters"]), "1", **options)
    module = f"nn.Sequential({depthwise}, {pointwise})"
    result = activation(p["activation"], 3, "{layer}(" + value + ")")
    return LayerCode(result, module=module, load=LOAD_SEPARABLE)


@register("Conv2DTranspose")
def conv2d_transpose(layer: Layer) -> LayerCode:
    p = layer.params
    extra = p["output_padding"] or (None, None)
    axes = zip(p["kernel_size"], p["strides"], p["dilation_rate"], extra, strict=True)
    layouts = [torch_layout(keras_crops(k, s, d, p["padding"], o), s, d) for k, s, d, o in axes]
    options: dict[str, str] = {}
    if p["strides"] != (1, 1):
        options["stride"] = ints(p["strides"])
    if any(pad for pad, _, _ in layouts):
        options["padding"] = ints([pad for pad, _, _ in layouts])
    if any(more for _, more, _ in layouts):
        options["output_padding"] = ints([more for _, more, _ in layouts])
    if p["dilation_rate"] != (1, 1):
        options["dilation"] = ints(p["dilation_rate"])
    if not p["use_bias"]:
        options["bias"] = "False"
    channels = str(layer.inputs[0][0])
    module = call(
        "nn.ConvTranspose2d", channels, str(p["filters"]), ints(p["kernel_size"]), **options
    )
    value = "{layer}({0})"
    cuts = [cut for _, _, cut in layouts]
    if any(before or after for before, after in cuts):  # what torch's padding cannot cut
        value = pad_call(value, [(-before, -after) for before, after in cuts])
    return LayerCode(activation(p["activation"], 3, value), module=module, load=LOAD_CONV)
