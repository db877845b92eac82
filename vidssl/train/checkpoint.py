"""``checkpoint.pt``: the layout, atomic saving, safe loading, and rebuilding a pretrained backbone from a run.

Layout (a plain dict, readable with ``torch.load(path, weights_only=True)``)::

    "format":     1
    "model":      state_dict of the whole task (backbone + heads + task buffers), DDP prefix removed
    "backbone":   state_dict of task.backbone alone: loads into create_backbone(config.model.name, **kwargs)
    "optimizer":  optimizer state_dict
    "scheduler":  {"lr": float64 tensor [total_steps], "wd": float64 tensor [total_steps]} (per-iteration arrays)
    "scaler":     GradScaler state_dict (empty when disabled)
    "rng":        list, one entry per rank: python / numpy / torch / cuda generator states
    "epoch":      completed epochs (training resumes at epoch + 1)
    "step":       optimizer steps taken
    "config":     the resolved recipe as a dict; config["model"] = {"name", "kwargs", "weights"}
    "world_size": processes that wrote it (RNG states are per rank)

Other engineers' code loads a pretrained backbone with :func:`load_backbone`::

    from vidssl.train.checkpoint import load_backbone
    net = load_backbone("runs/shuffle_and_learn_tiny")   # create_backbone(name, **kwargs) + weights, eval mode
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vidssl.train.run_dir import atomic_write

__all__ = [
    "CHECKPOINT_NAME",
    "CheckpointError",
    "checkpoint_path",
    "load_backbone",
    "load_checkpoint",
    "load_run_config",
    "save_checkpoint",
    "unwrap",
]

CHECKPOINT_NAME = "checkpoint.pt"
FORMAT = 1


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read or does not fit; the message says what to do."""


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside DDP / ``torch.compile`` wrappers (what checkpoints store)."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def checkpoint_path(run_or_file: str | Path) -> Path:
    """``RUN_DIR/checkpoint.pt`` for a run folder, or the file itself."""
    p = Path(run_or_file)
    return p / CHECKPOINT_NAME if p.is_dir() else p


def save_checkpoint(
    path: str | Path,
    *,
    task: nn.Module,
    optimizer: torch.optim.Optimizer | None,
    scaler: torch.amp.GradScaler | None,
    schedules: Mapping[str, Any],
    rng: list[dict[str, Any]],
    epoch: int,
    step: int,
    config: Mapping[str, Any],
) -> Path:
    """Write the checkpoint atomically (temp file + rename); call on rank 0 only."""
    task = unwrap(task)
    state = {
        "format": FORMAT,
        "model": task.state_dict(),
        "backbone": unwrap(task.backbone).state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else {},
        "scheduler": {k: torch.as_tensor(v, dtype=torch.float64) for k, v in schedules.items()},
        "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else {},
        "rng": rng,
        "epoch": int(epoch),
        "step": int(step),
        "config": dict(config),
        "world_size": len(rng),
    }
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint safely (``weights_only=True``: no arbitrary code from pickles).

    Raises:
        FileNotFoundError: no checkpoint there (the message names the folder's contents).
        CheckpointError: truncated or not a vidssl checkpoint.
    """
    p = checkpoint_path(path)
    if not p.is_file():
        where = p.parent
        have = ", ".join(sorted(x.name for x in where.iterdir())) if where.is_dir() else "folder does not exist"
        raise FileNotFoundError(f"no checkpoint at {p} ({have}); pass a run folder that finished at least one epoch")
    try:
        state = torch.load(p, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError) as err:
        raise CheckpointError(f"{p}: cannot read checkpoint ({err}); it may be truncated or not a torch file") from err
    if not isinstance(state, dict) or "model" not in state:
        raise CheckpointError(f"{p}: not a vidssl checkpoint (no 'model' entry); for raw weights use model.weights=")
    return state


def load_run_config(run_or_file: str | Path) -> dict[str, Any]:
    """The resolved recipe stored in a run's checkpoint (``config["model"]`` names the backbone)."""
    return dict(load_checkpoint(run_or_file)["config"])


def load_backbone(run_dir: str | Path, *, device: str | torch.device = "cpu", eval_mode: bool = True) -> nn.Module:
    """Rebuild the pretrained backbone of a run: ``create_backbone(model.name, **model.kwargs)`` + its weights.

    Args:
        run_dir: a run folder (or its ``checkpoint.pt``).
        device: where to put the module.
        eval_mode: return it in ``eval()`` mode (BN statistics frozen), as feature extraction needs.

    Raises:
        CheckpointError: the stored backbone weights do not fit the named architecture.
    """
    from vidssl.models import create_backbone

    state = load_checkpoint(run_dir)
    model_cfg = state["config"].get("model", {})
    net = create_backbone(model_cfg["name"], **dict(model_cfg.get("kwargs", {})))
    try:
        net.load_state_dict(state["backbone"])
    except RuntimeError as err:
        raise CheckpointError(
            f"{checkpoint_path(run_dir)}: backbone weights do not fit {model_cfg['name']} "
            f"with {model_cfg.get('kwargs', {})}: {err}"
        ) from err
    net.to(device)
    return net.eval() if eval_mode else net
