"""Reading HDF5 files that may be broken or hostile, with one error type for every failure.

Nothing here executes anything from a file: text attributes become JSON through ``json.loads``
only, datasets are plain numeric arrays whose shape and size are checked before any memory is
allocated, and soft or external links, external storage and virtual datasets (all of which
could read other files) are refused, as is compression (HDF5 inflates without bound). Before
HDF5 reads a file, its heaps are checked (:func:`check_heaps`): HDF5 2.0.0 loops forever on
some one-byte damages to them.

A damaged file makes the HDF5 library fail inside any call, and h5py reports that as an
``OSError``, ``RuntimeError``, ``KeyError``, ``ValueError`` (``UnicodeDecodeError`` for a
damaged name) or ``TypeError`` (an unknown type or link class), depending on the call. So every
read of the file goes through a function here that turns exactly those, raised by the h5py call
itself, into :class:`ModelFileError`: callers never touch ``in``, ``attrs`` or iteration of an
h5py object directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import h5py
import numpy as np

from core.h5heaps import HeapDamage, check_heaps
from core.layers.spec import FreshArray

#: The most bytes a JSON attribute may hold (a graph of thousands of layers is a few MB).
MAX_JSON_BYTES = 64 * 1024 * 1024
#: The most objects (groups and datasets) a model file may hold.
MAX_OBJECTS = 200_000
#: The most elements one array may have (2**31 float32 values are 8 GiB).
MAX_ELEMENTS = 2**31
#: The biggest chunk (in bytes) a dataset may claim beyond its own size: HDF5 allocates a whole
#: chunk to read any part of it, so a small dataset claiming 4 GB chunks is refused.
MAX_CHUNK_BYTES = 16 * 1024 * 1024
#: The longest one problem of a :class:`ModelFileError` is shown.
MAX_PROBLEM = 600
#: The longest a name or path is shown in a message.
MAX_SHOWN = 120
_NUMERIC = "fiub"  # float, signed and unsigned integer, bool
#: The HDF5 filters an array may pass through: both keep the size of the data. Compression is
#: refused because HDF5 inflates a chunk without bound (a 0.5 MB file can make it allocate
#: 512 MB for 10 numbers), and neither Keras nor the studio compresses.
_SAFE_FILTERS = frozenset({h5py.h5z.FILTER_SHUFFLE, h5py.h5z.FILTER_FLETCHER32})
#: What h5py raises when the HDF5 library finds the file damaged (see the module docstring).
_H5_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError)
_T = TypeVar("_T")


class ModelFileError(Exception):
    """A model file that cannot be read or written; ``problems`` lists every reason."""

    def __init__(self, problems: list[str] | str, path: str | Path | None = None) -> None:
        # Messages may quote values from a hostile file: keep each one short and visible.
        given = [problems] if isinstance(problems, str) else list(problems)
        self.problems = [show(p, MAX_PROBLEM) for p in given]
        self.path = None if path is None else str(path)
        lines = self.problems
        head = f"{self.path}: " if self.path else ""
        if len(lines) == 1:
            super().__init__(head + lines[0])
        else:
            super().__init__(head + "\n".join(f"- {p}" for p in lines))


@contextmanager
def open_h5(path: str | Path) -> Iterator[h5py.File]:
    """Open ``path`` for reading, turning every way it can fail into :class:`ModelFileError`."""
    path = Path(path)
    try:
        if path.is_dir():
            raise ModelFileError("This is a folder, not a model file.", path)
        with path.open("rb") as raw:
            start = raw.read(8)
    except FileNotFoundError:
        raise ModelFileError("There is no such file.", path) from None
    except (OSError, ValueError) as err:  # no permission, a name the system refuses
        raise ModelFileError(f"The file cannot be read ({_reason(err)}).", path) from None
    if start != b"\x89HDF\r\n\x1a\n":
        raise ModelFileError("This is not an HDF5 (.h5) file.", path)
    try:
        check_heaps(path)
    except HeapDamage as err:
        raise ModelFileError(str(err), path) from None
    except (OSError, ValueError) as err:
        raise ModelFileError(f"The file cannot be read ({_reason(err)}).", path) from None
    try:
        f = h5py.File(path, "r")
    except _H5_ERRORS as err:
        raise ModelFileError(
            f"The file is damaged and cannot be opened ({_reason(err)}).", path
        ) from None
    try:
        yield f
    finally:
        f.close()


# -- messages --------------------------------------------------------------------------------


def show(text: str, limit: int = MAX_SHOWN) -> str:
    """A name or path from a file as it may appear in a message: visible characters only, and
    shortened when long (names in a hostile file can be anything)."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _reason(err: BaseException) -> str:
    """What h5py said, without the quotes a KeyError adds."""
    text = err.args[0] if err.args and isinstance(err.args[0], str) else str(err)
    return show(text.strip() or type(err).__name__, 300)


def _name(obj: h5py.HLObject) -> str:
    try:
        name = obj.name
    except _H5_ERRORS:
        return "(an object)"
    return show(name) if isinstance(name, str) else "(an object)"


def _in(parent: str, name: str) -> str:
    return show(f"{parent.rstrip('/')}/{name}")


def _damaged(where: str, err: BaseException) -> ModelFileError:
    return ModelFileError(f"{where} is damaged ({_reason(err)}).")


# -- navigating ------------------------------------------------------------------------------


def names(group: h5py.Group) -> list[str]:
    """The names of a group's members (at most :data:`MAX_OBJECTS`)."""
    found: list[str] = []
    try:
        for name in group:
            found.append(name)
            if len(found) > MAX_OBJECTS:
                raise ModelFileError(f"{_name(group)} holds more than {MAX_OBJECTS:,} objects.")
    except _H5_ERRORS as err:
        raise _damaged(_name(group), err) from None
    return found


def contains(group: h5py.Group, name: str) -> bool:
    """Whether ``group`` has a member (of any kind of link) called ``name`` (one name, no path)."""
    if not name or "/" in name or name in (".", ".."):
        raise ModelFileError(f"{show(name)!r} is not a valid name in the file.")
    try:
        return bool(group.id.links.exists(name.encode("utf-8")))
    except _H5_ERRORS as err:
        raise _damaged(_name(group), err) from None


def _link(group: h5py.Group, name: str, where: str) -> Any:
    """The link object (HardLink, SoftLink or ExternalLink) of a member."""
    try:
        return group.get(name, getlink=True)
    except _H5_ERRORS as err:
        raise _damaged(where, err) from None


def _open(group: h5py.Group, name: str, where: str) -> Any:
    """The group, dataset or named type behind a hard link."""
    try:
        return group[name]
    except _H5_ERRORS as err:
        raise _damaged(where, err) from None


def check_structure(f: h5py.File) -> None:
    """Walk the whole file once, before anything is read from it: refuse soft and external
    links, arrays kept outside the file or compressed (:func:`check_storage`), damaged groups
    and attribute tables, and files with absurdly many objects."""
    seen: set[int] = set()
    stack: list[h5py.Group] = [f]
    count = 0
    attr_names_of(f)
    while stack:
        group = stack.pop()
        parent = _name(group)
        for name in names(group):
            count += 1
            if count > MAX_OBJECTS:
                raise ModelFileError(f"The file holds more than {MAX_OBJECTS:,} objects.")
            where = _in(parent, name)
            link = _link(group, name, where)
            if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
                kind = "a soft link" if isinstance(link, h5py.SoftLink) else "an external link"
                raise ModelFileError(f"{where} is {kind}; model files may not hold links.")
            if not isinstance(link, h5py.HardLink):
                raise ModelFileError(f"{where} is a link of an unknown kind.")
            item = _open(group, name, where)
            if not isinstance(item, (h5py.Group, h5py.Dataset)):
                raise ModelFileError(f"{where} is not a group or array.")
            attr_names_of(item)
            if isinstance(item, h5py.Dataset):
                check_storage(item, where)
            else:
                try:
                    address = int(h5py.h5o.get_info(item.id).addr)
                except _H5_ERRORS as err:
                    raise _damaged(where, err) from None
                if address not in seen:
                    seen.add(address)
                    stack.append(item)


def child(group: h5py.Group, path: str, kind: type[_T]) -> _T:
    """The group or dataset at ``path`` under ``group``, following only hard links."""
    parts = [p for p in path.split("/") if p]
    if not parts or path.startswith("/") or any(p in (".", "..") for p in parts):
        raise ModelFileError(f"{show(path)!r} is not a valid place in the file.")
    where = _in(_name(group), path)
    item: Any = group
    for part in parts:
        if not isinstance(item, h5py.Group) or not contains(item, part):
            raise ModelFileError(f"{where} is missing.")
        link = _link(item, part, where)
        if not isinstance(link, h5py.HardLink):
            raise ModelFileError(f"{where} is a link; links are refused.")
        item = _open(item, part, where)
    if not isinstance(item, kind):
        what = "a group" if kind is h5py.Group else "an array"
        raise ModelFileError(f"{where} should be {what}.")
    return item


# -- attributes ------------------------------------------------------------------------------


def attr_names_of(obj: h5py.HLObject) -> list[str]:
    """The names of an object's attributes."""
    try:
        return list(obj.attrs)
    except _H5_ERRORS as err:
        raise ModelFileError(
            f"The attributes of {_name(obj)} are damaged ({_reason(err)})."
        ) from None


def has_attr(obj: h5py.HLObject, name: str) -> bool:
    """Whether ``obj`` has an attribute called ``name``."""
    try:
        return name in obj.attrs
    except _H5_ERRORS as err:
        raise ModelFileError(
            f"The attributes of {_name(obj)} are damaged ({_reason(err)})."
        ) from None


def _is_text(attr: Any) -> bool:
    """Whether an attribute holds strings (fixed or variable length). Checked on the HDF5 type
    class, not on numpy's ``dtype.kind``: kind ``O`` also covers variable-length sequences, and
    HDF5 2.0 crashes (segfault) reading one whose damaged type byte is out of range."""
    return bool(attr.get_type().get_class() == h5py.h5t.STRING)


def _decode(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    raise ModelFileError(f"Expected text but found {type(value).__name__}.")


def attr_text(obj: h5py.HLObject, name: str) -> str | None:
    """A text attribute (variable or fixed length, bytes or str), or None when absent."""
    if not has_attr(obj, name):
        return None
    where = f"The attribute {show(name)!r} of {_name(obj)}"
    try:
        attr = obj.attrs.get_id(name)
        if not _is_text(attr) or attr.shape not in ((), (1,)):
            raise ModelFileError(f"{where} is not text.")
        if attr.get_storage_size() > MAX_JSON_BYTES:
            raise ModelFileError(f"{where} is too large.")
        value = obj.attrs[name]
        if isinstance(value, np.ndarray):
            value = value.reshape(-1)[0]
        text = _decode(value)
    except ModelFileError:
        raise
    except _H5_ERRORS as err:
        raise ModelFileError(f"{where} is damaged ({_reason(err)}).") from None
    if len(text) > MAX_JSON_BYTES:
        raise ModelFileError(f"{where} is too large.")
    return text


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:
        raise ModelFileError(f"{where} is not valid JSON ({show(str(err), 200)}).") from None


def attr_json(obj: h5py.HLObject, name: str) -> Any:
    """A JSON attribute parsed (plain data only), or None when absent."""
    text = attr_text(obj, name)
    if text is None:
        return None
    return _json(text, f"The attribute {show(name)!r} of {_name(obj)}")


def attr_int(obj: h5py.HLObject, name: str) -> int | None:
    """A scalar integer attribute, or None when absent."""
    if not has_attr(obj, name):
        return None
    where = f"The attribute {show(name)!r} of {_name(obj)}"
    try:
        attr = obj.attrs.get_id(name)
        if attr.dtype.kind not in "iu" or attr.shape not in ((), (1,)):
            raise ModelFileError(f"{where} is not a whole number.")
        value = np.asarray(obj.attrs[name]).reshape(-1)[0]
    except ModelFileError:
        raise
    except _H5_ERRORS as err:
        raise ModelFileError(f"{where} is damaged ({_reason(err)}).") from None
    return int(value)


def attr_names(obj: h5py.HLObject, name: str) -> list[str]:
    """A list-of-text attribute (``layer_names``, ``weight_names``); Keras may split a long one
    into ``name0``, ``name1``, ... Absent means empty."""
    keys = [name]
    if not has_attr(obj, name):
        keys = []
        while has_attr(obj, f"{name}{len(keys)}"):
            keys.append(f"{name}{len(keys)}")
    result: list[str] = []
    for key in keys:
        where = f"The attribute {show(key)!r} of {_name(obj)}"
        try:
            attr = obj.attrs.get_id(key)
            if attr.shape is None or len(attr.shape) > 1:
                raise ModelFileError(f"{where} is not a list.")
            if attr.shape == (0,):
                continue  # Keras writes an empty list as an empty float64 array
            if not _is_text(attr) or attr.get_storage_size() > MAX_JSON_BYTES:
                raise ModelFileError(f"{where} is not a list of text.")
            values = np.asarray(obj.attrs[key]).reshape(-1)
            result.extend(_decode(v) for v in values)
        except ModelFileError:
            raise
        except _H5_ERRORS as err:
            raise ModelFileError(f"{where} is damaged ({_reason(err)}).") from None
    return result


# -- datasets --------------------------------------------------------------------------------


def check_storage(dataset: h5py.Dataset, where: str | None = None) -> None:
    """Refuse an array whose values live outside the file (external storage, a virtual array
    of other files' arrays: like links, they could read any file) or that is compressed."""
    where = where or _name(dataset)
    try:
        plist = dataset.id.get_create_plist()
        layout = plist.get_layout()
        external = plist.get_external_count()
        filters = [plist.get_filter(i) for i in range(plist.get_nfilters())]
    except _H5_ERRORS as err:
        raise _damaged(where, err) from None
    if external:
        raise ModelFileError(f"{where} keeps its values in another file; this is refused.")
    if layout == h5py.h5d.VIRTUAL:
        raise ModelFileError(f"{where} is a virtual array made of other arrays; this is refused.")
    if layout not in (h5py.h5d.CONTIGUOUS, h5py.h5d.CHUNKED, h5py.h5d.COMPACT):
        raise ModelFileError(f"{where} has an unknown storage layout.")
    odd = [(code, name) for code, _, _, name in filters if code not in _SAFE_FILTERS]
    if odd:
        code, name = odd[0]
        label = show(name.decode("utf-8", "replace")) if isinstance(name, bytes) else "filter"
        raise ModelFileError(
            f"{where} is compressed ({label}, HDF5 filter {code}); the studio reads only "
            "uncompressed arrays, as Keras writes them."
        )


def _layout(dataset: h5py.Dataset, where: str) -> tuple[np.dtype[Any], tuple[int, ...] | None]:
    """A dataset's type and shape (None for an empty dataspace), read without its values."""
    check_storage(dataset, where)
    try:
        dtype, shape, chunks = dataset.dtype, dataset.shape, dataset.chunks
    except _H5_ERRORS as err:
        raise _damaged(where, err) from None
    if shape is not None and chunks is not None:
        chunk_bytes = int(np.prod(chunks, dtype=np.float64)) * dtype.itemsize
        data_bytes = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
        if chunk_bytes > max(MAX_CHUNK_BYTES, 2 * data_bytes):
            raise ModelFileError(f"{where} claims chunks of {chunk_bytes:,} bytes.")
    return dtype, None if shape is None else tuple(shape)


def read_array(
    dataset: h5py.Dataset,
    *,
    shape: tuple[int, ...] | None = None,
    max_elements: int = MAX_ELEMENTS,
    dtype: np.dtype[Any] | type | str | None = None,
) -> np.ndarray:
    """A numeric dataset's values, after checking its type, shape and size.

    Args:
        dataset: The dataset (found with :func:`child`).
        shape: The exact shape it must have, when known.
        max_elements: The most elements it may have, checked before reading.
        dtype: The type the values must become (float64 to float32, say); values that do not
            fit it (1e300 in float32, 300 in uint8) or a kind that cannot become it (floats
            to integers) are refused instead of silently becoming inf or wrapping around.
    """
    where = _name(dataset)
    stored, got = _layout(dataset, where)
    if stored.kind not in _NUMERIC or stored.fields is not None or stored.subdtype is not None:
        raise ModelFileError(f"{where} holds {show(str(stored))}, not numbers.")
    if got is None:
        raise ModelFileError(f"{where} holds no values.")
    if shape is not None and got != tuple(shape):
        raise ModelFileError(f"{where} should have shape {tuple(shape)} but has {got}.")
    if int(np.prod(got, dtype=np.float64)) > max_elements:
        raise ModelFileError(f"{where} claims {got}, more values than the model can hold.")
    try:
        values = dataset[()]
    except (*_H5_ERRORS, MemoryError) as err:
        raise ModelFileError(
            f"{where} cannot be read; the file is damaged ({_reason(err)})."
        ) from None
    array = np.asarray(values)
    result = array if dtype is None else _cast(array, np.dtype(dtype), where)
    return result.view(FreshArray)  # read for the caller alone: a tensor may adopt it


def _cast(array: np.ndarray, dtype: np.dtype[Any], where: str) -> np.ndarray:
    """``array`` as ``dtype``, refusing values that do not fit."""
    if array.dtype == dtype:
        return array
    if not np.can_cast(array.dtype, dtype, "same_kind"):
        raise ModelFileError(f"{where} holds {array.dtype} values, which cannot become {dtype}.")
    if dtype.kind in "iu" and array.size:
        low, high = np.iinfo(dtype).min, np.iinfo(dtype).max
        if array.min() < low or array.max() > high:
            raise ModelFileError(f"{where} holds numbers outside the range of {dtype}.")
    try:
        with np.errstate(over="raise", invalid="raise"):
            return array.astype(dtype)
    except FloatingPointError:
        raise ModelFileError(f"{where} holds numbers too large for {dtype}.") from None


def dataset_text(group: h5py.Group, name: str, max_bytes: int = MAX_JSON_BYTES) -> str:
    """The text held by a scalar byte-string dataset (how the studio stores JSON documents)."""
    dataset = child(group, name, h5py.Dataset)
    where = _name(dataset)
    dtype, shape = _layout(dataset, where)
    if dtype.kind != "S" or shape != ():
        raise ModelFileError(f"{where} is not a text document.")
    if dtype.itemsize > max_bytes:
        raise ModelFileError(f"{where} is too large.")
    try:
        value = dataset[()]
    except _H5_ERRORS as err:
        raise _damaged(where, err) from None
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError as err:
        raise ModelFileError(f"{where} is not UTF-8 text ({_reason(err)}).") from None


def dataset_json(group: h5py.Group, name: str, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """The JSON document held by a scalar byte-string dataset, parsed (plain data only)."""
    text = dataset_text(group, name, max_bytes)
    return _json(text, _in(_name(group), name))


def check_model_size(parameters: int, f: h5py.File) -> None:
    """Refuse, before the model is built, a model bigger than the studio builds or than the
    file could hold the weights of (4 bytes each, allowing 16 times for compression), so that a
    few edited numbers in a small file cannot make the loader allocate gigabytes.

    Args:
        parameters: The model's parameter count (:func:`core.summary.summarize` counts them
            without allocating anything).
        f: The open file.
    """
    if parameters > MAX_ELEMENTS:
        raise ModelFileError(
            f"The model has {parameters:,} parameters, more than the studio can hold "
            f"({MAX_ELEMENTS:,})."
        )
    try:
        size = int(f.id.get_filesize())
    except _H5_ERRORS as err:
        raise _damaged("The file", err) from None
    if parameters > 16 * size + MAX_CHUNK_BYTES:
        raise ModelFileError(
            f"The model has {parameters:,} parameters, far more than a file of {size:,} bytes "
            "can hold the weights of; the file is damaged."
        )
