"""Small learning checks: the parts compose and learn what their papers say on toy data (slow: ~2 s each)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vidssl.losses import colorization_loss, order_loss, triplet_ranking_loss
from vidssl.models import ClipEncoder, create_backbone, create_head

pytestmark = pytest.mark.slow


def _moving_bar(batch: int, gen: torch.Generator, frames: int = 4, size: int = 32):
    """Clips of a bar moving right; label 1 = played backwards (arrow of time)."""
    x = 0.05 * torch.randn(batch, frames, 3, size, size, generator=gen)
    rev = torch.randint(0, 2, (batch,), generator=gen)
    y0 = torch.randint(4, size - 4, (batch,), generator=gen)
    x0 = torch.randint(2, 8, (batch,), generator=gen)
    v = torch.randint(3, 6, (batch,), generator=gen)
    for i in range(batch):
        for k in range(frames):
            pos = int(x0[i] + v[i] * (frames - 1 - k if rev[i] else k))
            x[i, k, :, y0[i] - 2 : y0[i] + 2, pos : pos + 4] += 1.0
    return x, rev


def _train_arrow_of_time(pooling: str) -> float:
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    enc = ClipEncoder(create_backbone("tiny_cnn2d", width=8), pooling=pooling, num_frames=4)
    head = create_head("classification", in_features=enc.num_features, num_classes=2)
    opt = torch.optim.Adam([*enc.parameters(), *head.parameters()], 3e-3)
    for _ in range(150):
        x, y = _moving_bar(16, gen)
        loss, _ = order_loss(head(enc(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    enc.eval()
    head.eval()
    with torch.no_grad():
        x, y = _moving_bar(256, gen)
        return order_loss(head(enc(x)), y)[1]["balanced_accuracy"]


def test_concat_pooling_learns_arrow_of_time_mean_cannot() -> None:
    assert _train_arrow_of_time("concat") > 0.95
    assert _train_arrow_of_time("mean") < 0.6  # per-frame mean pooling is blind to frame order


def _colour_pair(batch: int, gen: torch.Generator, size: int = 32, k: int = 8):
    """Gray frame + quantised colours, and the same scene translated horizontally (the target)."""
    blocks = torch.randint(0, k, (batch, 1, size // 4, size // 4), generator=gen).float()
    colours = F.interpolate(blocks, size=(size, size), mode="nearest")[:, 0].long()
    gray = (colours.float() / k + 0.05 * torch.randn(batch, size, size, generator=gen)).unsqueeze(1)
    shift = torch.randint(-4, 5, (batch,), generator=gen).tolist()
    tgt_colours = torch.stack([torch.roll(c, s, dims=1) for c, s in zip(colours, shift)])
    tgt_gray = torch.stack([torch.roll(g, s, dims=2) for g, s in zip(gray, shift)])
    return gray, colours[:, 2::4, 2::4], tgt_gray, tgt_colours[:, 2::4, 2::4]  # colours at stride-4 resolution


def test_colorization_pointer_learns_to_copy() -> None:
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    net = create_backbone("tiny_cnn2d", width=8, in_channels=1, output_stride=4)
    head = create_head("colorization", in_features=net.num_features, embed_dim=16)
    opt = torch.optim.Adam([*net.parameters(), *head.parameters()], 3e-3)

    def step(batch: int) -> dict[str, float]:
        gray, colours, tgt_gray, tgt_colours = _colour_pair(batch, gen)
        logits = head(net.forward_features(gray).unsqueeze(1), net.forward_features(tgt_gray))
        loss, diag = colorization_loss(logits, colours.unsqueeze(1), tgt_colours, num_colors=8)
        if torch.is_grad_enabled():
            opt.zero_grad()
            loss.backward()
            opt.step()
        return diag

    for _ in range(150):
        step(8)
    net.eval()
    head.eval()
    with torch.no_grad():
        assert step(32)["accuracy"] > 0.8  # chance is about 1/8


def test_triplet_embedding_learns_to_match_tracked_patches() -> None:
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    net = create_backbone("tiny_cnn2d", width=8)
    head = create_head("embedding", in_features=net.num_features, dim=32, relu=False)
    opt = torch.optim.Adam([*net.parameters(), *head.parameters()], 3e-3)

    def pairs(n: int):
        patches = torch.rand(n, 3, 8, 8, generator=gen).repeat_interleave(4, 2).repeat_interleave(4, 3)
        shift = torch.randint(-3, 4, (2,), generator=gen).tolist()
        tracked = torch.roll(patches, shift, dims=(2, 3)) + 0.05 * torch.randn(patches.shape, generator=gen)
        return patches, tracked

    def evaluate() -> dict[str, float]:
        net.eval()
        with torch.no_grad():
            a, p = pairs(64)
            diag = triplet_ranking_loss(head(net(a)), head(net(p)))[1]
        net.train()
        return diag

    before = evaluate()  # random init: everything looks alike (cos ≈ 0.99), every negative violates the margin
    for step in range(150):  # curriculum: random violating negatives first, then half hard (W&G README)
        a, p = pairs(16)
        loss, _ = triplet_ranking_loss(head(net(a)), head(net(p)), hard_ratio=0.0 if step < 75 else 0.5, generator=gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = evaluate()
    assert before["pos_cos"] - before["neg_cos"] < 0.05
    assert after["pos_cos"] - after["neg_cos"] > 0.4  # the margin M = 0.5 is nearly met on held-out pairs
    assert after["violating_frac"] < 0.5 and after["loss"] < 0.6 * before["loss"]
