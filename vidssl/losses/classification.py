"""Cross-entropy with the diagnostics every classification-style pretext task logs.

Shared by the order loss (Shuffle and Learn, VCOP) and the audio-visual correspondence loss. Balanced accuracy
(mean per-class recall over the classes present in the batch) matters because Shuffle and Learn trains with 25 %
positives: a network answering "shuffled" always reaches 75 % accuracy but only 50 % balanced accuracy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["balanced_accuracy", "cross_entropy_with_diagnostics"]


def balanced_accuracy(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Mean over the classes present in ``target`` of the fraction of that class predicted correctly.

    Args:
        pred: predicted class indices ``[B]``.
        target: true class indices ``[B]``.

    Returns:
        A float in [0, 1]; ``nan`` for an empty batch.
    """
    if target.numel() == 0:
        return float("nan")
    classes, inverse = torch.unique(target, return_inverse=True)
    correct = torch.zeros(len(classes), device=target.device).index_add_(0, inverse, (pred == target).float())
    counts = torch.bincount(inverse, minlength=len(classes)).float()
    return float((correct / counts).mean())


def cross_entropy_with_diagnostics(
    logits: torch.Tensor, target: torch.Tensor, *, label_smoothing: float = 0.0
) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean softmax cross-entropy plus accuracy and balanced accuracy.

    Args:
        logits: ``[B, C]`` unnormalised scores.
        target: ``[B]`` class indices in ``[0, C)``.
        label_smoothing: passed to ``F.cross_entropy``.

    Returns:
        ``(loss, {"loss", "accuracy", "balanced_accuracy"})``; the loss is a scalar tensor (computed in float32,
        so it is safe under autocast), diagnostics are floats.
    """
    if logits.ndim != 2 or target.shape != logits.shape[:1]:
        raise ValueError(f"expected logits [B, C] and target [B], got {tuple(logits.shape)} and {tuple(target.shape)}")
    loss = F.cross_entropy(logits.float(), target.long(), label_smoothing=label_smoothing)
    with torch.no_grad():
        pred = logits.argmax(dim=1)
        acc = float((pred == target).float().mean()) if target.numel() else float("nan")
        bal = balanced_accuracy(pred, target)
    return loss, {"loss": float(loss.detach()), "accuracy": acc, "balanced_accuracy": bal}
