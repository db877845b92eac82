"""Audio-visual correspondence loss (L3, Arandjelović & Zisserman, arXiv:1705.08168; PAPERS.md §4.1).

"Fusion: concat (1024) → fc 128 (ReLU) → fc 2 → softmax": a 2-way softmax cross-entropy, label 1 when frame and
audio come from the same video at the same time. A single-logit head (``[B]`` or ``[B, 1]``) is also accepted and
trained with sigmoid binary cross-entropy, which is the same model with one logit instead of two.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vidssl.losses.classification import balanced_accuracy, cross_entropy_with_diagnostics

__all__ = ["avc_loss"]


def avc_loss(logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Correspondence cross-entropy.

    Args:
        logits: ``[B, 2]`` (softmax CE, L3) or ``[B]`` / ``[B, 1]`` (sigmoid BCE).
        target: ``[B]`` with 1 = corresponds, 0 = does not.

    Returns:
        ``(loss, {"loss", "accuracy", "balanced_accuracy"})``.
    """
    if logits.ndim == 2 and logits.shape[1] == 2:
        return cross_entropy_with_diagnostics(logits, target)
    if logits.ndim == 2 and logits.shape[1] == 1:
        logits = logits[:, 0]
    if logits.ndim != 1 or logits.shape != target.shape:
        raise ValueError(
            f"expected logits [B, 2], [B, 1] or [B] and target [B], got {tuple(logits.shape)}, {tuple(target.shape)}"
        )
    loss = F.binary_cross_entropy_with_logits(logits.float(), target.float())
    with torch.no_grad():
        pred = (logits > 0).long()
        acc = float((pred == target.long()).float().mean())
        bal = balanced_accuracy(pred, target.long())
    return loss, {"loss": float(loss.detach()), "accuracy": acc, "balanced_accuracy": bal}
