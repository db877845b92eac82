from __future__ import annotations

import pytest
import torch
from torch import nn

from vidssl.models import frozen_copy, update_momentum


def test_update_momentum_formula_and_buffers() -> None:
    torch.manual_seed(0)
    online = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    target = frozen_copy(online)
    assert all(not p.requires_grad for p in target.parameters())
    with torch.no_grad():
        for p in online.parameters():
            p.add_(1.0)
    online.train()(torch.randn(8, 3))  # changes BN running stats
    before = [p.clone() for p in target.parameters()]
    update_momentum(online, target, 0.9)
    for b, p_t, p_o in zip(before, target.parameters(), online.parameters()):
        torch.testing.assert_close(p_t, 0.9 * b + 0.1 * p_o)
    torch.testing.assert_close(target[1].running_mean, online[1].running_mean)


def test_update_momentum_rejects_bad_momentum() -> None:
    a = nn.Linear(2, 2)
    with pytest.raises(ValueError):
        update_momentum(a, frozen_copy(a), 1.5)
