"""Code of the layers that rearrange, merge or normalise values: UpSampling2D, ZeroPadding2D,
Cropping2D, Reshape, Permute, RepeatVector, Embedding, Concatenate, the value-by-value merges,
BatchNormalization, LayerNormalization, GaussianNoise and SpatialDropout2D."""

from __future__ import annotations

from core.export.torch_layers import (
    Layer,
    LayerCode,
    NoCodeError,
    call,
    helper,
    ints,
    number,
    register,
)
from core.export.torch_layers.basic import pad_call
from core.layers._keras_layout import keras_shape, torch_axis
from core.layers.reshape import studio_order

LOAD_PARAMETERS = helper(
    "load_parameters",
    '''
    def load_parameters(module, arrays):
        """Copy Keras's arrays into the module's parameters and buffers, in order (Keras keeps
        them in the layout torch uses here)."""
        tensors = [*module.parameters(), *module.buffers()]
        for tensor, array in zip(tensors, arrays, strict=True):
            tensor.copy_(torch.from_numpy(array))
    ''',
)

BATCH_NORM = helper(
    "KerasBatchNorm",
    '''
    class KerasBatchNorm(nn.Module):
        """Keras's BatchNormalization along axis `dim`: training normalises with the batch's
        mean and biased variance and moves the running statistics towards them by
        1 - momentum (Keras's momentum, 0.99 by default); predicting uses the running ones."""

        def __init__(self, features, dim, momentum, eps, center=True, scale=True):
            super().__init__()
            self.dim, self.momentum, self.eps = dim, momentum, eps
            self.weight = nn.Parameter(torch.ones(features)) if scale else None
            self.bias = nn.Parameter(torch.zeros(features)) if center else None
            self.register_buffer("running_mean", torch.zeros(features))
            self.register_buffer("running_var", torch.ones(features))

        def forward(self, x):
            shape = [1] * x.dim()
            shape[self.dim] = -1
            if self.training:
                others = [d for d in range(x.dim()) if d != self.dim]
                var, mean = torch.var_mean(x, dim=others, correction=0)
                with torch.no_grad():
                    keep = self.momentum
                    self.running_mean.copy_(self.running_mean * keep + mean * (1 - keep))
                    self.running_var.copy_(self.running_var * keep + var * (1 - keep))
            else:
                mean, var = self.running_mean, self.running_var
            factor = torch.rsqrt(var + self.eps)
            if self.weight is not None:
                factor = factor * self.weight
            result = (x - mean.reshape(shape)) * factor.reshape(shape)
            if self.bias is not None:
                result = result + self.bias.reshape(shape)
            return result
    ''',
)


@register("UpSampling2D")
def up_sampling2d(layer: Layer) -> LayerCode:
    fh, fw = layer.params["size"]
    if layer.params["interpolation"] == "nearest":  # each row and column repeated
        return LayerCode(f"{{0}}.repeat_interleave({fh}, dim=2).repeat_interleave({fw}, dim=3)")
    _, height, width = layer.inputs[0]
    size = ints((height * fh, width * fw))
    return LayerCode(f'F.interpolate({{0}}, size={size}, mode="bilinear", align_corners=False)')


@register("ZeroPadding2D")
def zero_padding2d(layer: Layer) -> LayerCode:
    top, bottom, left, right = layer.params["padding"]
    return LayerCode(pad_call("{0}", [(top, bottom), (left, right)]))


@register("Cropping2D")
def cropping2d(layer: Layer) -> LayerCode:
    top, bottom, left, right = layer.params["cropping"]
    _, height, width = layer.inputs[0]
    return LayerCode(f"{{0}}[:, :, {top}:{height - bottom}, {left}:{width - right}]")


def _to_keras(value: str, rank: int) -> str:
    """Keras keeps an image's channels last: values are ordered that way before a reshape."""
    return f"{value}.movedim(1, -1)" if rank >= 3 else value


@register("Reshape")
def reshape(layer: Layer) -> LayerCode:
    source, target = layer.inputs[0], layer.outputs[0]
    sizes = ", ".join(map(str, keras_shape(target)))
    shaped = f"{_to_keras('{0}', len(source))}.reshape(-1, {sizes})"
    return LayerCode(f"{shaped}.movedim(-1, 1)" if len(target) >= 3 else shaped)


@register("Permute")
def permute(layer: Layer) -> LayerCode:
    order = studio_order(layer.params["dims"])
    return LayerCode(f"{{0}}.permute(0, {', '.join(str(1 + i) for i in order)})")


@register("RepeatVector")
def repeat_vector(layer: Layer) -> LayerCode:
    return LayerCode(f"{{0}}.unsqueeze(1).repeat(1, {layer.params['n']}, 1)")


@register("Embedding")
def embedding(layer: Layer) -> LayerCode:
    p = layer.params
    module = call("nn.Embedding", str(p["input_dim"]), str(p["output_dim"]))
    return LayerCode("{layer}({0}.long())", module=module, load=LOAD_PARAMETERS)


@register("Concatenate")
def concatenate(layer: Layer) -> LayerCode:
    dim = 1 + torch_axis(layer.params["axis"], len(layer.inputs[0]))
    return LayerCode(f"torch.cat([{{inputs}}], dim={dim})")


_OPERATORS = {"Add": " + ", "Subtract": " - ", "Multiply": " * "}


@register("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")
def merge(layer: Layer) -> LayerCode:
    ranks = [len(s) for s in layer.inputs]
    top = max(ranks)
    values = [f"{{{i}}}" for i in range(len(layer.inputs))]
    mixed = len(set(ranks)) > 1
    if mixed:  # Keras adds axes after the batch axis, in its own (channels-last) layout
        values = [
            _to_keras(value, rank) + "[:, None]" * (top - rank)
            for value, rank in zip(values, ranks, strict=True)
        ]
    if layer.kind in _OPERATORS:
        result = _OPERATORS[layer.kind].join(values)
    elif layer.kind == "Average":
        result = f"({' + '.join(values)}) / {len(values)}"
    else:
        function = "torch.maximum" if layer.kind == "Maximum" else "torch.minimum"
        result = values[0]
        for value in values[1:]:
            result = f"{function}({result}, {value})"
    if mixed and top >= 3:  # back to channels first
        result = f"({result}).movedim(-1, 1)"
    return LayerCode(result)


@register("BatchNormalization", "LayerNormalization")
def normalisation(layer: Layer) -> LayerCode:
    p = layer.params
    shape = layer.inputs[0]
    index = torch_axis(p["axis"], len(shape))
    features, dim, eps = shape[index], 1 + index, number(p["epsilon"])
    options = {}
    if not p["center"]:
        options["center"] = "False"
    if not p["scale"]:
        options["scale"] = "False"
    if layer.kind == "BatchNormalization":
        args = [str(features), str(dim), number(p["momentum"]), eps]
        module = call(BATCH_NORM, *args, **options)
        return LayerCode("{layer}({0})", module=module, load=LOAD_PARAMETERS, helpers=(BATCH_NORM,))
    if not p["center"] or not p["scale"]:
        module = call(
            "nn.LayerNorm", str(features), eps=eps, elementwise_affine="True", bias=str(p["center"])
        )
        if not p["scale"]:
            raise NoCodeError(
                "The PyTorch export cannot yet write LayerNormalization without scale."
            )
    else:
        module = call("nn.LayerNorm", str(features), eps=eps)
    last = dim == len(shape)
    value = "{layer}({0})" if last else f"{{layer}}({{0}}.movedim({dim}, -1)).movedim(-1, {dim})"
    return LayerCode(value, module=module, load=LOAD_PARAMETERS)


NOISE = helper(
    "gaussian_noise",
    '''
    def gaussian_noise(x, stddev, training):
        """Keras's GaussianNoise: normal noise added while training, nothing when predicting."""
        return x + torch.randn_like(x) * stddev if training else x
    ''',
)


@register("GaussianNoise")
def gaussian_noise(layer: Layer) -> LayerCode:
    stddev = number(layer.params["stddev"])
    return LayerCode(f"{NOISE}({{0}}, {stddev}, self.training)", helpers=(NOISE,))


@register("SpatialDropout2D")
def spatial_dropout2d(layer: Layer) -> LayerCode:
    return LayerCode("{layer}({0})", module=call("nn.Dropout2d", number(layer.params["rate"])))


BATCH_DOT = helper(
    "batch_dot",
    '''
    def batch_dot(x, y, axes, normalize):
        """Keras's Dot: multiply axis axes[0] of x by axis axes[1] of y and sum, in Keras's
        layout (channels last, batch excluded); normalize first for the cosine."""
        x = x.movedim(1, -1) if x.dim() >= 4 else x
        y = y.movedim(1, -1) if y.dim() >= 4 else y
        if normalize:  # Keras divides by the length, at most by 1e-7
            x = x * torch.rsqrt(x.square().sum(1 + axes[0], keepdim=True)).clamp(max=1e7)
            y = y * torch.rsqrt(y.square().sum(1 + axes[1], keepdim=True)).clamp(max=1e7)
        x = x.movedim(1 + axes[0], -1)
        y = y.movedim(1 + axes[1], 1)
        batch, size = x.shape[0], x.shape[-1]
        rest = (*x.shape[1:-1], *y.shape[2:])
        out = torch.bmm(x.reshape(batch, -1, size), y.reshape(batch, size, -1))
        out = out.reshape(batch, *(rest or (1,)))
        return out.movedim(-1, 1) if out.dim() >= 4 else out
    ''',
)


@register("Dot")
def dot(layer: Layer) -> LayerCode:
    from core.layers import get_spec
    from core.layers.dot import Dot

    spec = get_spec("Dot")
    assert isinstance(spec, Dot)
    axes = spec.keras_axes(layer.inputs, layer.params["axes"])
    normalize = repr(bool(layer.params["normalize"]))
    return LayerCode(f"{BATCH_DOT}({{0}}, {{1}}, {ints(axes)}, {normalize})", helpers=(BATCH_DOT,))
