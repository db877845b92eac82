"""Optimizers with parameter groups: no weight decay on norms and biases, and per-group learning-rate multipliers.

Each group carries ``lr_scale`` and ``wd_scale``; the loop sets ``lr = schedule[step] * lr_scale`` and
``weight_decay = wd_schedule[step] * wd_scale`` every iteration, so discriminative learning rates (ULMFiT) and
decay exclusions compose with any schedule.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from vidssl.train.config import OptimConfig

__all__ = ["build_optimizer", "param_groups", "set_group_values"]


def param_groups(
    model: nn.Module,
    *,
    decay_norm_and_bias: bool = False,
    lr_scale_of: Callable[[str], float] | None = None,
) -> list[dict]:
    """Split ``model``'s parameters into groups by (weight decay on/off, lr multiplier).

    Args:
        model: the module to optimise (frozen parameters are included: they may be unfrozen later, and an
            optimizer skips parameters without gradients).
        decay_norm_and_bias: also decay 1-D parameters (norm scales, biases); off by default as is standard.
        lr_scale_of: parameter name → lr multiplier (discriminative learning rates); ``None`` = 1 everywhere.

    Returns:
        Groups with ``params``, ``names``, ``lr_scale`` and ``wd_scale`` keys, in a deterministic order (so optimizer
        state saved in a checkpoint maps back onto the same parameters).
    """
    groups: dict[tuple[float, float], dict] = {}
    for name, p in model.named_parameters():
        wd_scale = 1.0 if (decay_norm_and_bias or p.ndim > 1) else 0.0
        lr_scale = float(lr_scale_of(name)) if lr_scale_of else 1.0
        group = groups.setdefault((wd_scale, lr_scale), {"params": [], "names": [], "lr_scale": lr_scale,
                                                         "wd_scale": wd_scale})
        group["params"].append(p)
        group["names"].append(name)
    return [groups[k] for k in sorted(groups, key=lambda k: (-k[1], -k[0]))]


def build_optimizer(
    model: nn.Module, cfg: OptimConfig, lr_scale_of: Callable[[str], float] | None = None
) -> torch.optim.Optimizer:
    """SGD or AdamW over :func:`param_groups` of ``model`` (initial lr/wd are placeholders set by the loop)."""
    groups = param_groups(model, decay_norm_and_bias=cfg.decay_norm_and_bias, lr_scale_of=lr_scale_of)
    for g in groups:
        g["weight_decay"] = cfg.weight_decay * g["wd_scale"]
        g["lr"] = cfg.lr * g["lr_scale"]
    if cfg.name == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)
    if cfg.name == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas)
    raise ValueError(f"unknown optimizer {cfg.name!r}; choose sgd or adamw")


def set_group_values(optimizer: torch.optim.Optimizer, lr: float, weight_decay: float) -> None:
    """Apply this iteration's schedule values to every group (scaled by the group's multipliers)."""
    for g in optimizer.param_groups:
        g["lr"] = lr * g.get("lr_scale", 1.0)
        g["weight_decay"] = weight_decay * g.get("wd_scale", 1.0)
