"""``fit``: epochs, validation, checkpoints, resume and the final summary around ``train_one_epoch``.

Reading order (DINO-style banners inside ``fit``): run folder and resume decision → device, precision, model →
data → optimizer and schedules → restore state → epochs (train, validate, log, checkpoint) → final evaluation,
metrics.json, plots, summary line.

Resuming is automatic: rerunning the same command finds ``RUN_DIR/checkpoint.pt`` and continues after its epoch with
the saved weights, optimizer, scaler and every RNG state (per rank), so an interrupted run ends with the same
metrics as an uninterrupted one (CPU, deterministic mode).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset, IterableDataset

from vidssl.train.checkpoint import load_checkpoint, save_checkpoint, unwrap
from vidssl.train.config import PretrainConfig
from vidssl.train.config_schema import dump_yaml, to_dict
from vidssl.train.distributed import DistInfo, all_gather_objects, barrier, reduce_sums
from vidssl.train.loaders import make_loader
from vidssl.train.logging.plots import plot_training_curves
from vidssl.train.logging.sinks import RunLogger
from vidssl.train.logging.summary import epoch_line, schedule_preview, summary_line
from vidssl.train.loop import LoopSettings, train_one_epoch
from vidssl.train.optim import build_optimizer
from vidssl.train.precision import resolve_precision, to_channels_last
from vidssl.train.run_dir import RunDir, config_differences
from vidssl.train.schedules import build_lr_schedule, constant_schedule, cosine_schedule
from vidssl.train.seed import capture_rng_state, restore_rng_state, seed_everything, set_deterministic

__all__ = ["FitResult", "ResumeMismatchError", "TrainablePolicy", "fit", "setup_process"]

Evaluator = Callable[[nn.Module, int], Mapping[str, float]]
FinalEvaluator = Callable[[nn.Module, RunDir], Mapping[str, Any]]
TIMING_KEYS = ("clips_per_s", "data_wait", "time_s")


class ResumeMismatchError(RuntimeError):
    """The run folder holds a run with a different recipe; resuming it would mix two experiments."""


class TrainablePolicy(Protocol):
    """What is trained when (fine-tuning modes implement it: ``vidssl.eval.finetune.FinetunePolicy``)."""

    def lr_scale_of(self, name: str) -> float:
        """Learning-rate multiplier of parameter ``name`` (discriminative learning rates)."""
        ...

    def on_epoch_start(self, epoch: int) -> bool:
        """Set ``requires_grad`` for ``epoch``; return True when the trainable set changed (DDP is rebuilt)."""
        ...

    def set_train_mode(self, model: nn.Module) -> None:
        """After ``model.train()``: put frozen parts back in eval mode (BatchNorm statistics stay fixed)."""
        ...

    def after_training(self, model: nn.Module) -> Mapping[str, Any]:
        """Checks at the end (linear probe: frozen weights unchanged); returns facts for metrics.json."""
        ...


@dataclass
class FitResult:
    """Outcome of :func:`fit`.

    Attributes:
        run_dir: the run folder.
        metrics: what metrics.json holds (empty when stopped early).
        epochs_done: completed epochs (over all invocations).
        complete: whether training reached ``run.epochs``.
    """

    run_dir: Path
    metrics: dict[str, Any] = field(default_factory=dict)
    epochs_done: int = 0
    complete: bool = False


def fit(
    cfg: PretrainConfig,
    task: nn.Module,
    train_set: Dataset | IterableDataset,
    *,
    dist_info: DistInfo,
    evaluate: Evaluator | None = None,
    final_evaluate: FinalEvaluator | None = None,
    policy: TrainablePolicy | None = None,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> FitResult:
    """Train ``task`` on ``train_set`` as the recipe says; resume from the run folder when possible.

    Args:
        cfg: resolved recipe (``PretrainConfig`` or ``FinetuneConfig``); ``run.out_dir`` must be set.
        task: the task module on CPU, freshly built (weights seeded identically on every rank).
        train_set: map-style dataset (with ``set_epoch``) or iterable dataset split by rank/worker itself.
        dist_info: from ``init_distributed``.
        evaluate: ``(task, epoch) -> metrics`` run on every rank every ``run.eval_every`` epochs (validation).
        final_evaluate: ``(task, run_dir) -> metrics`` run on every rank after training (test set, plots).
        policy: trainable-parameter policy for fine-tuning; ``None`` trains everything.
        collate_fn: batch collation; default: ``vidssl.data.collate`` when available.
        log: where progress lines go (default: stderr on rank 0).

    Raises:
        ResumeMismatchError: the folder's checkpoint was made with a different recipe.
    """
    def say(msg: str) -> None:
        if dist_info.is_main:
            (log or _stderr)(msg)

    run = RunDir(cfg.run.out_dir, is_main=dist_info.is_main)
    config = to_dict(cfg)

    # ============ resume decision ============
    state = None
    if run.checkpoint.exists() and cfg.run.resume == "auto":
        state = load_checkpoint(run.checkpoint)
        diffs = config_differences(state["config"], config)
        if diffs:
            raise ResumeMismatchError(
                f"{run.path} holds a run with a different recipe ({'; '.join(diffs[:8])}); pass "
                f"run.out_dir=NEW_FOLDER for a new run, or run.resume=never to start this folder over"
            )
    elif dist_info.is_main and cfg.run.resume == "never":
        for old in [run.checkpoint, run.log, run.metrics, *run.path.glob("events.out.tfevents.*")]:
            Path(old).unlink(missing_ok=True)
    barrier()
    run.prepare(dump_yaml(cfg), world_size=dist_info.world_size)
    start_epoch, step = (int(state["epoch"]), int(state["step"])) if state else (0, 0)
    if state and start_epoch >= cfg.run.epochs and run.metrics.exists():
        say(f"{run.path}: already trained for {start_epoch} epochs; metrics in {run.metrics}")
        return FitResult(run.path, json.loads(run.metrics.read_text()), start_epoch, complete=True)

    # ============ device, precision, model ============
    set_deterministic(cfg.run.deterministic)
    if state is None:  # per-rank streams from here on (dropout differs across ranks); resume restores them below
        seed_everything(cfg.run.seed, dist_info.rank)
    precision = resolve_precision(cfg.run.precision, dist_info.device)
    task.to(dist_info.device)
    if dist_info.device.type == "cuda" and cfg.run.channels_last:
        to_channels_last(task)

    # ============ data ============
    bundle = make_loader(train_set, global_batch=cfg.data.batch_size, dist_info=dist_info, train=True,
                         seed=cfg.run.seed, num_workers=cfg.data.num_workers, collate_fn=collate_fn)
    iters = _steps_per_epoch(train_set, len(bundle.loader) if bundle.sampler is not None else 0, cfg)

    # ============ optimizer, schedules, scaler ============
    o = cfg.optim
    optimizer = build_optimizer(task, o, lr_scale_of=policy.lr_scale_of if policy else None)
    lr_schedule = build_lr_schedule(o.schedule, lr=o.lr, min_lr=o.min_lr, epochs=cfg.run.epochs, iters_per_epoch=iters,
                                    warmup_epochs=o.warmup_epochs, one_cycle_pct=o.one_cycle_pct,
                                    one_cycle_div=o.one_cycle_div, one_cycle_final_div=o.one_cycle_final_div)
    wd_schedule = (constant_schedule(o.weight_decay, cfg.run.epochs, iters) if o.weight_decay_end is None
                   else cosine_schedule(o.weight_decay, o.weight_decay_end, cfg.run.epochs, iters))
    scaler = precision.make_scaler()
    say(f"{run.path}: {iters} steps/epoch x {cfg.run.epochs} epochs, {dist_info.world_size} process(es) on "
        f"{dist_info.device}, {precision.name}; {schedule_preview(lr_schedule)}")

    # ============ restore ============
    if state:
        unwrap(task).load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if state.get("scaler") and scaler.is_enabled():
            scaler.load_state_dict(state["scaler"])
        if len(state["scheduler"]["lr"]) != len(lr_schedule):
            raise ResumeMismatchError(f"{run.checkpoint}: schedule length changed ({len(state['scheduler']['lr'])} "
                                      f"-> {len(lr_schedule)} steps; the dataset size changed?); use a new run.out_dir")
        removed = run.truncate_log(start_epoch)
        say(f"resuming {run.path} after epoch {start_epoch} (step {step})"
            + (f"; dropped {removed} log lines of the unfinished epoch" if removed else ""))
    logger = RunLogger(run, purge_step=step if state else None)
    # Streams stop every rank after the same number of steps (a rank that stopped early would hang DDP).
    max_steps = iters if bundle.sampler is None else cfg.run.max_steps_per_epoch
    settings = LoopSettings(epochs=cfg.run.epochs, clip_grad=o.clip_grad, log_every=cfg.run.log_every,
                            max_steps=max_steps, progress=cfg.run.progress)
    model: nn.Module = task
    ddp_dirty = True
    if state:  # last, so nothing above consumes the restored random streams
        ranks = state["rng"]
        restore_rng_state(ranks[dist_info.rank] if len(ranks) == dist_info.world_size else ranks[0])

    # ============ epochs ============
    history: dict[str, Any] = {}
    ran = 0
    epoch = start_epoch
    for epoch in range(start_epoch + 1, cfg.run.epochs + 1):
        if policy is not None and policy.on_epoch_start(epoch):
            ddp_dirty = True
        if ddp_dirty:
            model = _wrap_ddp(task, dist_info, cfg)
            ddp_dirty = False
        bundle.set_epoch(epoch)
        result = train_one_epoch(model, bundle.loader, optimizer, lr_schedule=lr_schedule, wd_schedule=wd_schedule,
                                 start_step=step, epoch=epoch, scaler=scaler, precision=precision,
                                 dist_info=dist_info, settings=settings, logger=logger,
                                 set_train_mode=policy.set_train_mode if policy else None)
        step = result.step
        values = dict(result.metrics)
        local_skips = float(sum(v["events"] for v in result.skipped.values()))
        skipped = reduce_sums({"skipped": local_skips}, dist_info.device if dist_info.backend == "nccl" else None)
        if skipped["skipped"]:
            values["skipped"] = int(skipped["skipped"])
            say(f"epoch {epoch}: skipped videos {values['skipped']} times (rank 0 by reason: {result.skipped})")
        every = cfg.run.eval_every
        if evaluate is not None and ((every and epoch % every == 0) or epoch == cfg.run.epochs):
            values.update({f"val/{k}": v for k, v in evaluate(unwrap(model), epoch).items()})
        logger.log("epoch", step=step, epoch=epoch, values=values)
        logger.flush()
        history = values
        ran += 1
        stopping = bool(cfg.run.stop_after_epochs) and ran >= cfg.run.stop_after_epochs and epoch < cfg.run.epochs
        if epoch % max(cfg.run.checkpoint_every, 1) == 0 or epoch == cfg.run.epochs or stopping:
            rng = all_gather_objects(capture_rng_state())
            if dist_info.is_main:
                save_checkpoint(run.checkpoint, task=task, optimizer=optimizer, scaler=scaler,
                                schedules={"lr": lr_schedule, "wd": wd_schedule}, rng=rng, epoch=epoch, step=step,
                                config=config)
            barrier()
        say(epoch_line(epoch, cfg.run.epochs, values))
        if stopping:
            say(f"stopped after {ran} epoch(s) as asked (run.stop_after_epochs); rerun the same command to continue "
                f"from epoch {epoch + 1}")
            logger.close()
            return FitResult(run.path, {}, epoch, complete=False)

    # ============ final evaluation and summary ============
    logger.close()
    metrics: dict[str, Any] = {"epochs": epoch, "steps": step,
                               "train": {k: v for k, v in history.items() if not k.startswith("val/")
                                         and k not in TIMING_KEYS},
                               "val": {k[4:]: v for k, v in history.items() if k.startswith("val/")},
                               "timing": {k: history.get(k) for k in TIMING_KEYS}}
    if policy is not None:
        metrics["policy"] = dict(policy.after_training(unwrap(model)))
    if final_evaluate is not None:
        metrics["test"] = dict(final_evaluate(unwrap(model), run))
    run.write_json("metrics.json", metrics)
    if dist_info.is_main:
        plot_training_curves(run.log, run.path / "loss_curves.png")
    say(summary_line(run.path, metrics))
    return FitResult(run.path, metrics, epoch, complete=True)


def _steps_per_epoch(train_set: Dataset | IterableDataset, loader_len: int, cfg: PretrainConfig) -> int:
    """Optimizer steps per epoch: the loader's length, or a stream's ``num_samples() // batch``, capped."""
    iters = loader_len
    if isinstance(train_set, IterableDataset):
        count = getattr(train_set, "num_samples", lambda: None)()
        iters = count // cfg.data.batch_size if count else 0
    cap = cfg.run.max_steps_per_epoch
    iters = min(iters, cap) if iters and cap else (iters or cap)
    if iters <= 0:
        size = len(train_set) if not isinstance(train_set, IterableDataset) else "unknown number of"
        raise ValueError(f"the training set gives no batches per epoch ({size} examples, global batch "
                         f"{cfg.data.batch_size}); lower data.batch_size, or set run.max_steps_per_epoch for shards "
                         "without .index.json files")
    return iters


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _wrap_ddp(task: nn.Module, dist_info: DistInfo, cfg: PretrainConfig) -> nn.Module:
    if dist_info.world_size <= 1:
        return task
    if not any(p.requires_grad for p in task.parameters()):
        raise ValueError("no trainable parameters: nothing to train")
    ids = [dist_info.device.index] if dist_info.device.type == "cuda" else None
    return DistributedDataParallel(task, device_ids=ids, find_unused_parameters=cfg.run.ddp_find_unused)


def setup_process(cfg: PretrainConfig) -> DistInfo:
    """Per-process start: torch threads, the process group (under torchrun) and the seeds.

    Call before building the task so every rank initialises identical weights (DDP also broadcasts rank 0's).
    """
    import torch

    from vidssl.train.distributed import init_distributed

    if cfg.run.threads:
        torch.set_num_threads(cfg.run.threads)
    info = init_distributed(cfg.run.device, cfg.run.dist_backend)
    seed_everything(cfg.run.seed)  # same seed on every rank: identical initial weights
    return info
