"""HDF5 heaps checked before HDF5 reads a file: one flipped byte in them makes HDF5 2.0.0
loop forever, which no error handling can stop once the library is in the loop."""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from pathlib import Path


class HeapDamage(ValueError):
    """A heap of the file is damaged in a way HDF5 would not survive."""


def check_heaps(path: str | Path) -> None:
    """Refuse a file whose heaps would make HDF5 loop forever.

    HDF5 2.0.0 trusts two structures that one flipped byte can break (both found by fuzzing):

    * a global heap collection (``GCOL``: where variable-length strings live, such as every
      Keras file's ``model_config``) with an object of size 0: ``H5HG__cache_heap_deserialize``
      never moves on (an object that runs past its collection is refused too);
    * a local heap (``HEAP``: the names of a group's members) whose free list loops back on
      itself: ``H5HL__fl_deserialize`` allocates a node per step, forever.

    So, before HDF5 reads anything, each of them is walked here the way HDF5 walks it (format
    specification: "Global Heap Collection", "Local Heap"), in time linear in the file's size.
    """
    with (
        Path(path).open("rb") as raw,
        mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ) as data,
    ):
        if _sizes(data) == (8, 8):  # every h5py and Keras file; others are left to HDF5
            _walk_global_heaps(data)
            _walk_local_heaps(data)


def _sizes(data: mmap.mmap) -> tuple[int, int]:
    """The superblock's sizes of offsets and of lengths (bytes)."""
    if len(data) < 16:
        return 0, 0
    version = data[8]
    if version in (0, 1):
        return data[13], data[14]
    if version in (2, 3):
        return data[9], data[10]
    return 0, 0


def _number(data: mmap.mmap, at: int) -> int:
    return int.from_bytes(data[at : at + 8], "little")


def _signatures(data: mmap.mmap, signature: bytes, version: int) -> Iterator[int]:
    """Where ``signature`` starts a structure of that version (then 3 zero bytes)."""
    tail = bytes([version, 0, 0, 0])
    at = data.find(signature)
    while at != -1:
        if data[at + 4 : at + 8] == tail:
            yield at
        at = data.find(signature, at + 1)


def _walk_global_heaps(data: mmap.mmap) -> None:
    damaged = "A global heap of the file is damaged ({}); the file cannot be read."
    for at in _signatures(data, b"GCOL", 1):
        total = _number(data, at + 8)
        if total < 4096:  # HDF5 never makes a smaller collection: this is not one
            continue
        end = at + total
        if end > len(data):
            raise HeapDamage(damaged.format("it runs past the end of the file"))
        place = at + 16
        while place + 16 <= end:
            index = int.from_bytes(data[place : place + 2], "little")
            length = _number(data, place + 8)
            need = length if index == 0 else 16 + (length + 7) // 8 * 8
            if need == 0 or place + need > end:
                raise HeapDamage(damaged.format(f"object {index} at byte {place:,}"))
            place += need


def _walk_local_heaps(data: mmap.mmap) -> None:
    damaged = "A local heap of the file is damaged ({}); the file cannot be read."
    for at in _signatures(data, b"HEAP", 0):
        size, block, start = _number(data, at + 8), _number(data, at + 16), _number(data, at + 24)
        seen: set[int] = set()
        while block != 1 and block != 2**64 - 1:  # HDF5's two ways to end the free list
            if block in seen:
                raise HeapDamage(damaged.format(f"its free list loops at byte {block:,}"))
            if block >= size or start + block + 16 > len(data):
                break  # HDF5 reports this one itself
            seen.add(block)
            block = _number(data, start + block)
