"""Per-chunk results on disk: what makes a killed run resumable.

The work list of a run (files to probe, rows to verify...) is cut into fixed chunks in a deterministic order. Each
finished chunk is written as ``chunk-00012.json`` (its rows) and then ``chunk-00012.stats.json`` (counts, failure
histogram, fingerprint), the stats file last: it is the done marker (video2dataset's ``{id}_stats.json``). A rerun
with the same command skips chunks whose stats file exists with the same fingerprint, runs the rest, and the final
output is the concatenation of all chunks in order, so it is the same whatever was interrupted where.

The fingerprint hashes the chunk's item ids and the tool's settings: a chunk whose files or settings changed since
it was written is redone rather than trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from data_tools.atomic import atomic_write_json

__all__ = ["ChunkJournal", "chunk_fingerprint"]

_MAX_REASONS = 20  # distinct failure messages kept per chunk (a capped histogram, like video2dataset's)


def chunk_fingerprint(ids: list[str], settings: dict[str, Any]) -> str:
    """sha1 of the chunk's item ids and the tool settings that change its results."""
    h = hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode())
    for item in ids:
        h.update(b"\0" + item.encode("utf-8", "surrogateescape"))
    return h.hexdigest()


class ChunkJournal:
    """Chunk files of one run in ``work_dir``.

    Args:
        work_dir: folder holding ``chunk-*.json`` and ``chunk-*.stats.json`` (created on first write).
    """

    def __init__(self, work_dir: str | os.PathLike[str]) -> None:
        self.work_dir = Path(work_dir)

    def _rows_path(self, chunk: int) -> Path:
        return self.work_dir / f"chunk-{chunk:05d}.json"

    def stats_path(self, chunk: int) -> Path:
        """The done marker of ``chunk``."""
        return self.work_dir / f"chunk-{chunk:05d}.stats.json"

    def load(self, chunk: int, fingerprint: str) -> list[dict[str, Any]] | None:
        """The rows of a finished chunk, or ``None`` when it is not done (or done with other files/settings)."""
        try:
            stats = json.loads(self.stats_path(chunk).read_text())
            if stats.get("fingerprint") != fingerprint:
                return None
            rows = json.loads(self._rows_path(chunk).read_text())
        except (OSError, ValueError):
            return None
        return rows if isinstance(rows, list) else None

    def save(self, chunk: int, fingerprint: str, rows: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
        """Write a finished chunk: rows first, then the stats file (the done marker). Returns the stats."""
        statuses = Counter(str(r.get("status", "ok")) for r in rows)
        reasons = Counter(str(r.get("reason", "")) for r in rows if r.get("status", "ok") != "ok")
        stats = {
            "chunk": chunk, "fingerprint": fingerprint, "count": len(rows), "ok": statuses.get("ok", 0),
            "failed": len(rows) - statuses.get("ok", 0), "status": dict(sorted(statuses.items())),
            "reasons": dict(reasons.most_common(_MAX_REASONS)), "seconds": round(seconds, 3),
        }
        atomic_write_json(self._rows_path(chunk), rows)
        atomic_write_json(self.stats_path(chunk), stats)
        return stats

    def remove(self) -> None:
        """Delete the work folder (after the final output is written)."""
        shutil.rmtree(self.work_dir, ignore_errors=True)
