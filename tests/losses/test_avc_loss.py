"""avc_loss: 2-way softmax CE (L3) and single-logit BCE against loop references."""

from __future__ import annotations

import math

import pytest
import torch

from vidssl.losses import avc_loss


@pytest.mark.parametrize("batch", [2, 7, 16])
@pytest.mark.parametrize("scale", [0.5, 8.0])
def test_two_way_matches_reference(batch: int, scale: float) -> None:
    gen = torch.Generator().manual_seed(batch)
    logits = torch.randn(batch, 2, generator=gen) * scale
    target = torch.randint(0, 2, (batch,), generator=gen)
    loss, diag = avc_loss(logits, target)
    ref, acc = 0.0, 0
    for (l0, l1), t in zip(logits.double().tolist(), target.tolist()):
        ref += -(l1 if t else l0) + math.log(math.exp(l0) + math.exp(l1))
        acc += int((l1 > l0) == bool(t))
    assert loss.item() == pytest.approx(ref / batch, rel=1e-5)
    assert diag["accuracy"] == pytest.approx(acc / batch)


@pytest.mark.parametrize("shape", [(6,), (6, 1)])
def test_single_logit_bce_matches_reference(shape) -> None:
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(*shape, generator=gen) * 3
    target = torch.tensor([1, 0, 1, 1, 0, 0])
    loss, diag = avc_loss(logits, target)
    ref = 0.0
    for z, t in zip(logits.flatten().double().tolist(), target.tolist()):
        p = 1 / (1 + math.exp(-z))
        ref += -(t * math.log(p) + (1 - t) * math.log(1 - p))
    assert loss.item() == pytest.approx(ref / 6, rel=1e-5)
    assert set(diag) == {"loss", "accuracy", "balanced_accuracy"}


def test_bad_shape() -> None:
    with pytest.raises(ValueError):
        avc_loss(torch.randn(4, 3), torch.zeros(4, dtype=torch.long))
