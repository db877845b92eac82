"""An optional on-disk cache of probes (``VideoInfo`` + ``FrameIndex``), shared by processes and epochs.

Building a file's index costs a demux pass and a short decode (or a full decode for AVI): negligible once per file
per process, but DataLoader workers are processes, and without ``persistent_workers`` they restart every epoch.
Point ``VIDSSL_INDEX_CACHE`` (or :func:`set_index_cache_dir`) at a folder and each file is measured once. Entries
are keyed by path, size and mtime (or the hash of in-memory bytes) and written atomically; a stale or unreadable
entry is ignored and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["index_cache_dir", "load_entry", "save_entry", "set_index_cache_dir"]

_FORMAT = 1
_dir: Path | None = None
_dir_set = False


def set_index_cache_dir(path: str | os.PathLike[str] | None) -> None:
    """Use ``path`` as the on-disk probe cache (``None`` disables it, overriding ``VIDSSL_INDEX_CACHE``)."""
    global _dir, _dir_set
    _dir, _dir_set = (Path(path) if path is not None else None), True


def index_cache_dir() -> Path | None:
    """The cache folder in use, or ``None``."""
    if _dir_set:
        return _dir
    env = os.environ.get("VIDSSL_INDEX_CACHE")
    return Path(env) if env else None


def _file(key: tuple) -> Path | None:
    root = index_cache_dir()
    if root is None:
        return None
    digest = hashlib.sha1(repr((_FORMAT, *key)).encode()).hexdigest()
    return root / digest[:2] / f"{digest}.json"


def load_entry(key: tuple) -> dict[str, Any] | None:
    """The stored entry for ``key``, or ``None``."""
    path = _file(key)
    if path is None or not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if data.get("key") == repr(key) else None


def save_entry(key: tuple, entry: dict[str, Any]) -> None:
    """Store ``entry`` for ``key`` (atomic; silently skipped when the folder is not writable)."""
    path = _file(key)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w") as fh:
            json.dump({**entry, "key": repr(key)}, fh)
        os.replace(tmp, path)
    except OSError:
        pass
