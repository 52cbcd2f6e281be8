"""The data cache: decoded data kept on disk so that loading it again is quick.

Decoding a folder of thousands of JPEGs takes minutes; reading the decoded pixels back takes a
moment. :func:`cached` finds arrays stored under a key made of everything the result depends on
(the files' names, sizes and modification times, and the options), and :func:`store` keeps
them. A changed, added or removed file gives another key, so a stale entry is never used;
old entries are removed, least recently used first, when the cache outgrows its limit.

Where the cache lives: ``LAYER_STUDIO_CACHE`` if set, else the folder chosen in Preferences
(:func:`configure`), else the user's cache folder (``~/.cache/layer-studio`` on Linux). The
cache is only ever a shortcut: a folder that cannot be written, a full disk or a damaged entry
make the data load the slow way, never fail.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ENVIRONMENT = "LAYER_STUDIO_CACHE"
#: The most the cache keeps unless Preferences say otherwise: 2 GB.
DEFAULT_LIMIT = 2_000_000_000
#: Bumped whenever what is stored changes meaning, so older entries are never read.
FORMAT = 1
SUFFIX = ".npz"
LOG = logging.getLogger("layer_studio.cache")


@dataclass
class _Config:
    folder: Path | None = None  # None: the default folder
    enabled: bool = True
    limit: int = DEFAULT_LIMIT


_config = _Config()


def amount_text(n: int) -> str:
    """A number of bytes as people read it: ``47.2 MB``, ``1.3 GB``."""
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def default_cache_folder() -> Path:
    """The user's cache folder for the studio, as each system places caches."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
        return base / "layer-studio" / "cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "layer-studio"
    return Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "layer-studio"


def configure(
    folder: str | Path | None = None, *, enabled: bool = True, limit: int = DEFAULT_LIMIT
) -> None:
    """Use ``folder`` for the cache (None: the default), or no cache when not ``enabled``;
    keep at most ``limit`` bytes."""
    _config.folder = Path(folder).expanduser() if folder else None
    _config.enabled = enabled
    _config.limit = max(0, int(limit))


def cache_folder() -> Path | None:
    """Where entries go now, or None when the cache is off."""
    if not _config.enabled:
        return None
    chosen = os.environ.get(ENVIRONMENT)
    if chosen:
        return Path(chosen).expanduser()
    return _config.folder or default_cache_folder()


def cache_limit() -> int:
    """The most bytes the cache keeps."""
    return _config.limit


def key(parts: Mapping[str, Any]) -> str:
    """A name for what ``parts`` (plain JSON values) describe."""
    text = json.dumps({"format": FORMAT, **parts}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def file_signature(paths: list[Path], root: Path) -> str:
    """What identifies these files' contents without reading them: each one's path below
    ``root``, size and modification time."""
    digest = hashlib.sha256()
    for path in paths:
        stat = path.stat()
        entry = f"{path.relative_to(root).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n"
        digest.update(entry.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _entries(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.glob(f"*{SUFFIX}") if p.is_file()]
    except OSError:
        return []


def cached(name: str) -> dict[str, np.ndarray] | None:
    """The arrays stored under ``name``, or None (no cache, no entry, or a damaged one)."""
    folder = cache_folder()
    if folder is None:
        return None
    path = folder / f"{name}{SUFFIX}"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {k: stored[k] for k in stored.files}
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: removed last
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        LOG.warning("Damaged cache entry %s removed: %s", path, err)
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    return arrays


def store(name: str, arrays: Mapping[str, np.ndarray]) -> bool:
    """Keep ``arrays`` under ``name``; False when the cache is off or cannot be written."""
    folder = cache_folder()
    size = sum(int(a.nbytes) for a in arrays.values())
    if folder is None or size > _config.limit:
        return False
    temporary = folder / f"{name}.{os.getpid()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with temporary.open("wb") as out:
            np.savez(out, **arrays)  # type: ignore[arg-type]
        temporary.replace(folder / f"{name}{SUFFIX}")
    except OSError as err:  # full disk, read-only folder: the data loads the slow way
        LOG.warning("Cannot write to the data cache %s: %s", folder, err)
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        return False
    trim(keep=name)
    return True


def trim(limit: int | None = None, keep: str | None = None) -> int:
    """Remove the least recently used entries until the cache holds at most ``limit`` bytes
    (the configured limit by default); ``keep`` is never removed. Returns the bytes freed."""
    folder = cache_folder()
    if folder is None:
        return 0
    limit = _config.limit if limit is None else limit
    entries = []
    for path in _entries(folder):
        with contextlib.suppress(OSError):
            stat = path.stat()
            entries.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    freed = 0
    for _, size, path in sorted(entries, key=lambda e: e[0]):
        if total - freed <= limit:
            break
        if path.stem == keep:
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            freed += size
    return freed


def usage() -> tuple[int, int]:
    """``(bytes, entries)`` the cache holds now."""
    folder = cache_folder()
    if folder is None:
        return 0, 0
    sizes = []
    for path in _entries(folder):
        with contextlib.suppress(OSError):
            sizes.append(path.stat().st_size)
    return sum(sizes), len(sizes)


def clear() -> int:
    """Remove every entry, and what interrupted writes left; returns the bytes freed."""
    folder = cache_folder()
    if folder is not None:
        with contextlib.suppress(OSError):
            for left in folder.glob("*.tmp"):
                left.unlink(missing_ok=True)
    return trim(limit=0)
