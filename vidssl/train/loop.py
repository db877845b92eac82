"""One training epoch, readable top to bottom (STYLE.md item 12), and one held-out pass of the same task.

The loop knows nothing about tasks: it moves a batch to the device, calls ``model(batch)`` (a Task, possibly wrapped
in DDP) for a ``TaskOutput``, and steps the optimizer with the per-iteration lr / weight decay taken from
precomputed arrays. Loss and diagnostics are reduced over processes with exact example counts.

:func:`evaluate_task` runs the task's own forward on held-out batches (eval mode, no gradients, a fixed seed for
any random draw inside ``forward``, the global random state restored afterwards) and averages the diagnostics the
same way: that is the held-out pretext metric (``val/<diagnostic>`` in ``log.jsonl`` and ``metrics.json``).
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
from vidssl.train.distributed import DistInfo, all_gather_objects, is_distributed, reduce_sums
from vidssl.train.logging.metric_logger import MetricLogger
from vidssl.train.logging.sinks import RunLogger
from vidssl.train.optim import set_group_values
from vidssl.train.precision import Precision
from vidssl.train.seed import capture_rng_state, restore_rng_state, seed_everything

__all__ = [
    "DiagnosticSums",
    "EpochResult",
    "LoopSettings",
    "NonFiniteLossError",
    "evaluate_task",
    "to_device",
    "train_one_epoch",
]


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


class DiagnosticSums:
    """Count-weighted sums of per-batch diagnostics, averaged exactly over all processes at the end.

    A batch's diagnostic ``v`` over ``n`` examples adds ``v * n`` to the key's sum and ``n`` to its count; a
    non-finite value adds nothing but still creates the key, so every rank reduces the same key set. ``loss`` keys in
    diagnostics are ignored (the loss is tracked from ``TaskOutput.loss``).
    """

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}

    def add(self, diagnostics: Mapping[str, float], n: int) -> None:
        """Add one batch's diagnostics, each an average over ``n`` examples."""
        for k, v in diagnostics.items():
            if k == "loss":
                continue
            finite = math.isfinite(v)
            self.sums[k] = self.sums.get(k, 0.0) + (float(v) * n if finite else 0.0)
            self.sums[f"{k}/n"] = self.sums.get(f"{k}/n", 0.0) + (n if finite else 0)

    def averages(self, dist_info: DistInfo) -> dict[str, float]:
        """Averages over every process (a collective when distributed: call it on every rank); nan without data."""
        return self.reduce(dist_info)[0]

    def reduce(self, dist_info: DistInfo) -> tuple[dict[str, float], dict[str, float]]:
        """``(averages, counts)`` over every process: per key the weighted mean and the examples it covers."""
        local = dict(self.sums)
        if is_distributed():  # a rank that saw no batch (or no key) still joins the reduction with zeros
            keys = sorted(set().union(*all_gather_objects(sorted(local))))
            local = {k: local.get(k, 0.0) for k in keys}
        total = reduce_sums(local, dist_info.device if dist_info.backend == "nccl" else None)
        names = [k for k in total if not k.endswith("/n")]
        averages = {k: total[k] / total[f"{k}/n"] if total[f"{k}/n"] else math.nan for k in names}
        return averages, {k: total[f"{k}/n"] for k in names}


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
    sums = DiagnosticSums()
    loss_sum = loss_n = 0.0  # already global (reduced every step)
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
        sums.add(out.diagnostics, n)
        loss_sum += float(stats[0])
        loss_n += float(stats[1])
        meters.update(clips=int(stats[1]), loss=global_loss)
        if settings.log_every and step % settings.log_every == 0:
            values = {"loss": global_loss, "lr": lr, "wd": wd, **{k: float(v) for k, v in out.diagnostics.items()
                                                                    if k != "loss"}}
            if not math.isnan(grad_norm):
                values["grad_norm"] = grad_norm
            values.update(clips_per_s=meters.throughput(recent=True), data_wait=meters.data_wait)
            logger.log("step", step=step, epoch=epoch, values=values)

    # ============ epoch averages over all processes ============
    metrics = {"loss": loss_sum / loss_n if loss_n else math.nan}
    metrics.update(sums.averages(dist_info))
    timing = meters.summary()
    metrics.update(clips_per_s=timing["clips_per_s"], data_wait=timing["data_wait"], time_s=timing["time_s"])
    metrics["lr"] = float(lr_schedule[step - 1]) if step > start_step else float(lr_schedule[start_step])
    return EpochResult(step=step, metrics=metrics, skipped=failures.as_dict())


_EVAL_LOSS, _EVAL_EXAMPLES = "_eval_loss", "_eval_examples"  # private keys, renamed in the result


def _batch_len(batch: Mapping[str, Any]) -> int:
    for v in batch.values():
        if isinstance(v, torch.Tensor) and v.ndim:
            return int(v.shape[0])
    return 1


@torch.no_grad()
def evaluate_task(
    model: nn.Module,
    loader: Iterable[Mapping[str, Any]],
    *,
    dist_info: DistInfo,
    precision: Precision,
    seed: int = 0,
) -> dict[str, float]:
    """The task's loss and diagnostics on held-out batches, averaged by example counts over all processes.

    The model runs in eval mode (BatchNorm running statistics, no dropout, eval-time settings such as a test
    temperature) without gradients; its previous mode is restored afterwards. Random draws inside ``forward``
    (in-batch permutations, random negatives) come from the global generators seeded with ``seed``, so every call
    with the same weights gives the same numbers, and the training random streams are left exactly as they were
    (resumed runs stay identical to uninterrupted ones).

    Args:
        model: the task (not DDP-wrapped); ``model(batch)`` returns a ``TaskOutput``.
        loader: held-out batches for this process, in a fixed order (the same every call).
        dist_info: rank, world size and device (collective when distributed: call on every rank).
        precision: autocast settings.
        seed: seed of the random draws made during evaluation (offset by the rank, as in training).

    Returns:
        ``loss``, every diagnostic, and ``examples`` (held-out examples seen by all processes).
    """
    was_training = model.training
    saved = capture_rng_state()
    seed_everything(seed, dist_info.rank)
    model.eval()
    sums = DiagnosticSums()
    examples = 0
    try:
        for batch in loader:
            batch = to_device(batch, dist_info.device)
            with precision.autocast():
                out: TaskOutput = model(batch)
            n = int(out.counts) or _batch_len(batch)
            sums.add({**out.diagnostics, _EVAL_LOSS: float(out.loss.detach().float())}, n)
            examples += n
    finally:
        model.train(was_training)
        restore_rng_state(saved)
    sums.add({_EVAL_EXAMPLES: 1.0}, examples)
    averages, counts = sums.reduce(dist_info)
    metrics = {"loss": averages.pop(_EVAL_LOSS)}
    averages.pop(_EVAL_EXAMPLES)
    metrics.update(averages)
    metrics["examples"] = counts[_EVAL_EXAMPLES]
    return metrics
