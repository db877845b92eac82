"""order_loss / cross_entropy_with_diagnostics against a loop-based reference."""

from __future__ import annotations

import math

import pytest
import torch

from vidssl.losses import balanced_accuracy, order_loss


def _reference(logits: torch.Tensor, target: torch.Tensor) -> tuple[float, float, float]:
    rows = logits.tolist()
    losses, correct, per_class = [], [], {}
    for row, t in zip(rows, target.tolist()):
        m = max(row)
        log_z = m + math.log(sum(math.exp(v - m) for v in row))
        losses.append(log_z - row[t])
        pred = max(range(len(row)), key=lambda k: row[k])
        correct.append(pred == t)
        per_class.setdefault(t, []).append(pred == t)
    bal = sum(sum(v) / len(v) for v in per_class.values()) / len(per_class)
    return sum(losses) / len(losses), sum(correct) / len(correct), bal


@pytest.mark.parametrize("batch", [1, 5, 32])
@pytest.mark.parametrize("num_classes", [2, 6])
@pytest.mark.parametrize("scale", [1.0, 20.0])
def test_order_loss_matches_reference(batch: int, num_classes: int, scale: float) -> None:
    gen = torch.Generator().manual_seed(batch * 100 + num_classes)
    logits = torch.randn(batch, num_classes, generator=gen) * scale
    target = torch.randint(0, num_classes, (batch,), generator=gen)
    loss, diag = order_loss(logits, target)
    ref_loss, ref_acc, ref_bal = _reference(logits.double(), target)
    assert loss.item() == pytest.approx(ref_loss, rel=1e-5, abs=1e-5)
    assert diag["loss"] == pytest.approx(ref_loss, rel=1e-5, abs=1e-5)
    assert diag["accuracy"] == pytest.approx(ref_acc)
    assert diag["balanced_accuracy"] == pytest.approx(ref_bal)


def test_balanced_accuracy_exposes_majority_guessing() -> None:
    # Shuffle and Learn's 25:75 ratio: always answering "shuffled" (0) looks 75 % accurate.
    target = torch.tensor([1] * 25 + [0] * 75)
    logits = torch.stack([torch.ones(100), torch.zeros(100)], dim=1)
    _, diag = order_loss(logits, target)
    assert diag["accuracy"] == pytest.approx(0.75)
    assert diag["balanced_accuracy"] == pytest.approx(0.5)
    assert balanced_accuracy(torch.tensor([0, 1]), torch.tensor([0, 1])) == 1.0


def test_order_loss_gradient_and_shape_errors() -> None:
    logits = torch.randn(4, 2, requires_grad=True)
    loss, _ = order_loss(logits, torch.tensor([0, 1, 1, 0]))
    loss.backward()
    assert torch.isfinite(logits.grad).all()
    with pytest.raises(ValueError, match=r"\[B, C\]"):
        order_loss(torch.randn(4), torch.zeros(4, dtype=torch.long))
