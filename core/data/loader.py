"""Batches of a dataset's inputs, read ahead by worker processes when a source is lazy.

An image folder bigger than the memory budget (:class:`~core.data.images.ImageFolderSource`)
decodes its images when a batch is asked for. :class:`BatchLoader` has worker processes (a
``torch.utils.data.DataLoader``) decode the next batches while the model trains on this one;
in-memory arrays are sliced in the calling thread, never copied into the workers.

Workers start with ``forkserver`` (``spawn`` where there is none, as on Windows), never
``fork``: the studio trains on a thread beside the interface's, and a forked child gets a copy
of every lock that another thread held at that moment (Qt's, the allocator's, OpenMP's), never
released there, so it can hang; CUDA cannot be used in a forked child either. The fork server
imports torch and Pillow once, so a worker then starts in tens of milliseconds instead of
seconds (each new process would otherwise import torch itself).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import weakref
from collections.abc import Generator, Sequence
from multiprocessing.context import BaseContext
from types import TracebackType
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from core.data.dataset import Array, DataError

Unreadable = Literal["error", "black"]
#: What :meth:`BatchLoader.batches` gives: an iterator of batches that ``close()`` stops.
Batches = Generator[list[torch.Tensor], None, None]

#: Each worker gets at least this many batches (fewer workers start for fewer batches; with
#: fewer batches than this, none start and the calling thread reads them). A worker with one
#: batch overlaps nothing: the first batch waits for the workers to start (40-80 ms; about
#: 1.5 s for the first workers of a process, while the fork server imports torch).
MIN_BATCHES_PER_WORKER = 2

#: What the fork server imports once for every worker it forks (missing ones are skipped).
_PRELOAD = ["__main__", "torch", "numpy", "PIL.Image", "core.data.images", __name__]


def auto_workers() -> int:
    """Workers when none are asked for: one core fewer than the machine has, 4 at most."""
    return max(0, min(4, (os.cpu_count() or 1) - 1))


def _context() -> BaseContext:
    """``forkserver`` where there is one, else ``spawn`` (see the module's notes)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)  # used when the server starts (once)
        return context
    return multiprocessing.get_context("spawn")


def _found(source: object) -> set[str] | None:
    """Where a source records the files it could not decode (an image folder's
    ``unreadable``), looking through subsets (``.source``); None when it records none."""
    while source is not None:
        found = getattr(source, "unreadable", None)
        if isinstance(found, set):
            return found
        source = getattr(source, "source", None)
    return None


def _take(array: Array, indices: np.ndarray) -> tuple[torch.Tensor, list[str]]:
    """Those samples as a contiguous tensor (float64 as float32), and the files among them
    that could not be decoded (an image folder leaves their samples black)."""
    found = None if isinstance(array, np.ndarray) else _found(array)
    lost: list[str] = []
    if isinstance(array, np.ndarray):
        values = array[indices]
    elif found is None:
        values = array.take(indices)
    else:  # only this batch's files are in the set while it is read
        before = set(found)
        found.clear()
        try:
            values, lost = array.take(indices), sorted(found)
        finally:
            found |= before
    tensor = torch.from_numpy(np.ascontiguousarray(values))
    return (tensor.float() if tensor.dtype == torch.float64 else tensor), lost


def _said(err: Exception) -> str:
    """A plain sentence for an error raised while reading."""
    if isinstance(err, DataError):
        return str(err)
    if isinstance(err, OSError) and err.filename:
        return f"{err.filename} could not be read ({err.strerror or err})."
    return f"The data could not be read ({type(err).__name__}: {err})."


def _lost_said(lost: list[str]) -> str:
    why = "it may be damaged, or moved or deleted after the data was loaded"
    if len(lost) == 1:
        return f"The image {lost[0]} could not be read: {why}."
    shown = ", ".join(lost[:5]) + (", …" if len(lost) > 5 else "")
    return f"{len(lost)} images could not be read ({why}): {shown}."


class _Read(NamedTuple):
    """One batch of some inputs: a tensor each, the files each could not decode, an error."""

    tensors: list[torch.Tensor]
    lost: list[list[str]]
    error: str


class _Reader(TorchDataset[_Read]):
    """Some inputs, read a whole batch at a time: item ``indices`` is that batch.

    Errors come back as a sentence in the batch, never raised: the DataLoader would re-raise a
    worker's exception with the worker's traceback pasted into its message.
    """

    def __init__(self, arrays: list[Array], unreadable: Unreadable) -> None:
        self.arrays, self.unreadable = arrays, unreadable

    def __getitem__(self, indices: np.ndarray) -> _Read:
        tensors: list[torch.Tensor] = []
        lost: list[list[str]] = []
        try:
            for array in self.arrays:
                tensor, paths = _take(array, indices)
                tensors.append(tensor)
                lost.append(paths)
        except Exception as err:  # any source's failure becomes a sentence
            return _Read([], [], _said(err))
        everything = [path for paths in lost for path in paths]
        if everything and self.unreadable == "error":
            return _Read([], [], _lost_said(everything))
        return _Read(tensors, lost, "")


def _same(read: Any) -> Any:  # (typed for DataLoader's collate_fn, which expects a list)
    """A batch as the reader gave it (the default would turn its tuple into a list)."""
    return read


class BatchLoader:
    """Reads batches of a dataset's inputs, lazy sources in worker processes.

    Args:
        arrays: One array per model input: an ``ndarray`` or a lazy
            :class:`~core.data.dataset.ArraySource`.
        workers: Worker processes (None: :func:`auto_workers`; 0: everything is read in the
            calling thread). Only lazy sources are read in workers; with none, or with a
            source that cannot be sent to another process (pickled), everything is read in
            the calling thread. Short runs start fewer (:data:`MIN_BATCHES_PER_WORKER`).
        prefetch: Batches each worker reads ahead.
        unreadable: What an image that can no longer be decoded does (damaged, moved or
            deleted after the folder was loaded): ``error`` raises
            :class:`~core.data.dataset.DataError` naming it; ``black`` gives zeros and records
            it in the source's ``unreadable``, as ``ImageFolderSource.take`` does.

    Attributes:
        workers: The worker processes a long enough :meth:`batches` uses.
    """

    def __init__(
        self,
        arrays: Sequence[Array],
        *,
        workers: int | None = None,
        prefetch: int = 2,
        unreadable: Unreadable = "error",
    ) -> None:
        if prefetch < 1:
            raise ValueError(f"prefetch must be at least 1, not {prefetch}.")
        self.arrays = list(arrays)
        self.lazy = [i for i, a in enumerate(self.arrays) if not isinstance(a, np.ndarray)]
        self.prefetch = prefetch
        self.pin = torch.cuda.is_available()
        self._eager = _Reader([a for a in self.arrays if isinstance(a, np.ndarray)], unreadable)
        self._lazy = _Reader([self.arrays[i] for i in self.lazy], unreadable)
        self.workers = auto_workers() if workers is None else max(0, workers)
        if not self.lazy:
            self.workers = 0
        elif self.workers:
            try:
                pickle.dumps(self._lazy)
            except Exception:  # such a source is read in the calling thread
                self.workers = 0
        self._running: weakref.WeakSet[Batches]
        self._running = weakref.WeakSet()

    def batches(self, index_batches: Sequence[np.ndarray]) -> Batches:
        """One list of CPU tensors (one per input) for each batch of sample indices, in order.

        Stopping early (``close()`` on the iterator, or dropping it) stops its workers.

        Raises:
            DataError: A sample could not be read, or a worker process died.
        """
        chosen = [np.asarray(b, dtype=np.int64).reshape(-1) for b in index_batches]
        use = min(self.workers, len(chosen) // MIN_BATCHES_PER_WORKER)
        run = self._in_workers(chosen, use) if use else self._in_thread(chosen)
        self._running.add(run)
        return run

    def close(self) -> None:
        """Stops every unfinished :meth:`batches` and its workers; call it from the thread
        that iterates (or once it no longer does)."""
        for run in list(self._running):
            run.close()

    def __enter__(self) -> BatchLoader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _in_thread(self, chosen: list[np.ndarray]) -> Batches:
        for indices in chosen:
            yield self._joined(indices, self._lazy[indices])

    def _in_workers(self, chosen: list[np.ndarray], workers: int) -> Batches:
        loader = DataLoader(
            self._lazy,
            batch_size=None,
            sampler=chosen,  # each item is a whole batch: the reader is indexed by batches
            num_workers=workers,
            collate_fn=_same,
            pin_memory=self.pin,
            prefetch_factor=self.prefetch,
            persistent_workers=False,
            multiprocessing_context=_context(),
            generator=torch.Generator(),  # its seed draw leaves torch's global RNG alone
        )
        try:
            batches = iter(loader)  # starts the workers
        except Exception as err:
            raise DataError(f"Worker processes to read the data did not start: {err}") from err
        try:
            for indices in chosen:
                try:
                    read = next(batches)
                except Exception as err:  # a worker died (killed for memory, ...)
                    raise DataError(
                        "A worker process reading the data stopped unexpectedly; it may have "
                        "run out of memory. Reading with 0 workers needs none."
                    ) from err
                yield self._joined(indices, read)
        finally:
            shutdown = getattr(batches, "_shutdown_workers", None)
            if shutdown is not None:  # at once, not when the iterator is collected
                shutdown()

    def _joined(self, indices: np.ndarray, lazy: _Read) -> list[torch.Tensor]:
        """The batch's tensors in input order; the lazy ones' lost files recorded in the
        sources here (a worker records them in its own copy)."""
        if lazy.error:
            raise DataError(lazy.error)
        for i, lost in zip(self.lazy, lazy.lost, strict=True):
            found = _found(self.arrays[i])
            if lost and found is not None:
                found.update(lost)
        eager, read = iter(self._eager[indices].tensors), iter(lazy.tensors)
        out = [next(read) if i in self.lazy else next(eager) for i in range(len(self.arrays))]
        return [t.pin_memory() if self.pin and not t.is_pinned() else t for t in out]
