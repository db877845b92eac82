"""One training epoch, readable top to bottom (STYLE.md item 12).

The loop knows nothing about tasks: it moves a batch to the device, calls ``model(batch)`` (a Task, possibly wrapped
in DDP) for a ``TaskOutput``, and steps the optimizer with the per-iteration lr / weight decay taken from
precomputed arrays. Loss and diagnostics are reduced over processes with exact example counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from vidssl.data.errors import FailureCounter
from vidssl.tasks.base import TaskOutput
from vidssl.train.distributed import DistInfo, is_distributed, reduce_sums
from vidssl.train.logging.metric_logger import MetricLogger
from vidssl.train.logging.sinks import RunLogger
from vidssl.train.optim import set_group_values
from vidssl.train.precision import Precision

__all__ = ["EpochResult", "LoopSettings", "NonFiniteLossError", "to_device", "train_one_epoch"]


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; training stops before the weights are corrupted further."""


@dataclass(frozen=True)
class LoopSettings:
    """Per-run knobs of the inner loop.

    Attributes:
        epochs: total epochs (for the progress label).
        clip_grad: max global gradient norm; 0 disables clipping.
        log_every: optimizer steps between step records.
        max_steps: cap on steps this epoch (0 = the whole loader).
        progress: draw a progress bar (rank 0 only).
    """

    epochs: int
    clip_grad: float = 0.0
    log_every: int = 10
    max_steps: int = 0
    progress: bool = True


@dataclass
class EpochResult:
    """What one epoch did.

    Attributes:
        step: optimizer steps taken so far (after this epoch).
        metrics: epoch averages over all processes (``loss``, task diagnostics) plus ``clips_per_s``,
            ``data_wait``, ``time_s``, ``lr`` (last value).
        skipped: bad videos skipped this epoch, per reason (this process's loader).
    """

    step: int
    metrics: dict[str, float]
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)


def to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor in a (nested) batch to ``device``; other values pass through."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=device.type == "cuda")
    if isinstance(batch, Mapping):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, list | tuple) and batch and isinstance(batch[0], torch.Tensor):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def train_one_epoch(
    model: nn.Module,
    loader: Iterable[Mapping[str, Any]],
    optimizer: torch.optim.Optimizer,
    *,
    lr_schedule: np.ndarray,
    wd_schedule: np.ndarray,
    start_step: int,
    epoch: int,
    scaler: torch.amp.GradScaler,
    precision: Precision,
    dist_info: DistInfo,
    settings: LoopSettings,
    logger: RunLogger,
    set_train_mode: Callable[[nn.Module], None] | None = None,
) -> EpochResult:
    """Train for one epoch (or ``settings.max_steps`` steps).

    Args:
        model: the task (DDP-wrapped when distributed); ``model(batch)`` returns a ``TaskOutput``.
        loader: yields collated batches (dicts of tensors) for this process.
        optimizer: groups carry ``lr_scale`` / ``wd_scale`` (see ``vidssl.train.optim``).
        lr_schedule: learning rate per global step.
        wd_schedule: weight decay per global step.
        start_step: global step at the start of the epoch.
        epoch: 1-based epoch number (for logs).
        scaler: GradScaler (disabled unless fp16).
        precision: autocast settings.
        dist_info: rank, world size and device.
        settings: clipping, logging cadence, step cap, progress bar.
        logger: step records go to ``log.jsonl`` and TensorBoard.
        set_train_mode: called after ``model.train()``, e.g. to keep frozen parts in eval mode.

    Raises:
        NonFiniteLossError: the loss is NaN/inf on any process (all processes stop together).
    """
    # ============ setup ============
    model.train()
    if set_train_mode is not None:
        set_train_mode(model)
    try:
        n_iters = len(loader)  # type: ignore[arg-type]
    except TypeError:  # a stream without __len__ (the DataLoader raises TypeError then)
        n_iters = 0
    if settings.max_steps:
        n_iters = min(n_iters, settings.max_steps) if n_iters else settings.max_steps
    meters = MetricLogger(n_iters, f"epoch {epoch}/{settings.epochs}", enabled=settings.progress and dist_info.is_main)
    params = [p for p in model.parameters() if p.requires_grad]
    sums: dict[str, float] = {}
    failures = FailureCounter()
    step = start_step

    for i, batch in enumerate(meters.iterate(loader)):
        if settings.max_steps and i >= settings.max_steps:
            break
        if step >= len(lr_schedule):
            raise IndexError(f"step {step} is past the schedule ({len(lr_schedule)} steps); the loader is longer "
                             "than the schedule assumed")
        # ============ forward ============
        lr, wd = float(lr_schedule[step]), float(wd_schedule[step])
        set_group_values(optimizer, lr, wd)
        failures.update(batch)
        batch = to_device(batch, dist_info.device)
        with precision.autocast():
            out: TaskOutput = model(batch)
        loss = out.loss
        n = int(out.counts) or _batch_len(batch)

        # ============ agree on the loss across processes ============
        stats = torch.tensor([float(loss.detach()) * n, float(n), float(not torch.isfinite(loss))], dtype=torch.float64)
        if is_distributed():
            stats = stats.to(dist_info.device)
            dist.all_reduce(stats)
            stats = stats.cpu()
        if stats[2] > 0:
            raise NonFiniteLossError(
                f"loss is {float(loss.detach())} at epoch {epoch}, step {step} (lr {lr:.3g}); lower optim.lr, set "
                "optim.clip_grad=1, add optim.warmup_epochs, or use run.precision=bf16/fp32 instead of fp16. "
                "The last checkpoint in the run folder is intact."
            )
        global_loss = float(stats[0] / stats[1])

        # ============ backward and step ============
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        grad_norm = math.nan
        if settings.clip_grad > 0:
            scaler.unscale_(optimizer)
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, settings.clip_grad))
        scaler.step(optimizer)
        scaler.update()
        step += 1

        # ============ bookkeeping ============
        for k, v in out.diagnostics.items():
            if k == "loss":
                continue
            # Keys are created even for a nan value, so every rank all-reduces the same key set.
            finite = math.isfinite(v)
            sums[k] = sums.get(k, 0.0) + (float(v) * n if finite else 0.0)
            sums[f"{k}/n"] = sums.get(f"{k}/n", 0.0) + (n if finite else 0)
        sums["loss"] = sums.get("loss", 0.0) + float(stats[0])
        sums["loss/n"] = sums.get("loss/n", 0.0) + float(stats[1])
        meters.update(clips=int(stats[1]), loss=global_loss)
        if settings.log_every and step % settings.log_every == 0:
            values = {"loss": global_loss, "lr": lr, "wd": wd, **{k: float(v) for k, v in out.diagnostics.items()
                                                                    if k != "loss"}}
            if not math.isnan(grad_norm):
                values["grad_norm"] = grad_norm
            values.update(clips_per_s=meters.throughput(recent=True), data_wait=meters.data_wait)
            logger.log("step", step=step, epoch=epoch, values=values)

    # ============ epoch averages over all processes ============
    loss_sum, loss_n = sums.pop("loss", 0.0), sums.pop("loss/n", 0.0)  # already global
    local = reduce_sums(sums, dist_info.device if dist_info.backend == "nccl" else None)
    metrics = {"loss": loss_sum / loss_n if loss_n else math.nan}
    for k in [k for k in local if not k.endswith("/n")]:
        metrics[k] = local[k] / local[f"{k}/n"] if local[f"{k}/n"] else math.nan
    timing = meters.summary()
    metrics.update(clips_per_s=timing["clips_per_s"], data_wait=timing["data_wait"], time_s=timing["time_s"])
    metrics["lr"] = float(lr_schedule[step - 1]) if step > start_step else float(lr_schedule[start_step])
    return EpochResult(step=step, metrics=metrics, skipped=failures.as_dict())


def _batch_len(batch: Mapping[str, Any]) -> int:
    for v in batch.values():
        if isinstance(v, torch.Tensor) and v.ndim:
            return int(v.shape[0])
    return 1
