"""Running one function over many jobs: in this process, or in a pool of spawned children with a time limit per job.

Why not ``multiprocessing.Pool`` or ``ProcessPoolExecutor``: a decoder that segfaults takes its pool worker down,
and ``Pool`` then waits forever for the lost task while ``ProcessPoolExecutor`` fails every pending future
(``BrokenProcessPool``); neither can stop one job that hangs. Here each child serves one job at a time over a pipe,
and the parent watches the pipes, the children's exit sentinels and each job's deadline: a crash or a hang costs one
job (reported as ``crashed`` / ``timeout``) and a fresh child takes the slot.

Both distributors share one signature (``run_sequential`` / ``run_pool``, picked by :func:`run_jobs`) and never raise
for a failing job: failures come back as :class:`JobResult` values (errors as values, as in video2dataset).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import multiprocessing as mp
import os
import signal
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

__all__ = ["Job", "JobFn", "JobResult", "graceful_termination", "run_jobs", "run_pool", "run_sequential"]

JobFn = Callable[[dict[str, Any]], dict[str, Any]]
_STARTUP_TIMEOUT = 300.0  # seconds a fresh child may take to import (torch, av) before the run gives up
_TICK = 1.0  # longest wait between deadline checks


@dataclass(frozen=True)
class Job:
    """One unit of work sent to a child process.

    Attributes:
        key: the job's position in the work list (results are matched back by it).
        payload: the function's only argument (picklable).
        cleanup: files to delete when the job is killed or the run is interrupted (its temporary outputs).
    """

    key: int
    payload: dict[str, Any]
    cleanup: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobResult:
    """What came back for one job.

    Attributes:
        key: the job's key.
        status: ``ok`` (the function returned), ``error`` (it raised), ``timeout`` or ``crashed``.
        value: the function's return value (empty unless ``status == "ok"``).
        reason: the error message for failures.
        seconds: wall time spent on the job.
        attempts: how many times the job ran.
    """

    key: int
    status: str
    value: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    seconds: float = 0.0
    attempts: int = 1

    @property
    def ok(self) -> bool:
        """Whether the function returned a value."""
        return self.status == "ok"


def _call(fn: JobFn, job: Job) -> JobResult:
    start = time.monotonic()
    try:
        value = fn(job.payload)
    except Exception as exc:  # errors are values: one bad job never stops the run
        last = traceback.extract_tb(exc.__traceback__)[-1:] or [None]
        where = f" at {Path(last[0].filename).name}:{last[0].lineno}" if last[0] is not None else ""
        return JobResult(job.key, "error", reason=f"{type(exc).__name__}: {exc}{where}",
                         seconds=time.monotonic() - start)
    return JobResult(job.key, "ok", value=value, seconds=time.monotonic() - start)


def run_sequential(fn: JobFn, jobs: Iterable[Job], *, timeout: float | None = None,
                   retries: int = 0) -> Iterator[JobResult]:
    """Run the jobs one after another in this process (``--workers 0``: for debugging; no crash or hang guard)."""
    del timeout, retries  # a hang or a crash here stops the run: that is what --workers 0 is for (pdb, profiling)
    for job in jobs:
        yield _call(fn, job)


def _child_main(conn: Connection, fn: JobFn) -> None:
    """Child loop: announce readiness (imports done), then serve jobs until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops the children
    _die_with_parent()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        conn.send(("result", _call(fn, job)))


def _die_with_parent() -> None:
    """Linux: have the kernel SIGKILL this child when its parent dies.

    After ``kill -9`` of a run no worker is left finishing a file while the rerun writes the same one.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class _Slot:
    """One child process and the job it is running."""

    def __init__(self, ctx: Any, fn: JobFn) -> None:
        self.conn, child_conn = ctx.Pipe()
        self.proc = ctx.Process(target=_child_main, args=(child_conn, fn), daemon=True)
        self.proc.start()
        child_conn.close()
        self.started = time.monotonic()
        self.ready = False
        self.job: Job | None = None
        self.attempt = 1
        self.deadline = float("inf")
        self.served = 0

    def send(self, job: Job, attempt: int, timeout: float | None) -> None:
        self.job, self.attempt = job, attempt
        self.started = time.monotonic()
        self.deadline = self.started + timeout if timeout else float("inf")
        self.conn.send(job)

    def stop(self, kill: bool) -> None:
        if kill:
            self.proc.kill()
        else:
            with contextlib.suppress(OSError, ValueError):
                self.conn.send(None)
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=5)
        self.conn.close()


def _remove(paths: Iterable[str]) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            Path(p).unlink()


def run_pool(fn: JobFn, jobs: Iterable[Job], *, workers: int, timeout: float | None = None, retries: int = 0,
             max_jobs_per_child: int = 200) -> Iterator[JobResult]:
    """Run the jobs in ``workers`` spawned children; yield results as they finish (any order).

    Args:
        fn: a module-level function ``payload -> dict`` (children import it by name: spawn context).
        jobs: the work.
        workers: number of child processes.
        timeout: seconds one job may run before its child is killed (``None``: no limit).
        retries: extra attempts for jobs that timed out or crashed (a flaky crash, an overloaded machine).
        max_jobs_per_child: recycle children after this many jobs (bounds leaks in native decoders).

    Raises:
        RuntimeError: children die before they can start (a broken environment, not a bad file).
    """
    ctx = mp.get_context("spawn")  # fork would copy the parent's threads and decoder state
    queue: deque[tuple[Job, int]] = deque((job, 1) for job in jobs)
    slots = [_Slot(ctx, fn) for _ in range(max(1, min(workers, len(queue))))] if queue else []
    startup_failures = 0
    try:
        while queue or any(s.job is not None for s in slots):
            for slot in slots:
                if slot.ready and slot.job is None and queue:
                    slot.send(*queue.popleft(), timeout)
            deadlines = [s.deadline for s in slots if s.job is not None]
            wait_s = min([_TICK, *(d - time.monotonic() for d in deadlines)])
            wait([s.conn for s in slots] + [s.proc.sentinel for s in slots], timeout=max(wait_s, 0.0))
            for i, slot in enumerate(slots):
                outcome = _poll(slot, timeout, retries)
                if outcome is None:
                    continue
                result, retry, replace = outcome
                if result is not None:
                    yield result
                if retry is not None:
                    queue.appendleft(retry)
                if replace:
                    if not slot.ready:
                        startup_failures += 1
                        if startup_failures >= 3:
                            raise RuntimeError(
                                f"worker processes die while starting (exit code {slot.proc.exitcode}); "
                                "run with --workers 0 to see the error in this process"
                            )
                    slot.stop(kill=True)
                    slots[i] = _Slot(ctx, fn)
                elif slot.served >= max_jobs_per_child and slot.job is None:
                    slot.stop(kill=False)
                    slots[i] = _Slot(ctx, fn)
    finally:
        for slot in slots:
            if slot.job is not None:  # interrupted mid-job: its temporary outputs are garbage
                slot.stop(kill=True)
                _remove(slot.job.cleanup)
            else:
                slot.stop(kill=False)


def _poll(slot: _Slot, timeout: float | None,
          retries: int) -> tuple[JobResult | None, tuple[Job, int] | None, bool] | None:
    """Check one slot: ``(result to yield, job to retry, replace the child)`` or ``None`` when nothing happened."""
    now = time.monotonic()
    if slot.conn.poll():
        try:
            kind, value = slot.conn.recv()
        except (EOFError, OSError):
            kind, value = "eof", None
        if kind == "ready":
            slot.ready = True
            return None
        if kind == "result":
            slot.job, slot.deadline, slot.served = None, float("inf"), slot.served + 1
            return dataclasses.replace(value, attempts=slot.attempt), None, False
    if not slot.proc.is_alive():
        job, attempt = slot.job, slot.attempt
        code = slot.proc.exitcode
        if job is None:
            return None, None, True
        _remove(job.cleanup)
        if attempt <= retries:
            return None, (job, attempt + 1), True
        why = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
        return JobResult(job.key, "crashed", reason=f"the decoder process died ({why})",
                         seconds=now - slot.started, attempts=attempt), None, True
    if not slot.ready and now - slot.started > _STARTUP_TIMEOUT:
        return None, None, True
    if slot.job is not None and now > slot.deadline:
        job, attempt = slot.job, slot.attempt
        slot.proc.kill()
        slot.proc.join(timeout=5)
        _remove(job.cleanup)
        slot.job = None
        if attempt <= retries:
            return None, (job, attempt + 1), True
        return JobResult(job.key, "timeout", reason=f"no result after {timeout:g} s (hang or very slow file; "
                         "raise --timeout if the file is just long)", seconds=now - slot.started,
                         attempts=attempt), None, True
    return None


def run_jobs(fn: JobFn, jobs: Iterable[Job], *, workers: int, timeout: float | None = None,
             retries: int = 0) -> Iterator[JobResult]:
    """``run_pool`` with ``workers >= 1`` children, ``run_sequential`` with ``workers == 0``."""
    if workers <= 0:
        return run_sequential(fn, jobs, timeout=timeout, retries=retries)
    return run_pool(fn, jobs, workers=workers, timeout=timeout, retries=retries)


@contextlib.contextmanager
def graceful_termination() -> Iterator[None]:
    """Turn SIGTERM into ``KeyboardInterrupt`` so ``finally`` blocks remove temporary files on ``kill`` as on Ctrl-C."""

    def _raise(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"received {signal.Signals(signum).name}")

    try:
        previous = signal.signal(signal.SIGTERM, _raise)
    except ValueError:  # not the main thread (e.g. called from a test thread): nothing to install
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
