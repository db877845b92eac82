"""Atomic file writes: every output of ``vidssl-data`` appears complete or not at all.

A file is written under a temporary name in its final folder (same filesystem, so the rename is atomic) and renamed
over the final name. Temporary names are deterministic for outputs a worker writes (``partial_path``), so a rerun
after ``kill -9`` overwrites the stale partial instead of leaving it behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["OUTPUT_MARKER", "atomic_write_bytes", "atomic_write_json", "is_partial", "mark_output_dir", "partial_path",
           "readable"]

# Written into every folder that transcode/shard create: `scan` never descends into a folder holding it, so an
# output folder placed inside the input folder is not scanned as input.
OUTPUT_MARKER = ".vidssl-data-output"
PARTIAL_SUFFIX = ".partial"


def partial_path(path: str | os.PathLike[str]) -> Path:
    """The temporary name a worker writes ``path`` under (hidden, same folder): ``dir/.name.partial.ext``.

    The original extension is kept last so muxers that pick the format from the name still work.
    """
    path = Path(path)
    return path.with_name(f".{path.stem}{PARTIAL_SUFFIX}{path.suffix}")


def is_partial(name: str) -> bool:
    """Whether a file name is a temporary name from :func:`partial_path` or :func:`atomic_write_bytes`."""
    return name.startswith(".") and (PARTIAL_SUFFIX in name or name.endswith(".tmp"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs get the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def readable(path: str | os.PathLike[str]) -> Path:
    """Give a file written through ``mkstemp`` (mode 0600, e.g. by ``write_manifest``) the usual permissions."""
    path = Path(path)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o666 & ~_umask())
    return path


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=False, default=str) + "\n").encode())


def mark_output_dir(folder: str | os.PathLike[str], tool: str) -> None:
    """Create ``folder`` and its :data:`OUTPUT_MARKER` naming the tool that writes there."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / OUTPUT_MARKER
    if not marker.exists():
        atomic_write_bytes(marker, f"written by vidssl-data {tool}; `vidssl-data scan` skips this folder\n".encode())
