"""The command line, end to end, as a user runs it."""

import json
import subprocess
import sys
from pathlib import Path

from core.templates import load_template


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "studio", *args], capture_output=True, text=True, cwd=cwd
    )


def test_templates_lists_each_with_its_size():
    result = run("templates")
    assert result.returncode == 0, result.stderr
    for name in ("mnist_cnn", "mlp", "residual"):
        assert name in result.stdout
    assert "1,199,882 parameters" in result.stdout


def test_info_on_a_template_prints_a_keras_style_summary():
    result = run("info", "mnist_cnn")
    assert result.returncode == 0, result.stderr
    assert 'Model: "mnist_cnn"' in result.stdout
    assert "dense_1 (Dense)" in result.stdout
    assert "Total params: 1,199,882" in result.stdout
    assert "No problems found." in result.stdout


def test_info_on_a_file_lists_its_problems(tmp_path):
    graph = load_template("mlp")
    graph.set_param(
        next(n.id for n in graph.nodes.values() if n.kind == "Input"), "shape", (1, 8, 8)
    )
    path = tmp_path / "model.json"
    path.write_text(graph.to_json(), encoding="utf-8")
    result = run("info", str(path))
    assert result.returncode == 0, result.stderr
    assert "error: dense (Dense): Dense needs a flat input but gets 1×8×8." in result.stdout
    assert "Flatten" in result.stdout


def test_bad_files_end_in_one_clear_message(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    bad = tmp_path / "bad.json"
    data = load_template("mlp").to_dict()
    data["nodes"][1]["kind"] = "Dense3D"
    data["nodes"][2]["params"]["units"] = -4
    bad.write_text(json.dumps(data), encoding="utf-8")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    for path, words in [
        (broken, "not valid JSON"),
        (bad, "Dense3D"),
        (binary, "Cannot read"),
        (tmp_path / "missing.json", "No file or template"),
        (tmp_path, "is not a file"),
    ]:
        result = run("info", str(path))
        assert result.returncode == 2, (path, result.stdout)
        assert words in result.stderr
        assert "Traceback" not in result.stderr
    result = run("info", str(bad))
    assert "units must be at least 1" in result.stderr  # both problems named at once


def test_no_command_prints_help_and_version_works():
    result = run()
    assert result.returncode == 0 and "templates" in result.stdout and "info" in result.stdout
    result = run("--version")
    assert result.returncode == 0 and result.stdout.startswith("layer-studio ")


def test_layers_prints_every_kind_with_its_help_and_params():
    from core.catalog import tooltip
    from core.layers import all_specs

    result = run("layers")
    assert result.returncode == 0, result.stderr
    for spec in all_specs():
        assert f"\n{spec.kind}  [{spec.category}]" in result.stdout
        for param in spec.params:
            assert f"- {param.name}: " in result.stdout
        # the palette's tooltip is made from the same text
        assert spec.help in tooltip(spec.kind).replace("\n", " ")
    assert "== Core ==" in result.stdout and "keras.layers.Conv2D" in result.stdout


def test_layers_describes_one_kind_and_refuses_unknown_ones():
    result = run("layers", "conv2d")
    assert result.returncode == 0
    assert result.stdout.startswith("Conv2D  [Convolution]")
    assert "kernel_size" in result.stdout and "default [3, 3]" in result.stdout
    result = run("layers", "Conv3000D")
    assert result.returncode == 2 and "no layer kind called 'Conv3000D'" in result.stderr


FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "keras"


def test_info_opens_keras_files_and_refuses_broken_ones(tmp_path):
    result = run("info", str(FIXTURES / "k2_cnn.h5"))
    assert result.returncode == 0, result.stderr
    assert "conv2d (Conv2D)" in result.stdout and "No problems found." in result.stdout
    fake = tmp_path / "fake.h5"
    fake.write_bytes(b"not an HDF5 file at all")
    result = run("info", str(fake))
    assert result.returncode == 2 and "Cannot read" in result.stderr
    assert "Traceback" not in result.stderr
