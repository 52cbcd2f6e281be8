"""Run exported PyTorch scripts in a separate process and compare them with the studio.

:func:`exported_outputs` writes each model's script and ``.h5`` file, then one fresh Python
process (without the project on its path) imports every script, loads the studio's weights
with the script's own ``load_weights`` and predicts with its ``predict``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from torch import fx

from core.export.pytorch import PyTorchExport, class_name, model_section, pytorch_export
from core.export.section import import_block
from core.graph import Graph
from core.h5io import save_model
from tests.core.graph_strategies import example_batch

RUNNER = r"""
import importlib.util, json, sys
import numpy as np

jobs = json.loads(sys.argv[1])
for job in jobs:
    spec = importlib.util.spec_from_file_location("exported", job["script"])
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    model = getattr(script, job["class"])()
    script.load_weights(model, job["weights"])
    inputs = [np.load(path) for path in job["inputs"]]
    outputs = script.predict(model, inputs, batch_size=2)
    np.savez(job["outputs"], *outputs)
loaded = sorted(m.split(".")[0] for m in sys.modules)
print(json.dumps(sorted({m for m in loaded if m in ("core", "studio", "ui", "keras", "sklearn")})))
"""


def example_inputs(graph: Graph, count: int = 3) -> list[np.ndarray]:
    """Random inputs for the model: floats in [-1, 1), or ids every Embedding reading them
    takes."""
    return example_batch(graph, np.random.default_rng(0), batch=count)


def studio_outputs(module: fx.GraphModule, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The studio module's outputs in inference mode."""
    module.eval()
    with torch.no_grad():
        result = module(*[torch.from_numpy(x) for x in inputs])
    results = result if isinstance(result, tuple) else (result,)
    return [r.numpy() for r in results]


def model_only(graph: Graph, stem: str) -> PyTorchExport:
    """The model part of a script alone (class, load_weights, predict), to test layers."""
    section, _ = model_section(graph, class_name(graph))
    return PyTorchExport(import_block(list(section.imports)) + "\n\n\n" + section.source)


def exported_outputs(
    models: list[tuple[Graph, fx.GraphModule, list[np.ndarray]]],
    folder: Path,
    *,
    whole: bool = True,
) -> list[list[np.ndarray]]:
    """Each model's outputs as its exported script computes them, in one fresh process.

    ``whole=False`` writes only the model part of each script (:func:`model_only`).

    Raises:
        AssertionError: When the process fails, or imported the studio or a library beyond
            torch, numpy and h5py.
    """
    jobs = []
    for index, (graph, module, inputs) in enumerate(models):
        stem = f"model_{index}"
        export = pytorch_export(graph, stem=stem) if whole else model_only(graph, stem)
        script = folder / f"{stem}.py"
        script.write_text(export.code, encoding="utf-8")
        weights = folder / f"{stem}.h5"
        save_model(weights, graph, module)
        paths = []
        for k, array in enumerate(inputs):
            paths.append(str(folder / f"{stem}_x{k}.npy"))
            np.save(paths[-1], array)
        name = class_name(graph)
        jobs.append(
            {
                "script": str(script),
                "class": name,
                "weights": str(weights),
                "inputs": paths,
                "outputs": str(folder / f"{stem}_y.npz"),
            }
        )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-I", "-c", RUNNER, json.dumps(jobs)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [], done.stdout
    results = []
    for job in jobs:
        with np.load(job["outputs"]) as saved:
            results.append([saved[f"arr_{i}"] for i in range(len(saved.files))])
    return results
