"""Colourisation cross-entropy through the pointer attention (Vondrick et al., arXiv:1806.09594; PAPERS.md §3.1).

The prediction for target pixel j is ``y_j = Σ_i A_ij c_i`` with ``A = softmax_i(logits_j)`` over all reference
pixels and ``c_i`` the one-hot quantised colour of reference pixel i; the loss is ``−log y_{j, t_j}`` for the
target's quantised colour ``t_j``, averaged over target pixels ("cross-entropy between y_j and the target's
quantised colour", step 4).

Numerics: ``y_{j,k}`` is a sum of softmax weights, so it is computed in log space:
``log y_{j,k} = logsumexp_{i: c_i = k}(logits_ij) − logsumexp_i(logits_ij)``, which stays exact when the weights are
far below float precision. When no reference pixel has the target's colour, ``y = 0`` and the loss would be
infinite; an ``eps`` floor is applied in log space, ``log(y + eps) = logaddexp(log y, log eps)``, so such pixels
cost ``−log eps`` with zero gradient (CRW uses the same floor, ``log(P + 1e-20)``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["colorization_loss"]


def colorization_loss(
    logits: torch.Tensor,
    ref_colors: torch.Tensor,
    target_colors: torch.Tensor,
    *,
    num_colors: int | None = None,
    eps: float = 1e-8,
    ignore_index: int = -1,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Cross-entropy of the attention-copied colour distribution.

    Args:
        logits: ``[B, N_target, N_ref]`` pointer logits (already divided by the temperature), e.g. from
            :class:`vidssl.models.heads.ColorizationHead`.
        ref_colors: quantised colour index of each reference pixel, ``[B, N_ref]`` or ``[B, R, h, w]``
            (flattened row-major to match the head's pixel order).
        target_colors: quantised colour of each target pixel, ``[B, N_target]`` or ``[B, h, w]``;
            ``ignore_index`` marks pixels excluded from the loss.
        num_colors: K, for the accuracy diagnostic (default: the largest index seen + 1).
        eps: probability floor inside the log.
        ignore_index: target value to ignore.

    Returns:
        ``(loss, {"loss", "accuracy"})``: mean over non-ignored target pixels; ``accuracy`` is the share of
        target pixels whose most probable copied colour is right.
    """
    ref = ref_colors.reshape(ref_colors.shape[0], -1).long()
    tgt = target_colors.reshape(target_colors.shape[0], -1).long()
    if logits.ndim != 3 or logits.shape[1:] != (tgt.shape[1], ref.shape[1]) or logits.shape[0] != ref.shape[0]:
        raise ValueError(
            f"logits {tuple(logits.shape)} must be [B, N_target, N_ref] = [{ref.shape[0]}, {tgt.shape[1]}, "
            f"{ref.shape[1]}] for these colours"
        )
    logits = logits.float()
    valid = tgt != ignore_index
    same = ref[:, None, :] == tgt[:, :, None]  # [B, Nt, Nr]: reference pixel has the target's colour
    log_y = torch.logsumexp(logits.masked_fill(~same, float("-inf")), dim=2) - torch.logsumexp(logits, dim=2)
    log_y = torch.logaddexp(log_y, torch.full_like(log_y, math.log(eps)))
    n_valid = valid.sum()
    loss = -(log_y * valid).sum() / n_valid.clamp(min=1)
    with torch.no_grad():
        k = num_colors or int(max(ref.max(), tgt.max())) + 1
        probs = torch.bmm(torch.softmax(logits, dim=2), F.one_hot(ref, k).float())  # [B, Nt, K]
        correct = (probs.argmax(dim=2) == tgt) & valid
        acc = float(correct.sum() / n_valid) if n_valid else float("nan")
    return loss, {"loss": float(loss.detach()), "accuracy": acc}
