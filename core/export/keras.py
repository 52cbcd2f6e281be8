"""The model as Keras code in the style of the tutorials: ``keras.Sequential`` for a stack, the
functional API otherwise, then ``compile`` with the studio's settings and a ``fit``.

The code is made from the same Keras configuration the studio writes into its ``.h5`` files
(:func:`core.keras_format.keras_model_config`), so it builds the model that Keras itself opens
from them, and ``model.load_weights("model.h5")`` takes the trained weights. Every name and
string from the document reaches the code through :func:`repr` or as a checked identifier:
nothing in a model file can add code to it.
"""

from __future__ import annotations

import math
from typing import Any

from core.compile import python_name
from core.graph import Graph
from core.keras_format import (
    _is_stack,
    _keras_name,
    _layer_entry,
    _live_layers,
    keras_model_config,
    keras_names,
)
from core.layers import get_spec
from core.shapes import infer_shapes
from core.training_settings import OPTIMIZER_CLASSES, TrainingSettings

#: Arguments written without their keyword, as the tutorials write them.
_POSITIONAL = {
    "Dense": ("units",),
    "Conv1D": ("filters", "kernel_size"),
    "Conv2D": ("filters", "kernel_size"),
    "Conv2DTranspose": ("filters", "kernel_size"),
    "SeparableConv2D": ("filters", "kernel_size"),
    "DepthwiseConv2D": ("kernel_size",),
    "Dropout": ("rate",),
    "SpatialDropout2D": ("rate",),
    "Activation": ("activation",),
    "Embedding": ("input_dim", "output_dim"),
    "LSTM": ("units",),
    "GRU": ("units",),
    "SimpleRNN": ("units",),
    "Reshape": ("target_shape",),
    "Permute": ("dims",),
    "RepeatVector": ("n",),
}
_RECURRENT = {"SimpleRNN", "LSTM", "GRU"}
_LEFT_OUT = {"dtype", "trainable", "module", "registered_name", "build_config"}
#: Keras's defaults, left out of the code as a tutorial leaves them out (JSON values).
_DEFAULTS: dict[str, tuple[Any, ...]] = {
    "use_bias": (True,),
    "strides": ([1, 1], [1], 1),
    "dilation_rate": ([1, 1], [1], 1),
    "groups": (1,),
    "padding": ("valid",),
    "data_format": ("channels_last",),
    "activation": ("linear",),
}


def _value(value: Any) -> str:
    """A JSON value as Python source (lists as tuples, the way Keras code writes shapes)."""
    if isinstance(value, dict) and "class_name" in value:
        return _layer_call(str(value["class_name"]), dict(value.get("config", {})))
    if isinstance(value, list):
        items = [_value(v) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    return repr(value)


def _defaults(class_name: str, config: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Keras's defaults for this class: a recurrent layer's activation is tanh, and a
    pooling's strides are its pool size."""
    defaults = dict(_DEFAULTS)
    if class_name in _RECURRENT:
        defaults["activation"] = ("tanh",)
    if "pool_size" in config:
        defaults["strides"] = (config["pool_size"], None)
    return defaults


def _layer_call(class_name: str, config: dict[str, Any]) -> str:
    """``layers.Dense(64, activation="relu", name="dense")``."""
    if not class_name.isidentifier():
        raise ValueError(f"{class_name!r} is not a Keras layer class.")
    positional = _POSITIONAL.get(class_name, ())
    defaults = _defaults(class_name, config)
    config = {
        k: v
        for k, v in config.items()
        if k not in _LEFT_OUT and (k in positional or v not in defaults.get(k, ()))
    }
    name = config.pop("name", None)
    args = [_value(config.pop(k)) for k in _POSITIONAL.get(class_name, ()) if k in config]
    args += [f"{k}={_value(v)}" for k, v in config.items() if str(k).isidentifier()]
    if name is not None:
        args.append(f"name={name!r}")
    return f"layers.{class_name}({', '.join(args)})"


def _input(config: dict[str, Any]) -> str:
    shape = tuple(config.get("batch_input_shape", [None])[1:])
    dtype = config.get("dtype", "float32")
    extra = f", dtype={dtype!r}" if dtype != "float32" else ""
    return f"keras.Input(shape={_value(list(shape))}{extra}, name={config['name']!r})"


def _compile(settings: TrainingSettings) -> list[str]:
    options = settings.all_optimizer_options()
    rate = options.get("learning_rate")
    optimizer = f"keras.optimizers.{OPTIMIZER_CLASSES[settings.optimizer]}"
    optimizer += f"(learning_rate={rate!r})" if rate is not None else "()"
    return [
        "model.compile(",
        f"    optimizer={optimizer},",
        f"    loss={_value(settings.loss)},",
        "    metrics=[" + ", ".join(repr(m) for m in settings.metrics) + "],",
        ")",
    ]


def keras_code(graph: Graph, settings: TrainingSettings | None = None) -> str:
    """A Python file that builds ``graph`` with Keras 3 and compiles it with ``settings``.

    Raises:
        KerasFormatError: When the model has layers or settings Keras cannot express.
    """
    settings = settings or TrainingSettings()
    report = infer_shapes(graph)
    keras_model_config(graph, report)  # refuses what Keras cannot express, with the reasons
    layers_ = _live_layers(graph, report)
    names = keras_names(graph)
    entries = {nid: _layer_entry(graph, report, nid, names[nid]) for nid in layers_}
    lines = [
        f'"""{python_name(graph.name, set())}: a model made in Layer Studio, as Keras code.',
        "",
        "Build it, load the studio's trained weights and predict:",
        "",
        "    python this_file.py model.h5",
        '"""',
        "",
        "import sys",
        "",
        "import keras",
        "from keras import layers",
        "",
    ]
    if _is_stack(graph, report, layers_):
        lines.append("model = keras.Sequential(")
        lines.append("    [")
        for nid in layers_:
            entry = entries[nid]
            call = (
                _input(entry["config"])
                if entry["class_name"] == "InputLayer"
                else _layer_call(entry["class_name"], entry["config"])
            )
            lines.append(f"        {call},")
        lines.append("    ],")
        lines.append(f"    name={_keras_name(graph.name)!r},")
        lines.append(")")
    else:
        taken: set[str] = {"keras", "layers", "model", "sys"}
        variables: dict[str, str] = {}
        for nid in layers_:
            entry = entries[nid]
            var = variables[nid] = python_name(names[nid], taken)
            if entry["class_name"] == "InputLayer":
                lines.append(f"{var} = {_input(entry['config'])}")
                continue
            spec = get_spec(graph.nodes[nid].kind)
            inputs = []
            for _, edge in sorted(graph.in_edges(nid).items()):
                source = variables[edge.src]
                several = get_spec(graph.nodes[edge.src].kind).num_outputs(
                    graph.nodes[edge.src].params
                )
                inputs.append(f"{source}[{edge.src_port}]" if several > 1 else source)
            merged = spec.num_inputs(graph.nodes[nid].params) > 1
            argument = f"[{', '.join(inputs)}]" if merged else inputs[0]
            lines.append(f"{var} = {_layer_call(entry['class_name'], entry['config'])}({argument})")
        outputs = []
        inputs_ = [  # the studio's order of Inputs: the order its files give Keras too
            variables[n] for n in graph.nodes if n in variables and graph.nodes[n].kind == "Input"
        ]
        for nid in graph.nodes:
            if nid in report.live and graph.nodes[nid].kind == "Output":
                edge = graph.in_edges(nid)[0]
                several = get_spec(graph.nodes[edge.src].kind).num_outputs(
                    graph.nodes[edge.src].params
                )
                source = variables[edge.src]
                outputs.append(f"{source}[{edge.src_port}]" if several > 1 else source)
        lines.append(
            f"model = keras.Model(inputs=[{', '.join(inputs_)}], "
            f"outputs=[{', '.join(outputs)}], name={_keras_name(graph.name)!r})"
        )
    lines.append("")
    lines += _compile(settings)
    lines += [
        "",
        "",
        "def train(x_train, y_train):",
        '    """Keras\'s fit with the settings chosen in the studio."""',
        "    return model.fit(",
        "        x_train,",
        "        y_train,",
        f"        epochs={settings.epochs},",
        f"        batch_size={settings.batch_size},",
        f"        validation_split={settings.validation_split!r},",
        "    )",
        "",
        "",
        'if __name__ == "__main__":',
        "    model.summary()",
        "    if len(sys.argv) > 1:",
        "        model.load_weights(sys.argv[1])  # a .h5 saved by the studio",
        "",
    ]
    return "\n".join(lines)
