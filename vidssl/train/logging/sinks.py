"""Where training numbers go: ``log.jsonl`` (one line per logging step and per epoch) and TensorBoard events.

Both are written by rank 0 only. On resume the TensorBoard writer purges events after the checkpoint's step
(``purge_step``) and ``log.jsonl`` drops records of unfinished epochs, so the curves of a resumed run look like
those of an uninterrupted one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from vidssl.train.run_dir import RunDir

__all__ = ["RunLogger"]


class RunLogger:
    """Writes step and epoch records to ``log.jsonl`` and TensorBoard (``train/<key>``, ``val/<key>``...).

    Args:
        run_dir: the run folder (its ``is_main`` decides whether anything is written).
        purge_step: on resume, the checkpoint's step; TensorBoard drops events at or after it.
        tensorboard: write TensorBoard events (needs the ``tensorboard`` package).
    """

    def __init__(self, run_dir: RunDir, *, purge_step: int | None = None, tensorboard: bool = True) -> None:
        self.run_dir = run_dir
        self.writer = None
        if run_dir.is_main and tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(run_dir.path), purge_step=purge_step or None)

    def log(self, kind: str, *, step: int, epoch: int, values: Mapping[str, Any], prefix: str = "train") -> None:
        """Record ``values`` at optimizer step ``step``.

        Args:
            kind: ``"step"`` (within an epoch) or ``"epoch"`` (end-of-epoch averages and evaluations).
            step: optimizer steps taken so far (the TensorBoard x axis).
            epoch: 1-based epoch the values belong to.
            values: floats (non-floats are kept in the jsonl only).
            prefix: TensorBoard tag prefix for step keys without a ``/``; epoch records use ``epoch/`` so the
                epoch-average loss does not land on the per-step ``train/loss`` curve.
        """
        if not self.run_dir.is_main:
            return
        record = {"kind": kind, "epoch": epoch, "step": step, "time": round(time.time(), 3), **values}
        self.run_dir.append_log(record)
        if self.writer is None:
            return
        prefix = "epoch" if kind == "epoch" else prefix
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                continue
            tag = key if "/" in key else f"{prefix}/{key}"
            self.writer.add_scalar(tag, value, global_step=step)

    def flush(self) -> None:
        """Push buffered TensorBoard events to disk."""
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        """Flush and close the TensorBoard writer."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
