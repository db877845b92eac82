"""Error policy for bad videos, and failure counters that survive DataLoader worker processes.

A video that fails to open or decode is skipped (``on_error="skip"``, the training default) or raised
(``on_error="raise"``, for tests and debugging). Only failures of the *decode stage* (opening the file, reading frames
or audio) are data errors; an exception in a planner or an example builder is a bug and always propagates.

How counts reach the main process: DataLoader workers are separate processes, so a counter object in a worker is
invisible to the trainer. Instead every returned example carries the failures its worker skipped over on the way to
it, as a tuple of :class:`SkipRecord` under the key :data:`SKIPPED_KEY`. :func:`vidssl.data.collate.collate_examples`
concatenates them per batch, and the trainer feeds each batch to a :class:`FailureCounter`, which reports counts per
reason at the end of the epoch (the scheme of video2dataset's per-shard stats, without shared memory)::

    counter = FailureCounter()
    for batch in loader:
        counter.update(batch)
        ...
    counter.log_epoch(epoch)      # "epoch 3: skipped 2 samples (corrupt: 1, no_video_stream: 1) from 2 files"
    counter.reset()
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "SKIPPED_KEY",
    "FailureCounter",
    "OnError",
    "SkipRecord",
    "failure_reason",
]

log = logging.getLogger(__name__)

OnError = Literal["skip", "raise"]
SKIPPED_KEY = "skipped"


@dataclass(frozen=True)
class SkipRecord:
    """One skipped video (pickles across worker processes).

    Attributes:
        video_id: the video that failed.
        path: its file (or shard member).
        reason: short failure class for counting (``corrupt``, ``no_video_stream``, ``missing_file``...).
        message: the error message, for the log.
    """

    video_id: str
    path: str
    reason: str
    message: str


def failure_reason(exc: BaseException) -> str:
    """Short, countable reason for a decode-stage exception.

    ``VideoReadError`` subclasses carry their own ``reason``; common Python errors map to fixed names; anything else
    is its class name in snake case, so new failure kinds still get a stable counter.
    """
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        return reason
    if isinstance(exc, FileNotFoundError):
        return "missing_file"
    if isinstance(exc, PermissionError):
        return "permission_denied"
    if isinstance(exc, IndexError):
        return "frame_out_of_range"
    if isinstance(exc, MemoryError):
        return "out_of_memory"
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", type(exc).__name__).lower()


class FailureCounter:
    """Sums :class:`SkipRecord` s from collated batches and reports them per epoch.

    Counts are of skip *events* (one per failed attempt) and of distinct files, per reason.
    """

    def __init__(self) -> None:
        self.events: Counter[str] = Counter()
        self.files: dict[str, set[str]] = {}
        self.last_message: dict[str, str] = {}

    def add(self, records: Iterable[SkipRecord]) -> None:
        """Count ``records``."""
        for rec in records:
            self.events[rec.reason] += 1
            self.files.setdefault(rec.reason, set()).add(rec.video_id)
            self.last_message[rec.reason] = rec.message

    def update(self, batch: Mapping[str, Any] | Iterable[SkipRecord]) -> None:
        """Count the records a collated batch carries under :data:`SKIPPED_KEY` (or an iterable of records)."""
        if isinstance(batch, Mapping):
            self.add(batch.get(SKIPPED_KEY, ()))
        else:
            self.add(batch)

    @property
    def total(self) -> int:
        """Skip events counted since the last reset."""
        return sum(self.events.values())

    def as_dict(self) -> dict[str, dict[str, int]]:
        """``{reason: {"events": n, "files": m}}`` for metrics files."""
        return {r: {"events": n, "files": len(self.files[r])} for r, n in sorted(self.events.items())}

    def summary(self) -> str:
        """One line: total skips, per reason, distinct files."""
        if not self.events:
            return "no skipped videos"
        per = ", ".join(f"{r}: {n}" for r, n in sorted(self.events.items()))
        nfiles = len(set().union(*self.files.values()))
        return f"skipped {self.total} samples ({per}) from {nfiles} files"

    def log_epoch(self, epoch: int, logger: logging.Logger | None = None) -> str:
        """Log the summary for ``epoch`` (warning level when anything was skipped) and return it."""
        text = f"epoch {epoch}: {self.summary()}"
        (logger or log).log(logging.WARNING if self.events else logging.INFO, text)
        for reason, msg in sorted(self.last_message.items()):
            (logger or log).info("  last %s: %s", reason, msg)
        return text

    def reset(self) -> None:
        """Forget everything (call after each epoch's report)."""
        self.events.clear()
        self.files.clear()
        self.last_message.clear()
