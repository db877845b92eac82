"""The shared driver of the per-file tools (scan, verify, transcode, motion): slice, chunk, run, journal.

``run_chunked`` takes the whole work list in a deterministic order, keeps this task's slice (``--num-shards N
--shard-index i`` takes chunks ``i, i + N, ...``, so job-array tasks are disjoint), skips chunks a previous run
finished (:class:`~data_tools.journal.ChunkJournal`), runs the rest through a distributor with a tqdm bar, writes
each chunk as soon as its last item is back, and returns every item's result for this task's chunks.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from data_tools.distributor import Job, JobFn, JobResult, run_jobs
from data_tools.journal import ChunkJournal, chunk_fingerprint

__all__ = ["ChunkedRun", "RunOptions", "failure_row", "my_chunks", "run_chunked", "work_dir_for"]


@dataclass(frozen=True)
class RunOptions:
    """How to run: parallelism, limits and this task's slice (from :mod:`data_tools.options`).

    Attributes:
        workers: child processes (0 = in this process, no crash/hang protection).
        timeout: seconds per file before its child is killed; ``None`` for no limit.
        retries: extra attempts for files that timed out or crashed.
        num_shards: job-array tasks sharing the work.
        shard_index: this task (0-based).
        chunk_size: items per journal chunk (the unit of resumption).
        progress: show the tqdm bar.
    """

    workers: int = 2
    timeout: float | None = 300.0
    retries: int = 0
    num_shards: int = 1
    shard_index: int = 0
    chunk_size: int = 64
    progress: bool = True


@dataclass
class ChunkedRun:
    """The outcome of :func:`run_chunked`.

    Attributes:
        results: item position -> result row, for every item of this task's chunks.
        processed: items run now (the others came from finished chunks of an earlier run).
        resumed: items taken from finished chunks.
        statuses: count per status over ``results`` (items that needed no work are not counted).
        seconds: wall time of this run.
    """

    results: dict[int, dict[str, Any]] = field(default_factory=dict)
    processed: int = 0
    resumed: int = 0
    statuses: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        """Items whose status is not ``ok``."""
        return sum(n for s, n in self.statuses.items() if s != "ok")


def failure_row(result: JobResult) -> dict[str, Any]:
    """The row of a job that did not return (timeout, crash, or an exception in the tool itself)."""
    status = "decode_error" if result.status == "error" else result.status
    return {"status": status, "reason": result.reason}


def my_chunks(n_items: int, opts: RunOptions) -> list[int]:
    """The chunk ids of this task (``chunk % num_shards == shard_index``)."""
    n_chunks = (n_items + opts.chunk_size - 1) // opts.chunk_size
    return [c for c in range(n_chunks) if c % opts.num_shards == opts.shard_index]


def run_chunked(fn: JobFn, payloads: list[dict[str, Any] | None], ids: list[str], *, work_dir: str | os.PathLike[str],
                opts: RunOptions, settings: dict[str, Any], desc: str, unit: str = "video",
                cleanup: Callable[[dict[str, Any]], tuple[str, ...]] | None = None) -> ChunkedRun:
    """Run ``fn`` over this task's share of ``payloads``, resuming from finished chunks in ``work_dir``.

    Args:
        fn: module-level ``payload -> row`` function (rows carry ``status`` and ``reason``).
        payloads: the whole work list, in its deterministic order; ``None`` items need no work (result ``{}``).
        ids: one stable id per payload (a path), hashed into each chunk's fingerprint.
        work_dir: the run's journal folder.
        opts: parallelism and slicing.
        settings: the tool settings that change results (part of the fingerprint).
        desc: progress bar label.
        unit: progress bar unit.
        cleanup: temporary files of a payload, deleted when its job is killed or the run interrupted.

    Returns:
        Results for this task's chunks (all of them: resumed and new).
    """
    start = time.monotonic()
    journal = ChunkJournal(work_dir)
    run = ChunkedRun()
    pending: dict[int, list[int]] = {}  # chunk -> item positions still to run
    fingerprints: dict[int, str] = {}
    for c in my_chunks(len(payloads), opts):
        positions = list(range(c * opts.chunk_size, min((c + 1) * opts.chunk_size, len(payloads))))
        fingerprints[c] = chunk_fingerprint([ids[p] for p in positions], settings)
        rows = journal.load(c, fingerprints[c])
        if rows is not None and len(rows) == len(positions):
            run.results.update(zip(positions, rows, strict=True))
            run.resumed += len(rows)
        else:
            pending[c] = positions
    jobs = [Job(p, payloads[p], cleanup(payloads[p]) if cleanup else ())
            for c in sorted(pending) for p in pending[c] if payloads[p] is not None]
    remaining = {c: sum(payloads[p] is not None for p in ps) for c, ps in pending.items()}
    chunk_start = {c: time.monotonic() for c in pending}
    for c, positions in pending.items():
        run.results.update((p, {}) for p in positions if payloads[p] is None)  # nothing to do for these items
        if remaining[c] == 0:
            journal.save(c, fingerprints[c], [run.results[p] for p in positions], 0.0)
    bar = tqdm(total=len(jobs) + run.resumed, initial=run.resumed, desc=desc, unit=unit, disable=not opts.progress,
               dynamic_ncols=True)
    failed = sum(1 for r in run.results.values() if r.get("status", "ok") != "ok")
    try:
        for result in run_jobs(fn, jobs, workers=opts.workers, timeout=opts.timeout, retries=opts.retries):
            row = result.value if result.ok else failure_row(result)
            run.results[result.key] = row
            run.processed += 1
            failed += row.get("status", "ok") != "ok"
            bar.update(1)
            bar.set_postfix(failed=failed, refresh=False)
            c = result.key // opts.chunk_size
            remaining[c] -= 1
            if remaining[c] == 0:
                rows = [run.results[p] for p in pending[c]]
                journal.save(c, fingerprints[c], rows, time.monotonic() - chunk_start[c])
    finally:
        bar.close()
    run.statuses = Counter(str(r["status"]) for r in run.results.values() if "status" in r)
    run.seconds = time.monotonic() - start
    return run


def work_dir_for(out: str | os.PathLike[str], tool: str, opts: RunOptions) -> Path:
    """The hidden journal folder next to an output: ``.manifest.csv.scan-work`` (per task with ``--num-shards``)."""
    out = Path(out)
    task = f".task-{opts.shard_index:05d}-of-{opts.num_shards:05d}" if opts.num_shards > 1 else ""
    return out.parent / f".{out.name}{task}.{tool}-work"
