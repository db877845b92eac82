"""Momentum (EMA) helpers for teacher/target networks, as free functions (STYLE.md guide item 8).

MoCo (He et al., arXiv:1911.05722): "θ_k ← m θ_k + (1 − m) θ_q"; BYOL (Grill et al., arXiv:2006.07733) uses the
same update for its target network (ρBYOL, PAPERS.md §5.7). Buffers (BN running statistics) are copied, not
averaged, as lightly's ``update_momentum`` does for parameters only and MoCo's key encoder does via shuffled BN.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = ["frozen_copy", "update_momentum"]


def frozen_copy(model: nn.Module) -> nn.Module:
    """A deep copy with ``requires_grad=False`` on every parameter (the EMA/target network)."""
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    return ema


@torch.no_grad()
def update_momentum(model: nn.Module, ema_model: nn.Module, m: float) -> None:
    """In place: ``ema ← m · ema + (1 − m) · model`` for parameters; buffers copied from ``model``.

    Args:
        model: the online (trained) network.
        ema_model: the target network, same architecture.
        m: momentum in [0, 1]; 1 leaves ``ema_model`` unchanged, 0 copies ``model``.
    """
    if not 0.0 <= m <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {m}")
    src, dst = dict(model.named_parameters()), dict(ema_model.named_parameters())
    if src.keys() != dst.keys():
        raise ValueError("model and ema_model have different parameters")
    for name, p in src.items():
        dst[name].mul_(m).add_(p.detach(), alpha=1.0 - m)
    ema_buffers = dict(ema_model.named_buffers())
    for name, b in model.named_buffers():
        ema_buffers[name].copy_(b)
