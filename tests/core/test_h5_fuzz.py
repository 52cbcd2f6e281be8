"""Fuzzing model files: whatever is done to a valid file, opening it gives a model or one error.

Small valid files (studio files of three templates, in every weight layout the studio writes,
and the real Keras 2 and Keras 3 files of the shared fixtures) are made once; each hypothesis
case then damages a copy (flipped bytes, truncation, rewritten JSON, rewritten HDF5 structure,
links and outside storage, huge claimed arrays) and opens it with :func:`core.h5io.load_model`.
The only outcomes allowed are a :class:`~core.h5io.ModelFile` or a
:class:`~core.h5safe.ModelFileError` with a readable message: no other exception, no warning
(the project turns warnings from ``core`` into errors), no crash, no hang, no runaway memory,
no HDF5 file left open.

``FUZZ_EXAMPLES`` sets the number of cases per hypothesis test (default 100: the whole file
runs in well under a minute). ``FUZZ_KEEP=DIR`` keeps each test's latest damaged file in
``DIR``, so that a case that kills the interpreter (which hypothesis cannot record) leaves its
reproducer behind. ``FUZZ_REPORT=FILE`` writes the number of cases run per test as JSON; the
counts are also printed at the end of the module, and ``pytest --hypothesis-show-statistics``
adds hypothesis's own (with how often each kind of damage was drawn).

Every mutation class is always on. Flipped bytes did crash or hang HDF5 2.0.0 itself (a
segfault on a damaged variable-length type, endless loops on damaged heaps); h5safe and
h5heaps now check for those before HDF5 reads them, and ``test_damage_that_breaks_hdf5...``
keeps the three reproducers (run in a child interpreter, so that a regression cannot take
pytest down).
In 70,000 further byte-flip cases, each opened in a forked child, none crashed or hung.
"""

from __future__ import annotations

import faulthandler
import itertools
import json
import math
import os
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, currently_in_test_context, event, given, reject, settings
from hypothesis import strategies as st

from core import h5io
from core.compile import compile_graph, model_info
from core.graph import Graph
from core.h5io import ModelFile, ModelFileError, load_model, save_model
from core.optimizer_state import capture
from core.templates import load_template

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "keras"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
#: A case that takes longer than this fails (a valid file opens in well under 0.2 s).
DEADLINE_MS = 5000
#: A case still running after this long is a hang: the traceback is dumped and pytest exits.
HANG_S = 120
#: Memory the tests may use on top of what the interpreter holds when they start.
MEMORY_HEADROOM = 4 << 30
#: A readable message: problems are at most this long (they name paths and values, not dumps).
MAX_PROBLEM_CHARS = 2000

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=DEADLINE_MS,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CASES: Counter[str] = Counter()
OUTCOMES: Counter[str] = Counter()


# -- the valid files -------------------------------------------------------------------------


@dataclass
class Sample:
    """A valid model file and where things are in it."""

    name: str
    #: The valid file (read it, never write it).
    path: Path
    data: bytes
    #: Byte ranges holding raw array values; everything else is HDF5 metadata.
    raw: list[tuple[int, int]]
    groups: list[str]
    datasets: list[str]
    #: (object path, attribute name) of every attribute.
    attrs: list[tuple[str, str]]
    #: The JSON parts: ("attr", object, name) or ("dataset", path, "").
    json_parts: list[tuple[str, str, str]] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"<{self.name}.h5>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # how hypothesis shows it
        printer.text(repr(self))

    def metadata_offsets(self) -> list[tuple[int, int]]:
        """The byte ranges that are not raw array values."""
        spans, start = [], 0
        for begin, end in sorted(self.raw):
            if begin > start:
                spans.append((start, begin))
            start = max(start, end)
        if start < len(self.data):
            spans.append((start, len(self.data)))
        return spans


def _describe(name: str, path: Path) -> Sample:
    raw: list[tuple[int, int]] = []
    groups: list[str] = []
    datasets: list[str] = []
    attrs: list[tuple[str, str]] = []
    with h5py.File(path, "r") as f:
        attrs.extend(("/", a) for a in f.attrs)

        def visit(item_name: str, item: Any) -> None:
            attrs.extend((item.name, a) for a in item.attrs)
            if isinstance(item, h5py.Group):
                groups.append(item.name)
                return
            datasets.append(item.name)
            offset = item.id.get_offset()
            if offset is not None:
                raw.append((offset, offset + item.id.get_storage_size()))

        f.visititems(visit)
        json_parts = [("attr", "/", a) for a in ("model_config", "training_config") if a in f.attrs]
        if "layer_studio" in f:
            json_parts += [
                ("dataset", f"/layer_studio/{d}", "")
                for d in ("graph", "settings", "history", "info")
            ]
            if "optimizer" in f["layer_studio"]:
                json_parts.append(("attr", "/layer_studio/optimizer", "meta"))
    return Sample(name, path, path.read_bytes(), raw, groups, datasets, attrs, json_parts)


def _one_step(graph: Graph, module: torch.fx.GraphModule) -> torch.optim.Optimizer:
    """An Adam optimizer after one step on random inputs, so it has state to save."""
    gen = torch.Generator().manual_seed(0)
    xs = []
    for node_id in model_info(module).inputs:
        params = graph.nodes[node_id].params
        shape = (2, *params["shape"])
        if params["dtype"] == "int32":
            xs.append(torch.randint(0, 8, shape, generator=gen))
        else:
            xs.append(torch.randn(shape, generator=gen))
    optimizer = torch.optim.Adam(module.parameters())
    out = module(*xs)
    (out if isinstance(out, torch.Tensor) else sum(o.sum() for o in out)).sum().backward()
    optimizer.step()
    return optimizer


def _studio_file(
    path: Path, template: str, *, shrink: dict[str, dict[str, Any]], layout: str = "keras"
) -> Path:
    graph = load_template(template)
    for node_id, params in shrink.items():
        for key, value in params.items():
            graph.set_param(node_id, key, value)
    module = compile_graph(graph, seed=0)
    optimizer = capture(_one_step(graph, module), module)
    history: dict[str, list[float | None]] = {"loss": [1.5, 0.5, None], "val_accuracy": [0.25]}
    rng = torch.get_rng_state()
    if layout == "studio":  # the layout for models Keras cannot express (none of the templates)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(h5io, "keras_export_problems", lambda *_: ["Keras cannot (fuzz test)."])
            save_model(path, graph, module, optimizer=optimizer, rng_state=rng, history=history)
    elif layout == "incomplete":  # no weights: the Output is not connected
        output = next(n for n in graph.nodes if graph.nodes[n].kind == "Output")
        graph.disconnect(graph.in_edges(output)[0])
        save_model(path, graph, history=history)
    else:
        save_model(path, graph, module, optimizer=optimizer, rng_state=rng, history=history)
    return path


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    """Valid files: studio files (Keras layout, studio layout, no weights) and Keras's own."""
    folder = tmp_path_factory.mktemp("valid")
    small_text: dict[str, dict[str, Any]] = {"n1": {"shape": (12,)}, "n3": {"units": 8}}
    small_text["n2"] = {"input_dim": 40, "output_dim": 8}
    made = {
        "mlp": _studio_file(folder / "mlp.h5", "mlp", shrink={}),
        "residual": _studio_file(
            folder / "residual.h5", "residual", shrink={"n1": {"shape": (1, 8, 8)}}
        ),
        "text_classifier": _studio_file(folder / "text.h5", "text_classifier", shrink=small_text),
        "mlp_studio_weights": _studio_file(folder / "own.h5", "mlp", shrink={}, layout="studio"),
        "mlp_incomplete": _studio_file(folder / "none.h5", "mlp", shrink={}, layout="incomplete"),
    }
    found = []
    for name, path in made.items():
        opened = load_model(path)
        assert isinstance(opened, ModelFile) and opened.origin == "studio", name
        found.append(_describe(name, path))
    keras_files = sorted(FIXTURES.glob("*.h5"))
    assert keras_files, f"no Keras fixtures in {FIXTURES}"
    for path in keras_files:
        assert load_model(path).origin == "keras", path.name
        found.append(_describe(path.stem, path))
    return found


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where damaged files are written: ``FUZZ_KEEP`` when set, else a fresh folder."""
    keep = os.environ.get("FUZZ_KEEP")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        return Path(keep)
    return tmp_path_factory.mktemp("damaged")


@pytest.fixture(scope="module", autouse=True)
def memory_limit() -> Iterator[None]:
    """Cap the address space, so that a file that makes the loader allocate without bound
    fails the test with an error instead of exhausting the machine."""
    if not sys.platform.startswith("linux"):
        yield
        return
    import resource  # POSIX only

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as status:
        used = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize"))
    cap = used + MEMORY_HEADROOM
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.fixture(scope="module", autouse=True)
def report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print (and with ``FUZZ_REPORT``, write) how many cases each test ran."""
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    total = sum(CASES.values())
    lines = [f"{name}: {count} cases" for name, count in sorted(CASES.items())]
    lines.append(f"total: {total} cases in {seconds:.1f} s; outcomes: {dict(OUTCOMES)}")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # shown even though output is captured
            reporter.write_line("")
            for line in lines:
                reporter.write_line(f"h5 fuzz: {line}")
    target = os.environ.get("FUZZ_REPORT")
    if target:
        report = {"cases": dict(CASES), "total": total, "seconds": seconds}
        Path(target).write_text(json.dumps({**report, "outcomes": dict(OUTCOMES)}, indent=1))


# -- the check every case makes --------------------------------------------------------------


def _event(text: str) -> None:
    if currently_in_test_context():
        event(text)


def _open_files() -> int:
    return int(h5py.h5f.get_obj_count(h5py.h5f.OBJ_ALL, h5py.h5f.OBJ_FILE))


def _check_message(err: ModelFileError) -> None:
    text = str(err)
    assert text.strip(), "empty message"
    assert err.problems, "no problems listed"
    for problem in err.problems:
        assert isinstance(problem, str) and problem.strip(), f"empty problem in {err.problems!r}"
        assert len(problem) <= MAX_PROBLEM_CHARS, f"unreadably long problem: {problem[:300]!r}..."
        odd = [c for c in problem if not (c.isprintable() or c == "\n")]
        assert not odd, f"invisible characters {odd[:5]!r} in {problem[:300]!r}"
    assert "Traceback" not in text


def open_damaged(
    test: str, sample: Sample, path: Path, damage: Callable[[Path], None] | None = None
) -> ModelFile | ModelFileError:
    """Open a damaged file: a model or a readable ModelFileError, and nothing left open.

    ``damage`` edits the file in place (after it holds ``sample``'s bytes) with h5py; when it
    cannot be applied (h5py refuses the edit), the case is rejected, not failed.
    """
    if damage is not None:
        path.write_bytes(sample.data)
        try:
            damage(path)
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as err:
            _event(f"edit refused by h5py: {type(err).__name__}")
            reject()
    before = _open_files()
    CASES[test] += 1
    faulthandler.dump_traceback_later(HANG_S, exit=True)
    try:
        result: ModelFile | ModelFileError = load_model(path)
    except ModelFileError as err:
        result = err
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert _open_files() == before, "load_model left an HDF5 file open"
    if isinstance(result, ModelFileError):
        _check_message(result)
        assert result.path == str(path)
        OUTCOMES["refused"] += 1
        _event(f"{test}: refused")
    else:
        assert isinstance(result, ModelFile)
        OUTCOMES["opened"] += 1
        _event(f"{test}: opened")
    return result


def _target(workdir: Path, test: str) -> Path:
    return workdir / f"{test}.h5"


# -- 1. byte flips ---------------------------------------------------------------------------

sample_index = st.integers(0, 10_000)


@st.composite
def flips(draw: st.DrawFn, sample: Sample) -> list[tuple[int, int]]:
    """1 to 64 (offset, new byte) pairs, biased to the first 4 KB and to metadata."""
    size = len(sample.data)
    spans = sample.metadata_offsets()
    anywhere = st.integers(0, size - 1)
    head = st.integers(0, min(4096, size) - 1)
    metadata = st.sampled_from(spans).flatmap(lambda s: st.integers(s[0], s[1] - 1))
    offsets = draw(st.lists(st.one_of(head, metadata, anywhere), min_size=1, max_size=64))
    changes = []
    for offset in offsets:
        old = sample.data[offset]
        how = draw(st.sampled_from(["xor", "bit", "zero", "ones", "any"]))
        if how == "xor":
            new = old ^ draw(st.integers(1, 255))
        elif how == "bit":
            new = old ^ (1 << draw(st.integers(0, 7)))
        elif how == "zero":
            new = 0
        elif how == "ones":
            new = 0xFF
        else:
            new = draw(st.integers(0, 255))
        changes.append((offset, new))
    return changes


@FUZZ
@given(data=st.data(), which=sample_index)
def test_flipped_bytes(
    samples: list[Sample], workdir: Path, data: st.DataObject, which: int
) -> None:
    sample = samples[which % len(samples)]
    changes = data.draw(flips(sample), label="changes")
    damaged = bytearray(sample.data)
    for offset, new in changes:
        damaged[offset] = new
    path = _target(workdir, "flipped_bytes")
    path.write_bytes(bytes(damaged))
    open_damaged("flipped_bytes", sample, path)


# -- 2. truncation ---------------------------------------------------------------------------


@FUZZ
@given(data=st.data(), which=sample_index)
def test_truncated(samples: list[Sample], workdir: Path, data: st.DataObject, which: int) -> None:
    sample = samples[which % len(samples)]
    size = len(sample.data)
    length = data.draw(
        st.one_of(st.integers(0, min(size, 8192)), st.integers(0, size - 1)), label="length"
    )
    tail = data.draw(st.sampled_from([b"", b"\0" * 512, bytes(range(256))]), label="tail")
    path = _target(workdir, "truncated")
    path.write_bytes(sample.data[:length] + tail)
    result = open_damaged("truncated", sample, path)
    if length < 8:  # not even the HDF5 signature is left
        assert isinstance(result, ModelFileError)


# -- 3. JSON rewrites ------------------------------------------------------------------------

HUGE_NUMBERS = [
    2**31,
    2**31 - 1,
    2**53 + 1,
    2**63,
    2**64,
    -(2**63) - 1,
    10**30,
    10**4000,
    1e308,
    -1e308,
    5e-324,
    math.nan,
    math.inf,
    -math.inf,
    -1,
    0,
]
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.sampled_from(HUGE_NUMBERS),
    st.text(max_size=12),
    st.sampled_from(["", "Dense", "n1", "relu", "float32", "adam", "/", "../x", "x" * 5000]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=16,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value, outer places first."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def _other_type(value: Any) -> list[Any]:
    """Values of other JSON types than ``value``'s, related to it where possible."""
    options: list[Any] = [None, True, 1, 1.5, "text", [], {}]
    if isinstance(value, bool):
        options += [int(value), str(value).lower(), [value]]
    elif isinstance(value, (int, float)):
        options += [str(value), [value], {"value": value}, bool(value), -value]
    elif isinstance(value, str):
        options += [value.encode().hex(), [value], {value: value}, len(value), value * 50]
    elif isinstance(value, list):
        options += [dict(enumerate(value)), value[:1], value * 2, [value], list(reversed(value))]
    elif isinstance(value, dict):
        options += [list(value.values()), list(value), [value], {k: None for k in value}]
    return [o for o in options if type(o) is not type(value)]


@dataclass
class Nest:
    """A placeholder for a value nested ``depth`` times, written out as text (json cannot)."""

    depth: int
    brackets: str
    inner: Any


@st.composite
def mutated_json(draw: st.DrawFn, document: Any) -> bytes:
    """The document's JSON text after 1 to 3 edits, or text that is not JSON at all."""
    whole = draw(
        st.sampled_from(["edit", "edit", "edit", "edit", "random", "text", "bytes", "cut"])
    )
    if whole == "random":
        return json.dumps(draw(json_values)).encode()
    if whole == "text":
        return draw(st.text(max_size=200)).encode("utf-8", "surrogatepass")
    if whole == "bytes":
        return draw(st.binary(max_size=200))
    text = json.dumps(document).encode()
    if whole == "cut":
        return text[: draw(st.integers(0, max(0, len(text) - 1)))]
    nests: list[Nest] = []
    value = document
    repeated = False  # one repeat at most, so that the text stays at most ~1000 times longer
    for _ in range(draw(st.integers(1, 3))):
        places = list(itertools.islice(_paths(value), 2000))
        path = draw(st.sampled_from(places))
        old = _get(value, path)
        how = draw(
            st.sampled_from(["delete", "random", "retype", "huge", "nest", "repeat", "empty"])
        )
        if how == "delete":
            if not path:
                continue
            parent = _get(value, path[:-1])
            del parent[path[-1]]
            continue
        if how == "random":
            new = draw(json_values)
        elif how == "retype":
            new = draw(st.sampled_from(_other_type(old)))
        elif how == "huge":
            new = draw(st.sampled_from(HUGE_NUMBERS))
        elif how == "nest":
            depth = draw(st.sampled_from([2, 20, 200, 900, 990, 1000, 3000, 100_000]))
            new = f"\0nest{len(nests)}\0"
            nests.append(Nest(depth, draw(st.sampled_from(["[]", "{}"])), old))
        elif how == "repeat" and not repeated:
            new = [old] * draw(st.sampled_from([2, 100, 1000]))
            repeated = True
        else:
            new = draw(st.sampled_from([None, "", [], {}, 0]))
        if not path:
            value = new
        else:
            _get(value, path[:-1])[path[-1]] = new
    out = json.dumps(value, allow_nan=True)
    for index, nest in enumerate(nests):  # a Nest inside a deleted value is simply gone
        open_, close = (
            ("[" * nest.depth, "]" * nest.depth)
            if nest.brackets == "[]"
            else ('{"a":' * nest.depth, "}" * nest.depth)
        )
        inner = json.dumps(nest.inner, allow_nan=True)
        out = out.replace(json.dumps(f"\0nest{index}\0"), open_ + inner + close, 1)
    return out.encode()


def _write_json_part(path: Path, part: tuple[str, str, str], text: bytes, style: str) -> None:
    kind, where, name = part
    with h5py.File(path, "r+") as f:
        if kind == "attr":
            obj = f[where]
            del obj.attrs[name]
            if style == "vlen":
                obj.attrs[name] = text.decode("utf-8", "replace")
            else:
                obj.attrs.create(name, np.array(text, dtype=f"S{max(1, len(text))}"))
            return
        parent, leaf = where.rsplit("/", 1)
        del f[where]
        if style == "vlen":
            f[parent].create_dataset(
                leaf, data=text.decode("utf-8", "replace"), dtype=h5py.string_dtype()
            )
        else:
            f[parent].create_dataset(leaf, data=np.array(text, dtype=f"S{max(1, len(text))}"))


def _read_json_part(sample: Sample, part: tuple[str, str, str]) -> Any:
    kind, where, name = part
    with h5py.File(sample.path, "r") as f:
        value = f[where].attrs[name] if kind == "attr" else f[where][()]
    return json.loads(value if isinstance(value, str) else bytes(value).decode())


@FUZZ
@given(data=st.data(), which=sample_index)
def test_rewritten_json(
    samples: list[Sample], workdir: Path, data: st.DataObject, which: int
) -> None:
    sample = samples[which % len(samples)]
    part = data.draw(st.sampled_from(sample.json_parts), label="part")
    document = _read_json_part(sample, part)
    text = data.draw(mutated_json(document), label="text")
    # The studio writes its documents as fixed-length bytes, Keras its attributes as variable
    # length strings; both are accepted, so both are tried.
    style = data.draw(st.sampled_from(["fixed", "vlen"]), label="style")
    path = _target(workdir, "rewritten_json")
    open_damaged("rewritten_json", sample, path, lambda p: _write_json_part(p, part, text, style))


# -- 4. structural rewrites ------------------------------------------------------------------

HUGE_SHAPES = [(2**40,), (2**31,), (2**31 - 1,), (2**20, 2**20), (2**16, 2**16, 2**16), (1, 2**33)]


def _array_like(draw: Callable[..., Any], shape: tuple[int, ...]) -> np.ndarray | h5py.Empty:
    """An array of the given shape in some dtype the loader should refuse or convert."""
    kind = draw(
        st.sampled_from(
            [
                *("f8", "f2", "i4", "i8", "u1", "bool", "c8", "S5", "str", "compound", "sub"),
                *("enum", "V4", "vlen", "ref", "empty", "nan", "big"),
            ]
        )
    )
    size = int(np.prod(shape))
    if kind in ("f8", "f2", "i4", "i8", "u1", "bool", "c8"):
        return np.arange(size).reshape(shape).astype(kind)
    if kind == "S5":
        return np.full(shape, b"x", dtype="S5")
    if kind == "str":
        return np.full(shape, "é", dtype=h5py.string_dtype())
    if kind == "compound":
        return np.zeros(shape, dtype=[("a", "f4"), ("b", "i4")])
    if kind == "sub":
        return np.zeros(shape, dtype=np.dtype(("f4", (2,))))
    if kind == "enum":
        return np.zeros(shape, dtype=h5py.enum_dtype({"A": 0, "B": 1}, basetype="i1"))
    if kind == "V4":
        return np.zeros(shape, dtype="V4")
    if kind == "vlen":
        out = np.empty(shape, dtype=h5py.vlen_dtype(np.float32))
        for index in np.ndindex(*shape):
            out[index] = np.ones(3, dtype=np.float32)
        return out
    if kind == "ref":
        return np.empty(shape, dtype=h5py.ref_dtype)
    if kind == "empty":
        return h5py.Empty("f4")
    if kind == "nan":
        return np.full(shape, np.nan, dtype="f4")
    return np.full(shape, 1e300, dtype="f8")  # too big for float32


@st.composite
def shapes_near(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that differs from ``shape`` a little or a lot."""
    how = draw(st.sampled_from(["axis", "transpose", "rank", "random", "scalar", "zero"]))
    if how == "axis" and shape:
        axis = draw(st.integers(0, len(shape) - 1))
        new = list(shape)
        new[axis] = max(0, new[axis] + draw(st.sampled_from([-1, 1, 2])))
        return tuple(new)
    if how == "transpose" and len(shape) > 1:
        return tuple(reversed(shape))
    if how == "rank":
        return (*shape, 1) if draw(st.booleans()) else (int(np.prod(shape)),)
    if how == "scalar":
        return ()
    if how == "zero":
        return (0, *shape[1:])
    return tuple(draw(st.lists(st.integers(0, 6), max_size=4)))


JUNK_NAMES = ["", "/", ".", "..", "../model_weights", "/model_weights", "a/../b", "x" * 300, "é"]


@st.composite
def junk_attribute(draw: st.DrawFn, old: Any) -> Any:
    """A replacement for an attribute: wrong types, wrong lists, odd names."""
    names = (
        [str(v) for v in np.asarray(old).reshape(-1)] if np.asarray(old).dtype.kind in "SOU" else []
    )
    how = draw(
        st.sampled_from(
            [
                *("int", "float", "text", "bytes", "list", "2d", "floats", "none", "names"),
                *("vlen", "empty"),
            ]
        )
    )
    if how == "int":
        return np.int64(draw(st.sampled_from([0, -1, 1, 2, 2**62])))
    if how == "float":
        return np.float64(draw(st.floats()))
    if how == "text":
        return draw(st.text(max_size=30))
    if how == "bytes":
        return np.bytes_(draw(st.binary(min_size=1, max_size=30)))
    if how == "list":
        return np.array(draw(st.lists(st.text(max_size=10), max_size=5)), dtype=h5py.string_dtype())
    if how == "2d":
        return np.array([["a", "b"], ["c", "d"]], dtype=h5py.string_dtype())
    if how == "floats":
        return np.arange(draw(st.integers(0, 5)), dtype="f8")
    if how == "none":
        return h5py.Empty("S1")
    if how == "vlen":  # variable-length numbers: numpy's kind is "O", as for text
        sequence = np.empty((1,), dtype=h5py.vlen_dtype(np.uint8))
        sequence[0] = np.frombuffer(b"layer", dtype=np.uint8)
        return sequence
    if how == "names" and names:
        changed = draw(
            st.sampled_from(["reverse", "duplicate", "drop", "extra", "odd", "many", "bytes"])
        )
        if changed == "reverse":
            names = names[::-1]
        elif changed == "duplicate":
            names = names + names[:1]
        elif changed == "drop":
            names = names[1:]
        elif changed == "extra":
            names = [*names, "extra"]
        elif changed == "odd":
            names = [*names[:-1], draw(st.sampled_from(JUNK_NAMES))]
        elif changed == "many":
            names = [f"n{i}" for i in range(20_000)]
        else:
            return np.array([n.encode() for n in names], dtype=f"S{max(1, *map(len, names))}")
        return np.array(names, dtype=h5py.string_dtype())
    return np.zeros((0,), dtype="f8")


def _replace_dataset(f: h5py.File, path: str, draw: Callable[..., Any]) -> None:
    old = f[path]
    shape, dtype = tuple(old.shape or ()), old.dtype
    if old.size is None or old.size > 1_000_000 or old.chunks:  # replaced before in this case
        shape, dtype = (3,), np.dtype("f4")
    how = draw(st.sampled_from(["shape", "dtype", "huge", "layout", "values"]))
    event(f"replace dataset: {how}")
    parent, leaf = path.rsplit("/", 1)
    group = f[parent or "/"]
    if how == "huge":
        big = draw(st.sampled_from([*HUGE_SHAPES, (2**31, *shape[1:]) if shape else (2**31,)]))
        del group[leaf]
        group.create_dataset(
            leaf, shape=big, dtype=dtype if dtype.kind == "f" else "f4", chunks=True
        )
        return
    if how == "layout":  # same values, other storage (compressed ones are refused)
        values = old[()] if old.size is not None and old.size <= 1_000_000 else np.ones(3)
        del group[leaf]
        options = draw(st.sampled_from(["gzip", "lzf", "shuffle", "fletcher32", "chunked"]))
        if options in ("gzip", "lzf") and np.ndim(values) > 0:
            group.create_dataset(leaf, data=values, compression=options)
        elif options in ("shuffle", "fletcher32") and np.ndim(values) > 0:
            group.create_dataset(leaf, data=values, **{options: True})
        elif np.ndim(values) > 0:
            group.create_dataset(leaf, data=values, chunks=True, maxshape=(None,) * np.ndim(values))
        else:
            group.create_dataset(leaf, data=values)
        return
    new_shape = draw(shapes_near(shape)) if how == "shape" else shape
    values = (
        np.zeros(new_shape, dtype=dtype)
        if how == "shape" and dtype.kind in "fiub"
        else _array_like(draw, new_shape)
    )
    del group[leaf]
    group.create_dataset(leaf, data=values)


def _swap(f: h5py.File, a: str, b: str) -> None:
    f.move(a, "/__swap__")
    f.move(b, a)
    f.move("/__swap__", b)


def _swappable(sample: Sample) -> list[tuple[str, str]]:
    return [
        (a, b)
        for a in sample.groups
        for b in sample.groups
        if a < b and not b.startswith(a + "/") and not a.startswith(b + "/")
    ]


def _edits(draw: Callable[..., Any], sample: Sample) -> Callable[[h5py.File], None]:
    """One structural edit of a file open for writing."""
    kinds = ["delete", "delete_attr", "replace", "replace", "replace", "attr", "attr", "add"]
    kinds.append("hard_link")
    if _swappable(sample):
        kinds.append("swap")
    if any(n in ("layer_names", "weight_names") for _, n in sample.attrs):
        kinds.append("split")
    how = draw(st.sampled_from(kinds))
    event(f"edit: {how}")
    if how == "delete":
        path = draw(st.sampled_from(sample.groups + sample.datasets))
        return lambda f: f.__delitem__(path)
    if how == "delete_attr":
        where, name = draw(st.sampled_from(sample.attrs))
        return lambda f: f[where].attrs.__delitem__(name)
    if how == "replace":
        path = draw(st.sampled_from(sample.datasets))
        return lambda f: _replace_dataset(f, path, draw)
    if how == "attr":
        where, name = draw(st.sampled_from(sample.attrs))

        def junk(f: h5py.File) -> None:
            value = draw(junk_attribute(f[where].attrs[name]))
            del f[where].attrs[name]
            f[where].attrs[name] = value

        return junk
    if how == "swap":
        a, b = draw(st.sampled_from(_swappable(sample)))
        event("swap siblings" if a.rsplit("/", 1)[0] == b.rsplit("/", 1)[0] else "swap any")
        return lambda f: _swap(f, a, b)
    if how == "add":
        where = draw(st.sampled_from(["/", *sample.groups]))
        name = draw(st.sampled_from(["extra", "weight_names", "0", "kernel:0", "step", "é"]))
        value = draw(st.sampled_from(["group", "array", "text"]))

        def add(f: h5py.File) -> None:
            if value == "group":
                f[where].create_group(name)
            elif value == "array":
                f[where].create_dataset(name, data=np.ones((2, 3), dtype="f4"))
            else:
                f[where].create_dataset(name, data=np.bytes_(b"{}"))

        return add
    if how == "split":  # Keras's long-attribute layout: name0, name1, ...
        lists = [(w, n) for w, n in sample.attrs if n in ("layer_names", "weight_names")]
        where, name = draw(st.sampled_from(lists))
        parts = draw(st.integers(1, 3))
        gap = draw(st.booleans())

        def split(f: h5py.File) -> None:
            values = list(np.asarray(f[where].attrs[name]).reshape(-1))
            del f[where].attrs[name]
            size = max(1, math.ceil(len(values) / parts))
            for index in range(parts):
                if gap and index == 1:
                    continue
                chunk = values[index * size : (index + 1) * size]
                f[where].attrs[f"{name}{index}"] = np.array(chunk, dtype=h5py.string_dtype())

        return split
    # hard links: a group or array reachable twice, or a cycle back to the root
    where = draw(st.sampled_from(["/", *sample.groups]))
    target = draw(st.sampled_from(["/", *sample.groups, *sample.datasets]))
    return lambda f: f[where].__setitem__("again", f[target])


@FUZZ
@given(data=st.data(), which=sample_index)
def test_rewritten_structure(
    samples: list[Sample], workdir: Path, data: st.DataObject, which: int
) -> None:
    sample = samples[which % len(samples)]
    edits = [_edits(data.draw, sample) for _ in range(data.draw(st.integers(1, 3), label="n"))]

    def damage(path: Path) -> None:
        with h5py.File(path, "r+") as f:
            for edit in edits:
                edit(f)

    open_damaged("rewritten_structure", sample, _target(workdir, "rewritten_structure"), damage)


def _weights(sample: Sample) -> list[str]:
    """The arrays the loader reads as numbers (not the JSON documents, not Keras's optimizer)."""
    documents = {f"/layer_studio/{d}" for d in ("graph", "settings", "history", "info")}
    return [
        d for d in sample.datasets if d not in documents and not d.startswith("/optimizer_weights")
    ]


@FUZZ
@given(data=st.data(), which=sample_index)
def test_a_huge_claimed_array_fails_fast(
    samples: list[Sample], workdir: Path, data: st.DataObject, which: int
) -> None:
    """A weight array claims a huge shape (chunked, with no data written): refused at once,
    naming the array, before anything is allocated for it."""
    weighted = [s for s in samples if _weights(s)]
    sample = weighted[which % len(weighted)]
    dataset = data.draw(st.sampled_from(_weights(sample)), label="dataset")
    shape = data.draw(st.sampled_from(HUGE_SHAPES), label="shape")

    def huge(path: Path) -> None:
        with h5py.File(path, "r+") as f:
            dtype = f[dataset].dtype
            del f[dataset]
            f.create_dataset(dataset, shape=shape, dtype=dtype, chunks=True)

    start = time.perf_counter()
    result = open_damaged("huge_claimed_array", sample, _target(workdir, "huge"), huge)
    assert time.perf_counter() - start < 2, (sample.name, dataset)
    assert isinstance(result, ModelFileError), (sample.name, dataset)
    assert dataset in str(result), str(result)


# -- links -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another HDF5 file, for links and external storage to point at."""
    path = tmp_path_factory.mktemp("outside") / "outside.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.ones(4, dtype="f4"))
        f.create_group("g")
    return path


def _reach_out(f: h5py.File, path: str, kind: str, target: tuple[str, str]) -> None:
    """Put at ``path`` something that reads another file or place: a soft or external link,
    an array whose values are kept in another file, or a virtual array of another file's."""
    file_name, inside = target
    if kind == "soft":
        f[path] = h5py.SoftLink(inside)
    elif kind == "external link":
        f[path] = h5py.ExternalLink(file_name, inside)
    elif kind == "external storage":
        f.create_dataset(path, shape=(8,), dtype="u1", external=[(file_name, 0, 8)])
    else:
        layout = h5py.VirtualLayout(shape=(4,), dtype="f4")
        layout[:] = h5py.VirtualSource(file_name, "x", shape=(4,))
        f.create_virtual_dataset(path, layout)


@FUZZ
@given(data=st.data(), which=sample_index)
def test_links_and_outside_storage_are_refused_and_named(
    samples: list[Sample], workdir: Path, outside: Path, data: st.DataObject, which: int
) -> None:
    sample = samples[which % len(samples)]
    place = data.draw(st.sampled_from(["dataset", "group", "new"]), label="place")
    if place == "dataset":
        at = data.draw(st.sampled_from(sample.datasets), label="at")
    elif place == "group":
        at = data.draw(st.sampled_from(sample.groups), label="at")
    else:
        at = data.draw(st.sampled_from(["", *sample.groups]), label="in") + "/link"
    kind = data.draw(
        st.sampled_from(["soft", "external link", "external storage", "virtual"]), label="kind"
    )
    if kind == "soft":
        inside = ["/", at, "/nowhere", *sample.datasets, *sample.groups]
        target = ("", data.draw(st.sampled_from(inside), label="target"))
    elif kind == "external link":
        files = [(str(outside), "/x"), (str(outside), "/g"), ("outside.h5", "/x")]
        files += [("/nonexistent.h5", "/x"), (str(sample.path), at)]
        target = data.draw(st.sampled_from(files), label="target")
    else:
        target = (str(outside), "x")

    def damage(path: Path) -> None:
        with h5py.File(path, "r+") as f:
            if at in f:
                del f[at]
            _reach_out(f, at, kind, target)

    result = open_damaged("links", sample, _target(workdir, "links"), damage)
    assert isinstance(result, ModelFileError), f"{kind} at {at} was followed"
    assert at in str(result), str(result)
    words = {"soft": "link", "external link": "link", "external storage": "another file"}
    assert words.get(kind, "virtual") in str(result), str(result)


def test_a_compressed_array_is_refused_before_it_is_inflated(
    samples: list[Sample], workdir: Path
) -> None:
    """A deflate "bomb": 10 numbers whose compressed chunk inflates to 256 MB (HDF5 would
    allocate all of it); any compression is refused before reading, so this one too."""
    stream = zlib.compressobj(9)
    block = bytes(16 << 20)
    bomb = b"".join(stream.compress(block) for _ in range(16)) + stream.flush()
    for name in ("mlp", "mlp_studio_weights", "k3_cnn"):
        sample = _sample(samples, name)
        weight = next(
            d for d in sample.datasets if "weights/" in d and d.endswith(("bias", "bias:0"))
        )

        def damage(path: Path, weight: str = weight) -> None:
            with h5py.File(path, "r+") as f:
                shape = f[weight].shape
                del f[weight]
                array = f.create_dataset(
                    weight, shape=shape, dtype="f4", chunks=shape, compression="gzip"
                )
                array.id.write_direct_chunk((0,) * len(shape), bomb, 0)

        start = time.perf_counter()
        result = open_damaged("compressed", sample, workdir / "bomb.h5", damage)
        assert isinstance(result, ModelFileError)
        assert weight in str(result) and "compressed" in str(result), str(result)
        assert time.perf_counter() - start < 2


# -- the valid files themselves ---------------------------------------------------------------


def test_the_valid_files_open(samples: list[Sample], workdir: Path) -> None:
    """The undamaged files open (so that a refusal above is about the damage)."""
    for sample in samples:
        path = workdir / "valid.h5"
        path.write_bytes(sample.data)
        assert isinstance(open_damaged("valid", sample, path), ModelFile), sample.name


# -- damage that fuzzing found, kept as plain examples ---------------------------------------


def _sample(samples: list[Sample], name: str) -> Sample:
    return next(s for s in samples if s.name == name)


def _set_attr(where: str, name: str, value: Any) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        with h5py.File(path, "r+") as f:
            del f[where].attrs[name]
            f[where].attrs[name] = value

    return edit


def _replace(find: Callable[[str], bool], value: Callable[[tuple[int, ...]], Any]) -> Any:
    """An edit replacing the first array whose path ``find`` accepts by ``value(its shape)``."""

    def edit(path: Path) -> None:
        with h5py.File(path, "r+") as f:
            found: list[str] = []
            f.visititems(
                lambda name, item: (
                    found.append(name) if isinstance(item, h5py.Dataset) and find(name) else None
                )
            )
            shape = f[found[0]].shape
            del f[found[0]]
            f[found[0]] = value(shape)

    return edit


NESTED = "\0nested\0"  # replaced by a value nested 900 deep (more than json.dumps may write)


def _json_edit(part: tuple[str, str, str], change: Callable[[Any], None]) -> Any:
    """An edit of one JSON part: ``change`` edits the parsed document in place."""

    def edit(path: Path) -> None:
        with h5py.File(path, "r") as f:
            value = f[part[1]].attrs[part[2]] if part[0] == "attr" else f[part[1]][()]
        document = json.loads(value if isinstance(value, str) else bytes(value).decode())
        change(document)
        text = json.dumps(document).replace(json.dumps(NESTED), "[" * 900 + "]" * 900)
        _write_json_part(path, part, text.encode(), "vlen" if part[0] == "attr" else "fixed")

    return edit


GRAPH = ("dataset", "/layer_studio/graph", "")
OPTIMIZER = ("attr", "/layer_studio/optimizer", "meta")
KERAS = ("attr", "/", "model_config")


def _deep_table(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def _set(*keys: Any, to: Any) -> Callable[[Any], None]:
    def change(document: Any) -> None:
        for key in keys[:-1]:
            document = document[key]
        document[keys[-1]] = to

    return change


def _keras_gru(to: Any) -> Callable[[Any], None]:
    def change(document: Any) -> None:
        gru = next(e for e in document["config"]["layers"] if e["class_name"] == "GRU")
        gru["config"]["recurrent_activation"] = to

    return change


#: Each of these broke the rule (another exception, a warning, or an unreadable message)
#: before the fixes of the issue [files].
FOUND: dict[str, tuple[str, Callable[[Path], None]]] = {
    "studio format is a list of text": (
        "mlp",
        _set_attr("/layer_studio", "format", np.array(["a", "b"], dtype=h5py.string_dtype())),
    ),
    "studio format is an empty array": (
        "mlp",
        _set_attr("/layer_studio", "format", np.zeros((0,))),
    ),
    "studio version is text": ("mlp", _set_attr("/layer_studio", "version", "1")),
    "studio version is a list": ("mlp", _set_attr("/layer_studio", "version", np.array([1, 2]))),
    "GRU bias is one number (Keras 2)": (
        "k2_rnn",
        _replace(lambda p: "gru" in p and "bias" in p, lambda shape: np.float32(0.5)),
    ),
    "GRU bias is one number (Keras 3)": (
        "k3_rnn",
        _replace(lambda p: "gru" in p and "bias" in p, lambda shape: np.float32(0.5)),
    ),
    "a studio weight too large for float32": (
        "mlp_studio_weights",
        _replace(lambda p: "weights/" in p, lambda shape: np.full(shape, 1e300)),
    ),
    "optimizer betas nested 900 deep": (
        "mlp",
        _json_edit(OPTIMIZER, _set("param_groups", 0, "betas", to=NESTED)),
    ),
    "a layer position too large for a float": (
        "mlp",
        _json_edit(GRAPH, _set("nodes", 0, "position", to=[10**400, 0])),
    ),
    "a layer kind that is a deep table": (
        "mlp",
        _json_edit(GRAPH, _set("nodes", 1, "kind", to=_deep_table(400))),
    ),
    "a layer setting that is a long text": (
        "mlp",
        _json_edit(GRAPH, _set("nodes", 1, "params", "use_bias", to="x" * 5000)),
    ),
    "a Keras model class that is a deep table": (
        "k3_cnn",
        _json_edit(KERAS, _set("class_name", to=_deep_table(400))),
    ),
    "a Keras GRU activation that is a long text": (
        "k3_rnn",
        _json_edit(KERAS, _keras_gru("x" * 5000)),
    ),
}


@pytest.mark.parametrize("case", list(FOUND))
def test_damage_found_by_fuzzing(samples: list[Sample], workdir: Path, case: str) -> None:
    name, damage = FOUND[case]
    result = open_damaged("found", _sample(samples, name), workdir / "found.h5", damage)
    assert isinstance(result, ModelFileError)


def _huge_units(document: dict[str, Any], units: int) -> dict[str, Any]:
    for node in document["nodes"]:
        if node["kind"] == "Dense" and node["params"]["units"] == 64:
            node["params"]["units"] = units
    return document


@pytest.mark.parametrize("units", [10**6, 50_000, 5_000])
def test_a_model_too_big_for_its_file_is_refused_before_it_is_built(
    samples: list[Sample], workdir: Path, monkeypatch: pytest.MonkeyPatch, units: int
) -> None:
    """Two hidden layers of ``units`` units (10**12 down to 2.5 * 10**7 weights) in a file of
    a few kilobytes: the model is refused before anything is allocated for it."""
    sample = _sample(samples, "mlp")
    part = ("dataset", "/layer_studio/graph", "")
    document = _huge_units(_read_json_part(sample, part), units)
    text = json.dumps(document).encode()
    built: list[int] = []
    real = compile_graph  # what h5io calls

    def spy(*args: Any, **kwargs: Any) -> torch.fx.GraphModule:
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(h5io, "compile_graph", spy)
    result = open_damaged(
        "too_big",
        sample,
        workdir / "too_big.h5",
        lambda p: _write_json_part(p, part, text, "fixed"),
    )
    assert isinstance(result, ModelFileError)
    assert "parameters" in str(result), str(result)
    assert not built, "the model was built before it was refused"


# -- damage that crashes or hangs HDF5 itself ------------------------------------------------


def _hdf5_breakers(folder: Path) -> list[Path]:
    """Three one-field damages that HDF5 2.0.0 (h5py 3.16) cannot survive, each found by
    flipping bytes: read naively, the first kills the interpreter (segfault), the other two
    never return (plain ``h5py`` shows it: ``h5py.File(path).attrs["model_config"]``).

    * The datatype of the root ``model_config`` attribute of a Keras 3 file, its class bit
      field set to 0xFF: a variable-length type whose "type" is 15 (neither sequence nor
      string); reading the attribute segfaults in HDF5's type conversion.
    * In a Keras 2 file, the first object of the global heap collection (which holds the
      variable-length strings, ``model_config`` among them) given index 0 and size 0:
      ``H5HG__cache_heap_deserialize`` loops forever.
    * In a Keras 3 file, the free list of the root group's local heap pointing back at
      itself: ``H5HL__fl_deserialize`` loops forever, allocating memory at each step.
    """
    vlen = bytearray((FIXTURES / "k3_cnn.h5").read_bytes())
    place = vlen.find(b"model_config\0\0\0\0") + 17  # the name, padded to 8; class byte
    assert (vlen[place - 1], vlen[place]) == (0x19, 0x01), "k3_cnn.h5 is not the file it was"
    vlen[place] = 0xFF
    heap = bytearray((FIXTURES / "k2_functional.h5").read_bytes())
    first = heap.find(b"GCOL") + 16
    assert first > 16, "k2_functional.h5 is not the file it was"
    heap[first : first + 2] = bytes(2)  # object index 0 (free space)...
    heap[first + 8 : first + 16] = bytes(8)  # ...of size 0
    local = bytearray((FIXTURES / "k3_rnn.h5").read_bytes())
    at = local.find(b"HEAP\0\0\0\0")
    block, start = (int.from_bytes(local[at + k : at + k + 8], "little") for k in (16, 24))
    assert at > 0 and block < 2**20, "k3_rnn.h5 is not the file it was"
    local[start + block : start + block + 8] = block.to_bytes(8, "little")  # next = itself
    paths = [folder / "vlen_type.h5", folder / "global_heap.h5", folder / "local_heap.h5"]
    for path, data in zip(paths, (vlen, heap, local), strict=True):
        path.write_bytes(bytes(data))
    return paths


def test_damage_that_breaks_hdf5_itself_is_refused_before_hdf5_reads_it(tmp_path: Path) -> None:
    """Run in a child interpreter, so that a regression fails this test instead of killing
    or hanging the whole test run."""
    paths = _hdf5_breakers(tmp_path)
    script = (
        "import sys\n"
        "from core.h5io import ModelFileError, load_model\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        load_model(path)\n"
        "        print('opened')\n"
        "    except ModelFileError as err:\n"
        "        print('refused:', str(err).replace(chr(10), ' '))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KERAS_BACKEND": "torch"}
    done = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", script, *map(str, paths)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_S,
    )
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-3000:]}"
    lines = done.stdout.splitlines()
    assert len(lines) == len(paths), done.stdout
    assert all(line.startswith("refused:") for line in lines), done.stdout
    assert "not text" in lines[0], done.stdout
    assert "global heap" in lines[1] and "local heap" in lines[2], done.stdout
