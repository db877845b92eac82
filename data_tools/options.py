"""Command-line options shared by the per-file tools, and how their results are written.

Every per-file tool (scan, verify, transcode, motion) takes the same parallelism and slicing options, writes its
manifest the same way (the whole manifest, or this task's part with ``--num-shards``) and merges parts with
``--merge``. Exit codes: 0 ok, 1 some inputs failed (the run completed), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from data_tools.atomic import readable
from data_tools.distributor import graceful_termination
from data_tools.merge import ORDER_COLUMN, merge_parts, part_path
from data_tools.runner import RunOptions
from data_tools.updates import tidy_extras
from vidssl.data.manifest import write_manifest

__all__ = ["UsageError", "add_parallel_arguments", "default_workers", "merge_or_fail", "run_options", "write_output"]


class UsageError(ValueError):
    """Bad arguments or an unusable input/output; the tool prints it and exits with code 2."""


def default_workers() -> int:
    """CPU cores this process may use (affinity-aware), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def add_parallel_arguments(parser: argparse.ArgumentParser, *, timeout: float, chunk_size: int | None = 64,
                           merge: bool = True) -> None:
    """Add ``--workers --timeout --retries --num-shards --shard-index [--chunk-size] [--merge] --no-progress``.

    Args:
        parser: the tool's parser.
        timeout: default ``--timeout`` (seconds per job).
        chunk_size: default ``--chunk-size``; ``None`` for tools whose unit of resumption is fixed (shard).
        merge: add ``--merge``.
    """
    g = parser.add_argument_group("parallelism and resumption")
    g.add_argument(
        "--workers", type=int, default=default_workers(), metavar="N",
        help=f"child processes (default: the CPU cores available, {default_workers()}). Lower it on a shared "
        "machine or when each file is large; 0 runs everything in this process (debugging; no timeout or "
        "crash protection)",
    )  # fmt: skip
    g.add_argument(
        "--timeout", type=float, default=timeout, metavar="S",
        help=f"seconds one file may take before its process is killed and the file marked 'timeout' (default: "
        f"{timeout:g}). Raise it for long or high-resolution videos; 0 means no limit",
    )  # fmt: skip
    g.add_argument(
        "--retries", type=int, default=0, metavar="K",
        help="retry files that timed out or crashed K more times (default: 0). Worth 1 on an overloaded machine",
    )  # fmt: skip
    g.add_argument(
        "--num-shards", type=int, default=1, metavar="N",
        help="split the work across N job-array tasks (default: 1). Each task writes OUT.part-i-of-N; merge them "
        "with the same command plus --merge once all have finished",
    )  # fmt: skip
    g.add_argument(
        "--shard-index", type=int, default=None, metavar="I",
        help="this task's index in 0..N-1 (default: $SLURM_ARRAY_TASK_ID, else 0)",
    )  # fmt: skip
    if chunk_size is not None:
        g.add_argument(
            "--chunk-size", type=int, default=chunk_size, metavar="K",
            help=f"files per resumable chunk (default: {chunk_size}). A killed run redoes at most the unfinished "
            "chunks; smaller chunks lose less work, larger ones write fewer journal files",
        )  # fmt: skip
    if merge:
        g.add_argument(
            "--merge", action="store_true",
            help="do no work: merge the part manifests written by --num-shards tasks into the final manifest",
        )  # fmt: skip
    g.add_argument("--no-progress", action="store_true", help="no progress bar (logs, batch jobs)")


def run_options(args: argparse.Namespace) -> RunOptions:
    """Validated :class:`RunOptions` from parsed arguments.

    Raises:
        UsageError: an option is out of range.
    """
    shard_index = args.shard_index
    if shard_index is None:
        shard_index = int(os.environ.get("SLURM_ARRAY_TASK_ID", "0") or 0) if args.num_shards > 1 else 0
    if args.num_shards < 1:
        raise UsageError(f"--num-shards must be >= 1, got {args.num_shards}")
    if not 0 <= shard_index < args.num_shards:
        raise UsageError(f"--shard-index must be in 0..{args.num_shards - 1}, got {shard_index}")
    chunk_size = getattr(args, "chunk_size", 1)
    if args.workers < 0 or args.retries < 0 or chunk_size < 1:
        raise UsageError("--workers and --retries must be >= 0 and --chunk-size >= 1")
    if args.timeout < 0:
        raise UsageError(f"--timeout must be >= 0 (0 = no limit), got {args.timeout}")
    return RunOptions(
        workers=args.workers, timeout=args.timeout or None, retries=args.retries, num_shards=args.num_shards,
        shard_index=shard_index, chunk_size=chunk_size, progress=not args.no_progress,
    )


def write_output(df: pd.DataFrame, out: str | os.PathLike[str], opts: RunOptions,
                 positions: list[int] | None = None) -> Path:
    """Write the final manifest, or this task's part (rows plus their work-list ``positions``) with ``--num-shards``.

    Returns:
        The path written.
    """
    df = tidy_extras(df)
    if opts.num_shards == 1:
        return readable(write_manifest(df, out))
    df[ORDER_COLUMN] = positions if positions is not None else range(len(df))
    return readable(write_manifest(df, part_path(out, opts.num_shards, opts.shard_index)))



def merge_or_fail(out: str | os.PathLike[str], tool: str) -> int:
    """``--merge``: merge the parts of ``out``; returns the exit code (2 when parts are missing)."""
    try:
        df = merge_parts(out)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    failed = int((df["status"] != "ok").sum())
    print(f"{tool}: merged {len(df)} rows ({failed} not ok) -> {out}")
    return 1 if failed else 0


def run_command(
    name: str, run: Callable[[argparse.Namespace], int], args: argparse.Namespace,
    resume_hint: str = "resume from the finished chunks",
) -> int:
    """Run a preprocessing command with the shared exit protocol.

    SIGTERM is turned into a clean stop (``graceful_termination``), a :class:`UsageError` prints one line and exits
    2, Ctrl-C exits 130 with how to resume; anything else propagates.
    """
    try:
        with graceful_termination():
            return run(args)
    except UsageError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{name}: interrupted; rerun the same command to {resume_hint}", file=sys.stderr)
        return 130
