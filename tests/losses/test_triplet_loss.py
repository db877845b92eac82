"""Wang & Gupta ranking loss and negative mining against loop references (paper and Caffe forms)."""

from __future__ import annotations

import math

import pytest
import torch

from vidssl.losses import mine_negatives, triplet_ranking_loss, triplet_ranking_loss_from_selection


def _unit(v: list[float]) -> list[float]:
    n = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / n for x in v]


def _cos(u: list[float], v: list[float]) -> float:
    return sum(a * b for a, b in zip(_unit(u), _unit(v)))


def _batch(pairs: int, dim: int, seed: int, shared_labels: bool):
    gen = torch.Generator().manual_seed(seed)
    anchor = torch.randn(pairs, dim, generator=gen)
    positive = anchor + 0.8 * torch.randn(pairs, dim, generator=gen)
    labels = torch.randint(0, max(pairs // 2, 1), (pairs,), generator=gen) if shared_labels else None
    return anchor, positive, labels


def _reference_hardest(anchor, positive, labels, margin, k):
    """Per pair: violating candidates of other videos, most similar first, first k (sets of pool indices)."""
    a, p = anchor.tolist(), positive.tolist()
    lab = list(range(len(a))) if labels is None else labels.tolist()
    pool, pool_lab = a + p, lab + lab
    out = []
    for i in range(len(a)):
        cos_ap = _cos(a[i], p[i])
        cands = [
            (_cos(a[i], pool[j]), j)
            for j in range(len(pool))
            if pool_lab[j] != lab[i] and (1 - cos_ap) - (1 - _cos(a[i], pool[j])) + margin > 0
        ]
        out.append({j for _, j in sorted(cands, reverse=True)[:k]})
    return out


@pytest.mark.parametrize("pairs", [2, 5, 12])
@pytest.mark.parametrize("dim", [3, 16])
@pytest.mark.parametrize("margin", [0.5, 1.0])
@pytest.mark.parametrize("k", [1, 4])
@pytest.mark.parametrize("shared_labels", [False, True])
def test_hard_mining_matches_reference(pairs, dim, margin, k, shared_labels) -> None:
    anchor, positive, labels = _batch(pairs, dim, seed=pairs * 31 + dim, shared_labels=shared_labels)
    sel = mine_negatives(anchor, positive, labels, margin=margin, num_negatives=k, hard_ratio=1.0)
    ref = _reference_hardest(anchor, positive, labels, margin, k)
    got = [set(sel.index[i][sel.valid[i]].tolist()) for i in range(pairs)]
    assert got == ref


def _reference_loss(anchor, positive, sel, margin, symmetric, form):
    """Loop over pairs and selected slots. form='paper': D = 1 - cos; form='caffe': D = -<f_i, f_j>."""
    a = [_unit(v) for v in anchor.tolist()]
    p = [_unit(v) for v in positive.tolist()]
    pool = a + p

    def dist(u, v):
        dot = sum(x * y for x, y in zip(u, v))
        return 1 - dot if form == "paper" else -dot

    total, slots = 0.0, 0
    for i in range(len(a)):
        for j, ok in zip(sel.index[i].tolist(), sel.valid[i].tolist()):
            slots += 1
            if not ok:
                continue
            total += max(0.0, dist(a[i], p[i]) - dist(a[i], pool[j]) + margin)
            if symmetric:
                total += max(0.0, dist(a[i], p[i]) - dist(p[i], pool[j]) + margin)
    return total / (slots * (2 if symmetric else 1))


@pytest.mark.parametrize("pairs", [3, 8])
@pytest.mark.parametrize("hard_ratio", [0.0, 0.5, 1.0])
@pytest.mark.parametrize(("margin", "symmetric", "form"), [(0.5, False, "paper"), (1.0, True, "caffe")])
def test_loss_matches_reference(pairs, hard_ratio, margin, symmetric, form) -> None:
    anchor, positive, labels = _batch(pairs, 8, seed=pairs, shared_labels=True)
    gen = torch.Generator().manual_seed(0)
    sel = mine_negatives(anchor, positive, labels, margin=margin, num_negatives=4, hard_ratio=hard_ratio, generator=gen)
    loss = triplet_ranking_loss_from_selection(anchor, positive, sel, margin=margin, symmetric=symmetric)
    assert loss.item() == pytest.approx(_reference_loss(anchor, positive, sel, margin, symmetric, form), abs=1e-5)


def test_all_negatives_equals_full_paper_sum() -> None:
    # With K >= pool size every violating negative is used: the loss is the plain double sum of the paper's hinge.
    pairs, margin = 6, 0.5
    anchor, positive, _ = _batch(pairs, 5, seed=9, shared_labels=False)
    loss, _ = triplet_ranking_loss(anchor, positive, margin=margin, num_negatives=2 * pairs, hard_ratio=1.0)
    a, p = anchor.tolist(), positive.tolist()
    pool = a + p
    ref = sum(
        max(0.0, (1 - _cos(a[i], p[i])) - (1 - _cos(a[i], pool[j])) + margin)
        for i in range(pairs)
        for j in range(2 * pairs)
        if j % pairs != i
    )
    assert loss.item() == pytest.approx(ref / (pairs * 2 * pairs), abs=1e-5)


@pytest.mark.parametrize("hard_ratio", [0.0, 0.5])
def test_random_mining_properties(hard_ratio: float) -> None:
    pairs, k, margin = 10, 4, 0.5
    anchor, positive, labels = _batch(pairs, 4, seed=1, shared_labels=True)
    sel = mine_negatives(
        anchor,
        positive,
        labels,
        margin=margin,
        num_negatives=k,
        hard_ratio=hard_ratio,
        generator=torch.Generator().manual_seed(0),
    )
    top = _reference_hardest(anchor, positive, labels, margin, k)
    n_hard = round(hard_ratio * k)
    for i in range(pairs):
        picked = sel.index[i][sel.valid[i]].tolist()
        n_violating = int(sel.violating[i].sum())
        assert len(picked) == len(set(picked)) == min(k, n_violating)
        assert all(sel.violating[i, j] and sel.candidates[i, j] for j in picked)
        assert set(sel.index[i, :n_hard][sel.valid[i, :n_hard]].tolist()) <= top[i]  # hard share from the top-K
    again = mine_negatives(
        anchor,
        positive,
        labels,
        margin=margin,
        num_negatives=k,
        hard_ratio=hard_ratio,
        generator=torch.Generator().manual_seed(0),
    )
    assert torch.equal(sel.index, again.index)


def test_hard_negatives_are_harder_than_random() -> None:
    anchor, positive, _ = _batch(32, 8, seed=5, shared_labels=False)
    pool = torch.nn.functional.normalize(torch.cat([anchor, positive]), dim=1)
    a = torch.nn.functional.normalize(anchor, dim=1)

    def mean_sim(hard_ratio):
        sel = mine_negatives(
            anchor,
            positive,
            num_negatives=2,
            hard_ratio=hard_ratio,
            margin=2.0,
            generator=torch.Generator().manual_seed(1),
        )
        return (a[:, None] * pool[sel.index]).sum(-1)[sel.valid].mean()

    assert mean_sim(1.0) > mean_sim(0.0) + 0.1


def test_same_video_never_a_negative_and_gradients() -> None:
    anchor, positive, _ = _batch(6, 4, seed=2, shared_labels=False)
    anchor.requires_grad_(True)
    positive.requires_grad_(True)
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    sel = mine_negatives(anchor, positive, labels, margin=2.0, num_negatives=6, hard_ratio=1.0)
    pool_labels = torch.cat([labels, labels])
    for i in range(6):
        assert (pool_labels[sel.index[i][sel.valid[i]]] != labels[i]).all()
    loss, diag = triplet_ranking_loss(anchor, positive, labels, margin=2.0, symmetric=True, num_negatives=3)
    loss.backward()
    assert torch.isfinite(anchor.grad).all() and anchor.grad.abs().sum() > 0
    assert set(diag) == {"loss", "pos_cos", "neg_cos", "violating_frac", "negatives_per_pair", "rank_accuracy"}
    assert diag["violating_frac"] == 1.0  # margin 2 > max cos gap: every candidate violates


def test_no_violations_gives_zero_loss() -> None:
    anchor = torch.eye(4)
    loss, diag = triplet_ranking_loss(anchor, anchor.clone(), margin=0.5)  # cos(a,p)=1, cos(a,n)=0
    assert loss.item() == 0.0 and diag["rank_accuracy"] == 1.0 and diag["negatives_per_pair"] == 0.0
