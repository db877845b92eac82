"""Order-verification / order-prediction loss (Shuffle and Learn, arXiv:1603.08561; VCOP, Xu et al. CVPR 2019).

Shuffle and Learn: "fc8_tri (2 outputs) → softmax cross-entropy" with label 1 for an in-order tuple ((b, c, d) or
its reversal (d, c, b)) and 0 for a shuffled one ((b, a, d) or (b, e, d)), 25 % positives (PAPERS.md §1.1). VCOP:
cross-entropy over the 3! = 6 clip permutations (§5.2). Both are plain softmax cross-entropy; this wrapper fixes
the diagnostics the tasks log.
"""

from __future__ import annotations

import torch

from vidssl.losses.classification import cross_entropy_with_diagnostics

__all__ = ["order_loss"]


def order_loss(logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Cross-entropy over order classes.

    Args:
        logits: ``[B, C]`` (C = 2 for Shuffle and Learn, N! for VCOP).
        target: ``[B]`` class indices (S&L: 1 = in order, 0 = shuffled).

    Returns:
        ``(loss, {"loss", "accuracy", "balanced_accuracy"})``; watch balanced accuracy under the 25:75 class ratio.
    """
    return cross_entropy_with_diagnostics(logits, target)
