"""colorization_loss against a loop reference of −log(Σ_i softmax_i(l_ij)·[c_i = t_j] + eps); numerics."""

from __future__ import annotations

import math

import pytest
import torch

from vidssl.losses import colorization_loss
from vidssl.models import create_head


def _reference(logits, ref, tgt, eps, ignore=-1):
    total, count, correct = 0.0, 0, 0
    k = int(max(ref.max(), tgt.max())) + 1
    for b in range(logits.shape[0]):
        for j in range(logits.shape[1]):
            t = int(tgt[b, j])
            if t == ignore:
                continue
            row = logits[b, j].tolist()
            m = max(row)
            w = [math.exp(v - m) for v in row]
            z = sum(w)
            y = [0.0] * k
            for i, wi in enumerate(w):
                y[int(ref[b, i])] += wi / z
            total += -math.log(y[t] + eps)
            count += 1
            correct += int(max(range(k), key=lambda c: y[c]) == t)
    return total / count, correct / count


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize(("n_target", "n_ref"), [(4, 6), (9, 27)])
@pytest.mark.parametrize("num_colors", [2, 16])
@pytest.mark.parametrize("scale", [1.0, 10.0])
def test_matches_reference(batch, n_target, n_ref, num_colors, scale) -> None:
    gen = torch.Generator().manual_seed(n_target * 7 + num_colors)
    logits = torch.randn(batch, n_target, n_ref, generator=gen) * scale
    ref = torch.randint(0, num_colors, (batch, n_ref), generator=gen)
    tgt = torch.randint(0, num_colors, (batch, n_target), generator=gen)
    tgt[0, 0] = -1  # ignored pixel
    loss, diag = colorization_loss(logits, ref, tgt, eps=1e-8)
    ref_loss, ref_acc = _reference(logits.double(), ref, tgt, 1e-8)
    assert loss.item() == pytest.approx(ref_loss, rel=1e-4, abs=1e-5)
    assert diag["accuracy"] == pytest.approx(ref_acc)


def test_absent_colour_is_floored_not_infinite() -> None:
    logits = torch.randn(1, 2, 5, requires_grad=True)
    ref = torch.zeros(1, 5, dtype=torch.long)  # every reference pixel has colour 0
    tgt = torch.tensor([[3, 3]])  # colour 3 never appears in the references
    loss, _ = colorization_loss(logits, ref, tgt, eps=1e-6)
    assert loss.item() == pytest.approx(-math.log(1e-6), rel=1e-6)
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_extreme_logits_stay_finite_and_exact() -> None:
    # Softmax weights far below float32 precision: the log-space form keeps the exact answer.
    logits = torch.tensor([[[0.0, -200.0, -300.0]]], requires_grad=True)
    ref = torch.tensor([[0, 1, 1]])
    loss, _ = colorization_loss(logits, ref, torch.tensor([[1]]), eps=1e-300)
    # log y_1 = logsumexp(-200, -300) - logsumexp(0, -200, -300) ≈ -200
    assert loss.item() == pytest.approx(200.0, rel=1e-6)
    loss.backward()
    assert torch.isfinite(logits.grad).all()
    big, _ = colorization_loss(torch.randn(2, 8, 12) * 1e4, torch.randint(0, 4, (2, 12)), torch.randint(0, 4, (2, 8)))
    assert math.isfinite(big.item())


def test_spatial_shapes_and_head_gradient() -> None:
    torch.manual_seed(0)
    head = create_head("colorization", in_features=8, embed_dim=4).train()
    ref_feats = torch.randn(2, 3, 8, 4, 4)
    tgt_feats = torch.randn(2, 8, 4, 4)
    logits = head(ref_feats, tgt_feats)
    loss, diag = colorization_loss(logits, torch.randint(0, 16, (2, 3, 4, 4)), torch.randint(0, 16, (2, 4, 4)))
    loss.backward()
    assert head.embed.weight.grad is not None and head.embed.weight.grad.abs().sum() > 0
    assert 0.0 <= diag["accuracy"] <= 1.0
    with pytest.raises(ValueError, match="N_target"):
        colorization_loss(logits, torch.zeros(2, 5, dtype=torch.long), torch.zeros(2, 16, dtype=torch.long))
