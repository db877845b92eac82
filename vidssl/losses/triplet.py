"""Wang & Gupta ranking loss with in-batch negative mining (arXiv:1505.00687; PAPERS.md §2).

Paper form: ``D(X1, X2) = 1 − cos(f(X1), f(X2))`` on L2-normalised embeddings and
``L = max(0, D(X, X⁺) − D(X, X⁻) + M)`` with ``M = 0.5``. Since ``D(a,p) − D(a,n) = cos(a,n) − cos(a,p)``, the
released Caffe layer (``rank_hard_loss_layer.cpp``: distance ``−⟨f_i, f_j⟩``, margin 1) has the *same functional
form* with margin 1, and adds a symmetric term ``max(0, D(p, a) − D(p, n) + M)`` for the same negatives, averaging
over ``2 · num_negatives · num_pairs``. Both are one function here: ``margin=0.5, symmetric=False`` (paper, default)
or ``margin=1.0, symmetric=True`` (release).

Negatives come from the batch: every anchor or positive embedding of a *different* video/track (``labels``) is a
candidate; only *violating* candidates (positive hinge) are kept. Per pair, ``num_negatives`` are chosen: a
``hard_ratio`` share drawn at random among the ``num_negatives`` most similar violating candidates, the rest at
random among the remaining violating ones (the release: 4 negatives, 2 hard + 2 random; its README advises starting
with random only, ``hard_ratio=0``, the curriculum's first stage). Slots left empty because fewer candidates violate
contribute zero (non-violating hinges are zero anyway), so the average is always over ``num_pairs · num_negatives``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["NegativeSelection", "mine_negatives", "triplet_ranking_loss", "triplet_ranking_loss_from_selection"]


@dataclass(frozen=True)
class NegativeSelection:
    """Negatives chosen for each pair.

    Attributes:
        index: ``int64 [P, K]`` indices into the pool ``cat([anchor, positive])`` (``i < P``: anchor i, else
            positive ``i − P``).
        valid: ``bool [P, K]``; ``False`` marks empty slots (fewer than K violating candidates).
        violating: ``bool [P, 2P]`` all violating candidates (for diagnostics).
        candidates: ``bool [P, 2P]`` candidates from other videos.
    """

    index: torch.Tensor
    valid: torch.Tensor
    violating: torch.Tensor
    candidates: torch.Tensor


def _normalise(anchor: torch.Tensor, positive: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if anchor.ndim != 2 or anchor.shape != positive.shape:
        raise ValueError(f"expected anchor and positive [P, D], got {tuple(anchor.shape)}, {tuple(positive.shape)}")
    return F.normalize(anchor.float(), dim=1), F.normalize(positive.float(), dim=1)


def _random_keys(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    # Drawn on the generator's device (CPU by default) and moved, so one CPU generator serves any device.
    gen_device = generator.device if generator is not None else torch.device("cpu")
    return torch.rand(shape, generator=generator, device=gen_device).to(device)


@torch.no_grad()
def mine_negatives(
    anchor: torch.Tensor,
    positive: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    margin: float = 0.5,
    num_negatives: int = 4,
    hard_ratio: float = 0.0,
    generator: torch.Generator | None = None,
) -> NegativeSelection:
    """Pick violating in-batch negatives per pair (hard share from the top-K most similar, the rest random).

    Args:
        anchor: ``[P, D]`` embeddings of the first patch of each pair (normalised here).
        positive: ``[P, D]`` embeddings of the tracked patch.
        labels: ``[P]`` video/track id per pair; default ``arange(P)`` (every pair its own video).
        margin: hinge margin M.
        num_negatives: K negatives per pair (capped at the pool size 2P).
        hard_ratio: share of K taken from the K hardest violating candidates (0 = random only, 1 = hardest).
        generator: random generator (any device) for reproducible picks.

    Returns:
        A :class:`NegativeSelection`.
    """
    if num_negatives < 1 or not 0.0 <= hard_ratio <= 1.0:
        raise ValueError(f"need num_negatives >= 1 and 0 <= hard_ratio <= 1, got {num_negatives}, {hard_ratio}")
    a, p = _normalise(anchor, positive)
    num_pairs = a.shape[0]
    labels = torch.arange(num_pairs, device=a.device) if labels is None else labels.to(a.device)
    pool, pool_labels = torch.cat([a, p]), torch.cat([labels, labels])
    sim = a @ pool.T  # [P, 2P] cos(anchor_i, candidate_j)
    cos_ap = (a * p).sum(dim=1, keepdim=True)
    candidates = labels[:, None] != pool_labels[None, :]
    violating = candidates & (sim - cos_ap + margin > 0)

    k = min(num_negatives, pool.shape[0])
    n_hard = min(round(hard_ratio * num_negatives), k)
    chosen = torch.zeros_like(violating)
    picks, picks_valid = [], []
    if n_hard:
        top_val, top_idx = sim.masked_fill(~violating, float("-inf")).topk(k, dim=1)  # K hardest, [P, K]
        keys = _random_keys(top_idx.shape, generator, a.device).masked_fill(top_val == float("-inf"), -1.0)
        order = keys.argsort(dim=1, descending=True)[:, :n_hard]  # random subset of the top-K, valid ones first
        idx, ok = top_idx.gather(1, order), keys.gather(1, order) >= 0
        chosen.scatter_(1, idx, ok)
        picks.append(idx)
        picks_valid.append(ok)
    n_rand = k - n_hard
    if n_rand:
        remaining = violating & ~chosen
        keys = _random_keys(tuple(sim.shape), generator, a.device).masked_fill(~remaining, -1.0)
        val, idx = keys.topk(n_rand, dim=1)
        picks.append(idx)
        picks_valid.append(val >= 0)
    return NegativeSelection(torch.cat(picks, dim=1), torch.cat(picks_valid, dim=1), violating, candidates)


def triplet_ranking_loss_from_selection(
    anchor: torch.Tensor,
    positive: torch.Tensor,
    selection: NegativeSelection,
    *,
    margin: float = 0.5,
    symmetric: bool = False,
) -> torch.Tensor:
    """Mean hinge over the selected negatives.

    Args:
        anchor: ``[P, D]``.
        positive: ``[P, D]``.
        selection: from :func:`mine_negatives`.
        margin: M.
        symmetric: add ``max(0, cos(p, n) − cos(p, a) + M)`` for the same negatives (released code).

    Returns:
        Scalar: ``Σ hinges / (P · K · (2 if symmetric else 1))``.
    """
    a, p = _normalise(anchor, positive)
    neg = torch.cat([a, p])[selection.index]  # [P, K, D]
    cos_ap = (a * p).sum(dim=1, keepdim=True)  # [P, 1]
    valid = selection.valid.float()
    total = (F.relu(torch.einsum("pd,pkd->pk", a, neg) - cos_ap + margin) * valid).sum()
    if symmetric:
        total = total + (F.relu(torch.einsum("pd,pkd->pk", p, neg) - cos_ap + margin) * valid).sum()
    return total / (selection.index.numel() * (2 if symmetric else 1))


def triplet_ranking_loss(
    anchor: torch.Tensor,
    positive: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    margin: float = 0.5,
    symmetric: bool = False,
    num_negatives: int = 4,
    hard_ratio: float = 0.0,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Wang & Gupta ranking loss with in-batch mining (arguments as :func:`mine_negatives` and above).

    Returns:
        ``(loss, diagnostics)`` with ``loss``, ``pos_cos`` (mean cos(a, p)), ``neg_cos`` (mean cos(a, n) over all
        candidates), ``violating_frac`` (share of candidates violating the margin), ``negatives_per_pair`` (filled
        slots) and ``rank_accuracy`` (share of candidates with cos(a, p) > cos(a, n)).
    """
    selection = mine_negatives(
        anchor, positive, labels, margin=margin, num_negatives=num_negatives, hard_ratio=hard_ratio, generator=generator
    )
    loss = triplet_ranking_loss_from_selection(anchor, positive, selection, margin=margin, symmetric=symmetric)
    with torch.no_grad():
        a, p = _normalise(anchor, positive)
        cos_ap = (a * p).sum(dim=1)
        sim = a @ torch.cat([a, p]).T
        cand = selection.candidates
        n_cand = max(int(cand.sum()), 1)
        diag = {
            "loss": float(loss.detach()),
            "pos_cos": float(cos_ap.mean()),
            "neg_cos": float(sim[cand].sum() / n_cand),
            "violating_frac": float(selection.violating.sum() / n_cand),
            "negatives_per_pair": float(selection.valid.float().sum(dim=1).mean()),
            "rank_accuracy": float(((cos_ap[:, None] > sim) & cand).sum() / n_cand),
        }
    return loss, diag
